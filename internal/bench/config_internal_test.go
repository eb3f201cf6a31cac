package bench

import (
	"strconv"
	"testing"
)

// TestShuffleUsers: --shuffle keeps every user with its token, in an order
// other than the ids', the same in every run.
func TestShuffleUsers(t *testing.T) {
	c := Config{Streams: 100, Users: 100, UserPrefix: "u-", Shuffle: true}
	ids, tokens, err := c.users()
	if err != nil {
		t.Fatal(err)
	}
	again, _, _ := c.users()
	seen := map[string]bool{}
	inOrder := true
	for i, id := range ids {
		seen[id] = true
		if id != "u-"+strconv.Itoa(i) {
			inOrder = false
		}
		if again[i] != id {
			t.Fatalf("two runs differ at %d: %s, %s", i, id, again[i])
		}
		if tokens[i] != "" {
			t.Fatalf("token without a secret: %q", tokens[i])
		}
	}
	if len(seen) != 100 || inOrder {
		t.Fatalf("shuffled users: %d distinct, in id order %v", len(seen), inOrder)
	}
}
