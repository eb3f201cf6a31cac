package httpapi_test

import (
	"testing"
)

// BenchmarkPublishToStream measures one notification end to end: POST
// /api/notifications over HTTP/1.1, SQLite commit, memory broker, Hub,
// SSE write, parsed by our reader. The stream is a lean one, and then one
// on the goroutine path (Stream.Next, as HTTP/2 streams are served).
func BenchmarkPublishToStream(b *testing.B) {
	for _, c := range []struct {
		name string
		opts envOpts
	}{{"lean", envOpts{}}, {"goroutine", envOpts{disableLean: true}}} {
		b.Run(c.name, func(b *testing.B) {
			e := newEnv(b, c.opts)
			st := e.openStreamTB(b, withBearer(e.token("bench")))
			for b.Loop() {
				e.publish("bench", "benchmark")
				if ev, ok := <-st.events; !ok || ev.id == "" {
					b.Fatalf("stream: %+v %v", ev, ok)
				}
			}
		})
	}
}

// BenchmarkList measures GET /notifications (10 newest) with a token.
func BenchmarkList(b *testing.B) {
	e := newEnv(b, envOpts{})
	e.publishMany("lister", 50)
	tok := withBearer(e.token("lister"))
	for b.Loop() {
		if r := e.do("GET", "/notifications", tok); r.status != 200 {
			b.Fatal(r.status)
		}
	}
}
