package hub_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/sqlite"
)

// env is a node: a real SQLite store, the memory broker running with the
// Hub as its receiver, and the Inbox.
type env struct {
	store  *sqlite.Store
	broker *memory.Broker
	hub    *hub.Hub
	inbox  *belfry.Inbox
}

func newEnv(t *testing.T, queue int) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	br := memory.New()
	hb := hub.New(hub.Config{Store: st, Broker: br, QueueSize: queue})
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); br.Run(runCtx, hb) }()
	t.Cleanup(func() { cancel(); <-done; br.Close(); st.Close() })
	e := &env{store: st, broker: br, hub: hb, inbox: &belfry.Inbox{Store: st, Broker: br}}
	// Publish drops messages until Run has registered the receiver.
	waitFor(t, func() bool {
		s, err := hb.Open(ctx, "probe", 0, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		readUntil(t, s, "event: sync")
		e.inbox.Create(ctx, belfry.Draft{UserIDs: []string{"probe"}, Message: "p"})
		b, _ := s.Next(ctx, 50*time.Millisecond)
		return strings.Contains(string(b), "new-notification")
	})
	return e
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
}

var idLine = regexp.MustCompile(`(?m)^id: (\d+)$`)

// readUntil reads the stream until its output contains want, and returns
// everything read.
func readUntil(t *testing.T, s *hub.Pipe, want string) string {
	t.Helper()
	var out strings.Builder
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %q", want, out.String())
		}
		b, err := s.Next(t.Context(), 100*time.Millisecond)
		if err != nil {
			t.Fatalf("Next: %v (read %q)", err, out.String())
		}
		out.Write(b)
	}
	return out.String()
}

func ids(s string) []int64 {
	var out []int64
	for _, m := range idLine.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, n)
	}
	return out
}

