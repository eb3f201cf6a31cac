package httpapi_test

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/belfry/belfry"
)

// BenchmarkPublishToStream measures one notification end to end: POST
// /api/notifications over HTTP/1.1, SQLite commit, memory broker, Hub,
// SSE write, parsed by our reader. The stream is a lean one, and then one
// through a Pipe (Pipe.Next, as HTTP/2 streams are served).
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

// BenchmarkStreamSetupWaitStack reports the goroutine stack memory per
// stream request waiting for a setup place, the test's HTTP client
// included (stack-KiB/waiting): what ten thousand reconnecting clients
// hold while they queue. Each request's JWT is checked before the wait.
func BenchmarkStreamSetupWaitStack(b *testing.B) {
	const waiting = 1000
	var store *gateStore
	e := newEnv(b, envOpts{setupConcurrency: 1,
		hubStore: func(s belfry.Store) belfry.Store { store = newGateStore(s); return store }})
	// One stream holds the only place, its store read held.
	hold, cancelHold := context.WithCancel(context.Background())
	defer cancelHold()
	go e.client.Do(streamRequest(hold, e, "holder"))
	<-store.entered
	tr := &http.Transport{MaxIdleConnsPerHost: waiting}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	reqs := make([]*http.Request, waiting)
	var kib float64
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		for i := range reqs {
			reqs[i] = streamRequest(ctx, e, "u"+strconv.Itoa(i))
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var wg sync.WaitGroup
		for _, r := range reqs {
			wg.Go(func() {
				if resp, err := client.Do(r); err == nil {
					resp.Body.Close()
				}
			})
		}
		eventually(b, "every stream waits", func() bool { return e.setupsWaiting(b) == strconv.Itoa(waiting) })
		runtime.ReadMemStats(&after)
		kib += float64(after.StackInuse-before.StackInuse) / 1024 / waiting
		cancel()
		wg.Wait()
		eventually(b, "none waits", func() bool { return e.setupsWaiting(b) == "0" })
	}
	b.ReportMetric(kib/float64(b.N), "stack-KiB/waiting")
}

func streamRequest(ctx context.Context, e *env, user string) *http.Request {
	r, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/notifications/stream", nil)
	r.Header.Set("Authorization", "Bearer "+e.token(user))
	return r
}
