package redisbus

import (
	"strings"
	"testing"

	"github.com/belfry/belfry"
)

// awkwardUsers are user ids that belfry.ValidateUserID accepts and that
// could trip a channel encoding: the separator, the escape character, an
// id that looks escaped, unicode, glob characters, and the longest ids.
func awkwardUsers() []string {
	return []string{
		"42", "bob", "t2:bob", ":", "::", ":bob:", "%", "%%", "50%", "%3A", "t2%3Abob", "%253A", "%3a",
		"a%3", "a%", "ü 1", "Größe 🔔", "user@example.com", "*", "t2:*", "[a-z]?\\", "{tag}", " ",
		strings.Repeat("🔔", belfry.MaxUserIDLen), // the most bytes: 512
		strings.Repeat(":", belfry.MaxUserIDLen), // the most escapes
		strings.Repeat("%", belfry.MaxUserIDLen),
		strings.Repeat("é:", belfry.MaxUserIDLen/2),
	}
}

var prefixes = []string{"belfry:u:", "app:", "app:t2:", "app:t2:bob:", "a:", ":", "ü:%:"}

func TestChannelRoundTrip(t *testing.T) {
	for _, u := range awkwardUsers() {
		if err := belfry.ValidateUserID(u); err != nil {
			t.Fatalf("test id %q is not a valid user id: %v", u, err)
		}
		for _, p := range prefixes {
			if err := ValidatePrefix(p); err != nil {
				t.Fatalf("test prefix %q: %v", p, err)
			}
			c := channelName(p, u)
			if tail := c[len(p):]; strings.Contains(tail, ":") {
				t.Fatalf("channel %q of user %q under %q has a ':' after the prefix", c, u, p)
			}
			got, ok := userOf(p, c)
			if !ok || got != u {
				t.Fatalf("userOf(%q, %q) = %q, %v; want %q", p, c, got, ok, u)
			}
			if n := len(c) - len(p); n > 3*len(u) || n > 4*belfry.MaxUserIDLen {
				t.Fatalf("channel of %q (%d bytes) takes %d bytes after the prefix", u, len(u), n)
			}
		}
	}
	if c := channelName("belfry:u:", "42"); c != "belfry:u:42" {
		t.Fatalf("channel of a plain id: %q, want belfry:u:42", c)
	}
}

// No two (prefix, user) pairs share a channel, nested prefixes included:
// "app:" with "t2:bob" and "app:t2:" with "bob" once did.
func TestChannelsOfNestedPrefixesDiffer(t *testing.T) {
	users := append(awkwardUsers(), "t2:bob:x", "bob:x", "x")
	seen := map[string][2]string{}
	for _, p := range prefixes {
		for _, u := range users {
			c := channelName(p, u)
			if was, ok := seen[c]; ok {
				t.Fatalf("channel %q is both %q's user %q and %q's user %q", c, was[0], was[1], p, u)
			}
			seen[c] = [2]string{p, u}
			// Each channel belongs to its own prefix only.
			for _, q := range prefixes {
				if got, ok := userOf(q, c); ok && q != p {
					t.Fatalf("channel %q of %q's user %q reads as %q's user %q", c, p, u, q, got)
				}
			}
		}
	}
}

// userOf accepts only what channelName writes, so a channel has one
// reading.
func TestUserOfRefusesOtherChannels(t *testing.T) {
	for _, c := range []string{
		"app:", "app:t2:bob", "app:%", "app:%3", "app:%3a", "app:%41", "app:a%2", "other:bob", "ap",
	} {
		if u, ok := userOf("app:", c); ok {
			t.Errorf("userOf(app:, %q) = %q, want no user", c, u)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, p := range []string{"", "belfry", "app:t2", strings.Repeat("a", MaxPrefixLen) + ":", "a\n:", "\xff:"} {
		if err := ValidatePrefix(p); belfry.ErrorCode(err) != belfry.EINVALID {
			t.Errorf("ValidatePrefix(%q) = %v, want EINVALID", p, err)
		}
	}
	if err := ValidatePrefix(strings.Repeat("a", MaxPrefixLen-1) + ":"); err != nil {
		t.Errorf("a prefix of %d bytes: %v", MaxPrefixLen, err)
	}
}

func FuzzChannel(f *testing.F) {
	for _, u := range awkwardUsers() {
		f.Add("app:", u)
	}
	f.Fuzz(func(t *testing.T, prefix, user string) {
		if ValidatePrefix(prefix) != nil || belfry.ValidateUserID(user) != nil {
			return
		}
		c := channelName(prefix, user)
		if got, ok := userOf(prefix, c); !ok || got != user {
			t.Fatalf("userOf(%q, %q) = %q, %v; want %q", prefix, c, got, ok, user)
		}
		// The last ':' ends the prefix, so no other prefix reads c.
		if i := strings.LastIndexByte(c, ':'); c[:i+1] != prefix {
			t.Fatalf("channel %q of %q: its last ':' is not the prefix's", c, user)
		}
	})
}

// The receiving side reads a plain id's channel without allocating.
func BenchmarkUserOf(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := userOf("belfry:u:", "belfry:u:1234567"); !ok {
			b.Fatal("not a channel")
		}
	}
}

func BenchmarkChannelName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		channelName("belfry:u:", "1234567")
	}
}
