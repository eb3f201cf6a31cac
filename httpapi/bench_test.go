package httpapi_test

import (
	"testing"
)

// BenchmarkPublishToStream measures one notification end to end: POST
// /api/notifications over HTTP/1.1, SQLite commit, memory broker, Hub,
// SSE write, parsed by our reader.
func BenchmarkPublishToStream(b *testing.B) {
	e := newEnv(b, envOpts{})
	st := e.openStreamTB(b, withBearer(e.token("bench")))
	for b.Loop() {
		e.publish("bench", "benchmark")
		if ev, ok := <-st.events; !ok || ev.id == "" {
			b.Fatalf("stream: %+v %v", ev, ok)
		}
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
