package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/belfry/belfry"
)

// gaveUpCtx is a context that ends when Done is asked for the second
// time: in submit, once the request is queued and the caller waits for
// its answer.
type gaveUpCtx struct {
	context.Context
	calls atomic.Int32
	once  sync.Once
	done  chan struct{}
}

func (c *gaveUpCtx) Done() <-chan struct{} {
	if c.calls.Add(1) == 2 {
		c.once.Do(func() { close(c.done) })
	}
	return c.done
}

func (c *gaveUpCtx) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// A Publish whose caller stops waiting while the writer still holds its
// request (here, blocked behind another process's write lock) does not
// recycle that request: the writer answers it later, and the next
// Publish, which may take a recycled request, is stored as usual.
func TestPublishGaveUpKeepsItsRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "belfry.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	ctx := &gaveUpCtx{Context: context.Background(), done: make(chan struct{})}
	b := &belfry.Batch{Notifications: []*belfry.Notification{{UserID: "u", Message: "given up"}}}
	if err := s.Publish(ctx, b); belfry.ErrorCode(err) != belfry.EUNAVAILABLE || !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish that gave up: %v", err)
	}
	if _, err := lock.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		b := &belfry.Batch{Notifications: []*belfry.Notification{{UserID: "u", Message: "next"}}}
		if err := s.Publish(t.Context(), b); err != nil {
			t.Fatal(i, err)
		}
		if n := b.Notifications[0]; n.ID == 0 || n.Message != "next" {
			t.Fatalf("Publish %d after: %+v", i, n)
		}
	}
}
