package httpapi

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// TestAuthLimiterForgets: an address whose allowance is full again is
// dropped at the next charge, and a full table forgets the address
// charged least recently, so its size never passes max.
func TestAuthLimiterForgets(t *testing.T) {
	a := newAuthLimiter(1, 2, 3)
	t0 := time.Unix(1e9, 0)
	key := func(i int) netip.Prefix { return netip.MustParsePrefix(fmt.Sprintf("192.0.2.%d/32", i)) }
	for i := range 10 {
		a.charge(key(i), t0)
		if n := a.size(); n > 3 {
			t.Fatalf("%d addresses tracked, max 3", n)
		}
	}
	if _, ok := a.addrs[key(9)]; !ok {
		t.Fatal("the newest address was forgotten")
	}
	a.charge(key(9), t0)
	if wait, blocked := a.blocked(key(9), t0); !blocked || wait != time.Second {
		t.Fatalf("blocked %v, wait %s; want blocked for 1s", blocked, wait)
	}
	// Two seconds later every bucket is full: the next charge drops them.
	a.charge(key(100), t0.Add(2*time.Second))
	if n := a.size(); n != 1 {
		t.Fatalf("%d addresses tracked after they refilled, want 1", n)
	}
}

func TestClientKey(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128")}}}
	for _, c := range []struct {
		remote, xff, realIP, want string
	}{
		{"192.0.2.1:5000", "", "", "192.0.2.1/32"},
		{"192.0.2.1:5000", "198.51.100.1", "", "192.0.2.1/32"}, // untrusted peer
		{"10.0.0.1:5000", "198.51.100.1", "", "198.51.100.1/32"},
		{"10.0.0.1:5000", "198.51.100.1, 10.0.0.2", "", "198.51.100.1/32"},
		{"10.0.0.1:5000", "6.6.6.6, 198.51.100.1", "", "198.51.100.1/32"},
		{"10.0.0.1:5000", "10.0.0.3, 10.0.0.2", "", "10.0.0.3/32"}, // all trusted: the leftmost
		{"10.0.0.1:5000", "garbage, 10.0.0.2", "", "10.0.0.2/32"},
		{"10.0.0.1:5000", "198.51.100.1:4711", "", "198.51.100.1/32"},
		{"10.0.0.1:5000", "", "198.51.100.9", "198.51.100.9/32"},
		{"[::1]:5000", "2001:db8:a:b:c:d:e:f", "", "2001:db8:a:b::/64"},
		{"[::1]:5000", "[2001:db8::1]:80", "", "2001:db8::/64"},
		{"[2001:db8::5%eth0]:1", "", "", "2001:db8::/64"},
		{"[::ffff:192.0.2.7]:1", "", "", "192.0.2.7/32"},
		{"@", "", "", "invalid Prefix"},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if c.realIP != "" {
			r.Header.Set("X-Real-IP", c.realIP)
		}
		if got := s.clientKey(r).String(); got != c.want {
			t.Errorf("RemoteAddr %q, X-Forwarded-For %q, X-Real-IP %q: %s, want %s", c.remote, c.xff, c.realIP, got, c.want)
		}
	}
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:41000":         "192.0.2.7",
		" 192.0.2.7 ":             "192.0.2.7",
		"[2001:db8::1]:443":       "2001:db8::1",
		"2001:db8::1":             "2001:db8::1",
		"fe80::1%eth0":            "fe80::1",
		"[fe80::1%eth0]:80":       "fe80::1",
		"::ffff:192.0.2.7":        "192.0.2.7",
		"[::ffff:192.0.2.7]:8080": "192.0.2.7",
		"[2001:db8::1]":           "invalid IP",
		"192.0.2.7:":              "invalid IP",
		"example.com:80":          "invalid IP",
		"":                        "invalid IP",
	} {
		if got := parseAddr(in).String(); got != want {
			t.Errorf("parseAddr(%q) = %s, want %s", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { parseAddr("192.0.2.7:41000") }); n != 0 {
		t.Errorf("parseAddr of a peer address allocates %v times", n)
	}
}
