package hub

import (
	"testing"
	"time"
)

// The expiry timer is armed only once the expiry is within two of the
// wheel's visits (a quarter heartbeat each), and only once.
func TestArmExpiryOnlyWhenNear(t *testing.T) {
	h := &Hub{heartbeat: 20 * time.Second} // visits every 5 s
	now := time.Now()
	for _, c := range []struct {
		name    string
		expires int64
		armed   bool
	}{
		{"never", 0, false},
		{"in an hour", now.Add(time.Hour).UnixNano(), false},
		{"in 11 s", now.Add(11 * time.Second).UnixNano(), false},
		{"in 10 s", now.Add(10 * time.Second).UnixNano(), true},
		{"already", now.Add(-time.Second).UnixNano(), true},
	} {
		l := &Stream{hub: h, expires: c.expires, state: ended} // a timer that fires finds it ended
		l.armExpiry(now)
		if armed := l.expiry != nil; armed != c.armed {
			t.Errorf("%s: armed %v, want %v", c.name, armed, c.armed)
		}
		if l.expiry == nil {
			continue
		}
		first := l.expiry
		l.armExpiry(now)
		if l.expiry != first {
			t.Errorf("%s: armed twice", c.name)
		}
		l.expiry.Stop()
	}
}