func create(t *testing.T, e *env, user string, n int) {
	t.Helper()
	for i := range n {
		if _, err := e.inbox.Create(t.Context(), belfry.Draft{UserIDs: []string{user}, Message: fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func wantIDs(t *testing.T, got []int64, from, to int64) {
	t.Helper()
	if int64(len(got)) != to-from+1 {
		t.Fatalf("got ids %v, want %d..%d", got, from, to)
	}
	for i, id := range got {
		if id != from+int64(i) {
			t.Fatalf("got ids %v, want %d..%d", got, from, to)
		}
	}
}

func TestStreamResumeIsExact(t *testing.T) {
	e := newEnv(t, 0)
	create(t, e, "u", 600)
	for _, missed := range []int64{0, 1, 500} {
		s, err := e.hub.Open(t.Context(), "u", 600-missed, true)
		if err != nil {
			t.Fatal(err)
		}
		out := readUntil(t, s, "event: sync")
		if missed == 0 {
			if got := ids(out); len(got) != 0 {
				t.Fatalf("nothing missed, replayed %v", got)
			}
		} else {
			wantIDs(t, ids(out), 601-missed, 600)
		}
		if !strings.HasSuffix(out, "event: sync\ndata: {\"unread_count\":600,\"unseen_count\":600,\"last_id\":600,\"by_category\":{}}\n\n") {
			t.Fatalf("sync: %q", out[max(0, len(out)-80):])
		}
		s.Close()
	}
	// Resuming across the replay's page boundary (MaxReplay) while new
	// notifications are published.
	batch := make([]*belfry.Notification, 700)
	for i := range batch {
		batch[i] = &belfry.Notification{UserID: "u", Message: "m"}
	}
	if err := e.store.Create(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	s, err := e.hub.Open(t.Context(), "u", 0, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	published := make(chan struct{})
	go func() { defer close(published); create(t, e, "u", 30) }()
	wantIDs(t, ids(readUntil(t, s, "id: 1330\n")), 1, 1330)
	<-published
}

func TestStreamFreshSkipsHistoryAndGetsLive(t *testing.T) {
	e := newEnv(t, 0)
	create(t, e, "u", 3)
	s, err := e.hub.Open(t.Context(), "u", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := readUntil(t, s, "event: sync")
	if len(ids(out)) != 0 || !strings.Contains(out, `"last_id":3`) {
		t.Fatalf("fresh stream: %q", out)
	}
	create(t, e, "u", 2)
	wantIDs(t, ids(readUntil(t, s, "id: 5")), 4, 5)
}

// A message the broker lost shows up as a jump in ids: the stream fills it
// from the store, in order, and drops the late duplicate.
func TestStreamFillsGapsAndDropsDuplicates(t *testing.T) {
	e := newEnv(t, 0)
	s, err := e.hub.Open(t.Context(), "u", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	readUntil(t, s, "event: sync")
	ns := make([]*belfry.Notification, 3)
	for i := range ns {
		ns[i] = &belfry.Notification{UserID: "u", Message: "m"}
		if err := e.store.Create(t.Context(), ns[i:i+1]); err != nil { // stored, never published
			t.Fatal(err)
		}
	}
	e.hub.Receive(belfry.Message{Kind: belfry.KindNew, UserID: "u", New: ns[2]})
	e.hub.Receive(belfry.Message{Kind: belfry.KindNew, UserID: "u", New: ns[0]}) // late
	e.hub.Receive(belfry.Message{Kind: belfry.KindNew, UserID: "u", New: ns[2]}) // again
	create(t, e, "u", 1)
	wantIDs(t, ids(readUntil(t, s, "id: 4")), 1, 4)
}

func TestEveryStreamOfAUserGetsEveryEvent(t *testing.T) {
	e := newEnv(t, 0)
	var streams []*hub.Pipe
	for range 3 {
		s, err := e.hub.Open(t.Context(), "u", 0, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		readUntil(t, s, "event: sync")
		streams = append(streams, s)
	}
	other, _ := e.hub.Open(t.Context(), "v", 0, false)
	defer other.Close()
	readUntil(t, other, "event: sync")
	create(t, e, "u", 20)
	if _, err := e.inbox.MarkRead(t.Context(), "u", 7); err != nil {
		t.Fatal(err)
	}
	for _, s := range streams {
		out := readUntil(t, s, "event: read-state")
		wantIDs(t, ids(out), 1, 20)
		if !strings.Contains(out, `{"id":7,"read":true,`) || !strings.Contains(out, `"unread_count":19,`) {
			t.Fatalf("read-state: %q", out[len(out)-200:])
		}
	}
	create(t, e, "v", 1)
	if out := readUntil(t, other, "id: 1"); strings.Contains(out, `"user_id":"u"`) {
		t.Fatalf("v saw u's notification: %q", out)
	}
}

func TestSlowStreamIsCutOthersGoOn(t *testing.T) {
	e := newEnv(t, 4)
	slow, err := e.hub.Open(t.Context(), "u", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	fast, _ := e.hub.Open(t.Context(), "u", 0, false)
	defer fast.Close()
	readUntil(t, slow, "event: sync")
	readUntil(t, fast, "event: sync")
	// The slow stream's pipe takes a page of events (ReplayPageBytes)
	// before its queue of 4 fills: a few hundred small ones at most.
	cut := false
	for i := 0; i < 2000 && !cut; i++ {
		create(t, e, "u", 1)
		readUntil(t, fast, fmt.Sprintf("id: %d\n", i+1))
		select {
		case <-slow.Done():
			cut = true
		default:
		}
	}
	if !cut {
		t.Fatal("the stream that never read was not cut")
	}
	if _, err := slow.Next(t.Context(), time.Second); !errors.Is(err, hub.ErrSlowStream) {
		t.Fatalf("Next on a cut stream: %v", err)
	}
	if st := e.hub.Stats(); st.Slow != 1 || st.Streams != 1 {
		t.Fatalf("stats %+v, want 1 slow and 1 open", st)
	}
}

func TestResyncCatchesUpFromTheStore(t *testing.T) {
	e := newEnv(t, 0)
	s, _ := e.hub.Open(t.Context(), "u", 0, false)
	defer s.Close()
	readUntil(t, s, "event: sync")
	for range 3 { // stored while "the broker was down"
		if err := e.store.Create(t.Context(), []*belfry.Notification{{UserID: "u", Message: "m"}}); err != nil {
			t.Fatal(err)
		}
	}
	e.hub.Resync()
	out := readUntil(t, s, "event: sync")
	wantIDs(t, ids(out), 1, 3)
	if !strings.Contains(out, `"unread_count":3,"unseen_count":3,"last_id":3`) {
		t.Fatalf("sync after resync: %q", out)
	}
}

func TestCloseAllEndsStreamsAndRefusesNew(t *testing.T) {
	e := newEnv(t, 0)
	s, _ := e.hub.Open(t.Context(), "u", 0, false)
	readUntil(t, s, "event: sync")
	e.hub.CloseAll()
	if _, err := s.Next(t.Context(), time.Second); !errors.Is(err, hub.ErrShutdown) {
		t.Fatalf("Next after CloseAll: %v", err)
	}
	if _, err := e.hub.Open(t.Context(), "u", 0, false); !errors.Is(err, hub.ErrShutdown) {
		t.Fatalf("Open after CloseAll: %v", err)
	}
	if st := e.hub.Stats(); st.Streams != 0 || st.Users != 0 {
		t.Fatalf("stats after CloseAll %+v", st)
	}
}

// A notification stored while the broker could not deliver it (a Redis
// subscription not yet in effect) reaches the stream through ResyncUsers,
// without a second sync event.
func TestResyncUsersCatchesUpWithoutSync(t *testing.T) {
	e := newEnv(t, 0)
	s, _ := e.hub.Open(t.Context(), "u", 0, false)
	defer s.Close()
	readUntil(t, s, "event: sync")
	if err := e.store.Create(t.Context(), []*belfry.Notification{{UserID: "u", Message: "m"}}); err != nil {
		t.Fatal(err)
	}
	e.hub.ResyncUsers([]string{"other", "u"})
	out := readUntil(t, s, "id: 1\n")
	create(t, e, "u", 1)
	out += readUntil(t, s, "id: 2\n")
	if strings.Contains(out, "event: sync") {
		t.Fatalf("ResyncUsers sent a sync event: %q", out)
	}
}

// afterCounter is the real SQLite store, counting the replay reads.
type afterCounter struct {
	*sqlite.Store
	mu    sync.Mutex
	calls int
}

func (c *afterCounter) After(ctx context.Context, user string, after int64, limit int) ([]*belfry.Notification, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.Store.After(ctx, user, after, limit)
}

// A fresh stream, or one that missed nothing, sends its sync without
// reading the store for a replay that cannot hold anything.
func TestStreamWithNothingMissedSkipsTheReplayRead(t *testing.T) {
	e := newEnv(t, 0)
	create(t, e, "u", 3)
	st := &afterCounter{Store: e.store}
	hb := hub.New(hub.Config{Store: st, Broker: e.broker})
	for _, c := range []struct {
		last   int64
		resume bool
	}{{0, false}, {3, true}} {
		s, err := hb.Open(t.Context(), "u", c.last, c.resume)
		if err != nil {
			t.Fatal(err)
		}
		if out := readUntil(t, s, "event: sync"); !strings.HasPrefix(out, "event: sync") {
			t.Fatalf("%+v: %q", c, out)
		}
		s.Close()
	}
	if st.calls != 0 {
		t.Fatalf("%d replay reads for streams that missed nothing", st.calls)
	}
	s, _ := hb.Open(t.Context(), "u", 1, true)
	defer s.Close()
	wantIDs(t, ids(readUntil(t, s, "event: sync")), 2, 3)
}
