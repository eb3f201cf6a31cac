package httpapi_test

import (
	"strings"
	"testing"

	"github.com/belfry/belfry/hub"
)

// endedFor waits until n streams ended for the reason, by the metric,
// and fails if any ended for another.
func (e *env) endedFor(t *testing.T, reason hub.EndReason, n float64) {
	t.Helper()
	sample := `belfry_streams_ended_total{reason="` + reason.String() + `"}`
	eventually(t, sample, func() bool { return e.metric(t, sample) == n })
	for _, r := range hub.EndReasons() {
		if r == reason {
			continue
		}
		if v := e.metric(t, `belfry_streams_ended_total{reason="`+r.String()+`"}`); v != 0 {
			t.Errorf("%v streams ended for %s too", v, r)
		}
	}
}

// Every stream end is counted by its reason: a client that leaves, and
// the node's shutdown.
func TestStreamEndsSayWhy(t *testing.T) { bothModes(t, testStreamEndsSayWhy) }

func testStreamEndsSayWhy(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{disableLean: !lean})
	s := e.openStream(t, "", withBearer(e.token("u")))
	s.sync(t)
	s.close()
	e.endedFor(t, hub.EndClientGone, 1)
	if log := e.logs.String(); !strings.Contains(log, `msg="stream ended" user=u stream=`) ||
		!strings.Contains(log, "reason=client_gone") {
		t.Errorf("the end is not logged with its user, stream id and reason:\n%s", log)
	}

	s = e.openStream(t, "", withBearer(e.token("u")))
	s.sync(t)
	e.hub.CloseAll()
	s.ended(t)
	eventually(t, "one stream ended for shutdown", func() bool {
		return e.metric(t, `belfry_streams_ended_total{reason="shutdown"}`) == 1
	})
}
