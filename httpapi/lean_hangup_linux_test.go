package httpapi_test

import (
	"fmt"
	"testing"
	"time"
)

// A client that hangs up is found at once by the hangup watcher, long
// before the heartbeat wheel would look (an hour here), and its descriptor
// is released: a mass reconnect then does not need twice the descriptors.
func TestLeanHangupFoundAtOnce(t *testing.T) {
	e := newEnv(t, envOpts{heartbeat: time.Hour})
	for round := range 3 {
		s := e.rawStream(t, fmt.Sprint("leaver-", round), 0)
		s.until(t, "event: sync")
		if st := e.hub.Stats(); st.Lean != 1 || st.Streams != 1 {
			t.Fatalf("round %d: stats %+v, want one lean stream", round, st)
		}
		s.conn.Close()
		eventually(t, "the stream of the client that left detached", func() bool {
			st := e.hub.Stats()
			return st.Streams == 0 && st.Lean == 0
		})
	}
	// A client that stays is left alone.
	s := e.rawStream(t, "stayer", 0)
	s.until(t, "event: sync")
	e.publish("stayer", "still here")
	s.until(t, "event: new-notification")
	if st := e.hub.Stats(); st.Lean != 1 {
		t.Fatalf("stats %+v, want the stayer's lean stream", st)
	}
}
