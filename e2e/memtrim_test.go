package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeGivesIdleHeapBack: a serve that goes quiet after a burst hands
// its free heap back to the system (--trim-memory, on by default), as its
// debug log says; with --trim-memory=false it never does.
func TestServeGivesIdleHeapBack(t *testing.T) {
	const given = "free heap given back to the system"
	on := startNode(t, "trim", "--store", "sqlite:"+filepath.Join(t.TempDir(), "on.db"), "--log-level", "debug")
	off := startNode(t, "notrim", "--store", "sqlite:"+filepath.Join(t.TempDir(), "off.db"), "--log-level", "debug",
		"--trim-memory=false")

	// Each publish names 1,000 users with 20 KB of content: its answer,
	// the 1,000 notifications as JSON, is about 21 MB of garbage once
	// written, far more than the 4 MiB the trim waits for.
	users := make([]string, 1000)
	for i := range users {
		users[i] = fmt.Sprintf(`"u%d"`, i)
	}
	body := `{"user_ids":[` + strings.Join(users, ",") + `],"message":"` + strings.Repeat("m", 4<<10) +
		`","data":{"blob":"` + strings.Repeat("d", 16<<10-16) + `"}}`
	for _, n := range []*node{off, on} { // off first: quiet for longer
		for range 3 {
			st, out := call(t, "POST", n.url+"/api/notifications", testAPIKey, body)
			if st != http.StatusCreated || len(out) < 20e6 {
				t.Fatalf("publish to %s: %d, %d bytes", n.name, st, len(out))
			}
		}
	}
	logged := func(n *node) bool {
		b, _ := os.ReadFile(n.log)
		return bytes.Contains(b, []byte(given))
	}
	waitFor(t, 30*time.Second, "the trimming node to log a trim", func() bool { return logged(on) })
	// Both took the same burst, the other node first: it has been quiet
	// for longer, and would have trimmed by now.
	if logged(off) {
		t.Errorf("with --trim-memory=false the node trimmed: %s", off.tail())
	}
}
