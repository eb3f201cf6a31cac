package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// sseEvent is one thing read from a stream: an event, or a comment line.
type sseEvent struct {
	id, name, data string
	hasID          bool
	comment        string // set for a ": …" line (then the rest is empty)
}

// sseStream is our own minimal SSE reader (the go-sse client is the
// independent second opinion): it parses the stream on a goroutine that
// ends when the body is closed.
type sseStream struct {
	resp   *http.Response
	events chan sseEvent
	retry  chan string // the retry: values seen
	cancel context.CancelFunc
}

// openStream opens GET /notifications/stream with the options (a token,
// a Last-Event-ID…) and checks the 200 and the SSE headers.
func (e *env) openStream(t *testing.T, path string, opts ...reqOpt) *sseStream {
	t.Helper()
	return e.openStreamPath(t, path, opts...)
}

// openStreamTB opens the stream for a benchmark and reads past the sync.
func (e *env) openStreamTB(tb testing.TB, opts ...reqOpt) *sseStream {
	s := e.openStreamPath(tb, "", opts...)
	for ev := range s.events {
		if ev.name == "sync" {
			return s
		}
	}
	tb.Fatal("stream ended before sync")
	return nil
}

func (e *env) openStreamPath(t testing.TB, path string, opts ...reqOpt) *sseStream {
	t.Helper()
	if path == "" {
		path = "/notifications/stream"
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+path, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		t.Fatalf("stream: status %d", resp.StatusCode)
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream",
		"Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("stream header %s = %q, want %q", k, got, want)
		}
	}
	s := &sseStream{resp: resp, events: make(chan sseEvent, 10000), retry: make(chan string, 10), cancel: cancel}
	t.Cleanup(s.close)
	go s.read()
	return s
}

func (s *sseStream) close() {
	s.cancel()
	s.resp.Body.Close()
}

func (s *sseStream) read() {
	defer close(s.events)
	sc := bufio.NewScanner(s.resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var ev sseEvent
	pending := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if pending {
				s.events <- ev
			}
			ev, pending = sseEvent{}, false
			continue
		}
		if strings.HasPrefix(line, ":") {
			s.events <- sseEvent{comment: strings.TrimSpace(line[1:])}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.id, ev.hasID, pending = value, true, true
		case "event":
			ev.name, pending = value, true
		case "data":
			if ev.data != "" {
				ev.data += "\n"
			}
			ev.data, pending = ev.data+value, true
		case "retry":
			s.retry <- value
		}
	}
}

// next returns the next event or comment; ok is false when the stream ended.
func (s *sseStream) next(t *testing.T) (sseEvent, bool) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		return ev, ok
	case <-time.After(wait):
		t.Fatal("timed out waiting for a stream event")
		return sseEvent{}, false
	}
}

// event returns the next event, skipping comments; it fails if the stream ends.
func (s *sseStream) event(t *testing.T) sseEvent {
	t.Helper()
	for {
		ev, ok := s.next(t)
		if !ok {
			t.Fatal("stream ended while waiting for an event")
		}
		if ev.comment == "" {
			return ev
		}
	}
}

// ended waits for the stream to end, failing on any further event.
func (s *sseStream) ended(t *testing.T) {
	t.Helper()
	for {
		ev, ok := s.next(t)
		if !ok {
			return
		}
		if ev.comment == "" {
			t.Fatalf("unexpected event before the end: %+v", ev)
		}
	}
}

// syncData is the payload of a sync event.
type syncData struct {
	Unread int   `json:"unread_count"`
	LastID int64 `json:"last_id"`
}

func (s *sseStream) sync(t *testing.T) syncData {
	t.Helper()
	ev := s.event(t)
	if ev.name != "sync" || ev.hasID {
		t.Fatalf("want a sync event without id, got %+v", ev)
	}
	var d syncData
	if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// notification reads a new-notification event and checks its id line.
func (s *sseStream) notification(t *testing.T) *belfry.Notification {
	t.Helper()
	ev := s.event(t)
	if ev.name != "new-notification" {
		t.Fatalf("want new-notification, got %+v", ev)
	}
	var n belfry.Notification
	if err := json.Unmarshal([]byte(ev.data), &n); err != nil {
		t.Fatal(err)
	}
	if ev.id != strconv.FormatInt(n.ID, 10) {
		t.Fatalf("id line %q for notification %d", ev.id, n.ID)
	}
	return &n
}

// expectIDs reads new-notification events with exactly the ids from..to.
func (s *sseStream) expectIDs(t *testing.T, user string, from, to int64) {
	t.Helper()
	for id := from; id <= to; id++ {
		n := s.notification(t)
		if n.ID != id || n.UserID != user {
			t.Fatalf("want notification %d of %s, got %d of %s", id, user, n.ID, n.UserID)
		}
	}
}

// stateData is the payload of read-state and notification-deleted events.
type stateData struct {
	ID     int64   `json:"id"`
	All    bool    `json:"all"`
	UpTo   int64   `json:"up_to_id"`
	Read   bool    `json:"read"`
	ReadAt *string `json:"read_at"`
	Unread int     `json:"unread_count"`
}

func (s *sseStream) state(t *testing.T, name string) stateData {
	t.Helper()
	ev := s.event(t)
	if ev.name != name || ev.hasID {
		t.Fatalf("want %s without id, got %+v", name, ev)
	}
	var d stateData
	if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func lastEventID(id int64) reqOpt {
	return withHeader("Last-Event-ID", strconv.FormatInt(id, 10))
}
