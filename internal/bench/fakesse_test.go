package bench_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/bench"
)

// faultySSE is another SSE server, not belfry: streams at /events?user=U
// (no sync event, no ids), publishes as POST /publish {"to","text"}. It
// drops every publish whose number ends in 3 and sends those ending in 5
// twice, so the bench must find exactly that.
type faultySSE struct {
	mu      sync.Mutex
	streams map[string][]chan string
	n       int
}

func (f *faultySSE) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/events":
		user := r.URL.Query().Get("user")
		ch := make(chan string, 64)
		f.mu.Lock()
		f.streams[user] = append(f.streams[user], ch)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for {
			select {
			case m := <-ch:
				fmt.Fprintf(w, "data: %s\n\n", m)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	case "/publish":
		var in struct{ To, Text string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.n++
		times := 1
		switch f.n % 10 {
		case 3:
			times = 0
		case 5:
			times = 2
		}
		for _, ch := range f.streams[in.To] {
			for range times {
				ch <- in.Text
			}
		}
		f.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	default:
		http.NotFound(w, r)
	}
}

func TestOtherServerLossAndDuplicates(t *testing.T) {
	srv := httptest.NewServer(&faultySSE{streams: map[string][]chan string{}})
	t.Cleanup(srv.Close)
	res := run(t, bench.Config{Scenario: "targeted",
		StreamURL: srv.URL + "/events?user={{user}}", SyncEvent: "-",
		PublishURL: srv.URL + "/publish", PublishBody: `{"to":"{{user}}","text":"{{payload}}"}`,
		Streams: 10, Publishes: 50, Publishers: 1, Drain: 300 * time.Millisecond, Timeout: time.Minute})
	d := res.Delivery
	// 50 publishes, one stream per user: 5 dropped, 5 doubled. With one
	// publisher, publish n goes to user (n-1) mod 10: all dropped ones to
	// user 2.
	if d.Expected != 50 || d.Lost != 5 || d.Dup != 5 || d.Delivered != 50 || d.Incomplete != 1 {
		t.Fatalf("delivery: %+v, errors %v", d, res.Errors)
	}
	if res.Connect.Connected != 10 {
		t.Fatalf("connect: %+v", res.Connect)
	}
}
