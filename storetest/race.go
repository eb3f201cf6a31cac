package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/belfry/belfry"
)

// raceOneUser runs one writer goroutine per entry of writers, each making
// calls Create calls for user on its Store (every third call carries two
// notifications), while a reader resumes with After(lastSeen) on reader
// over and over. The reader must see ids 1, 2, 3… with no hole at any
// moment: ids are assigned in commit order, so when id N is visible every
// id below it is too. At the end every id handed out is stored exactly
// once with the message it was created with.
func raceOneUser(t *testing.T, writers []belfry.Store, reader belfry.Store, user string, calls int) {
	c, stop := context.WithCancel(ctx(t))
	defer stop()
	var (
		mu      sync.Mutex
		created = map[int64]string{} // id → message, as Create reported
		done    atomic.Bool
		wg      sync.WaitGroup
	)
	for w, s := range writers {
		wg.Go(func() {
			var last int64
			for i := range calls {
				batch := []*belfry.Notification{note(user, fmt.Sprintf("w%d-%d-a", w, i))}
				if i%3 == 2 {
					batch = append(batch, note(user, fmt.Sprintf("w%d-%d-b", w, i)))
				}
				if err := s.Create(c, batch); err != nil {
					if c.Err() == nil {
						t.Errorf("writer %d: Create: %v", w, err)
					}
					return
				}
				mu.Lock()
				for _, n := range batch {
					if prev, dup := created[n.ID]; dup {
						t.Errorf("id %d handed out twice (%q and %q)", n.ID, prev, n.Message)
					}
					created[n.ID] = n.Message
				}
				mu.Unlock()
				for _, n := range batch {
					if n.ID <= last {
						t.Errorf("writer %d: id %d after its own earlier id %d", w, n.ID, last)
					}
					last = n.ID
				}
				if len(batch) == 2 && batch[1].ID != batch[0].ID+1 {
					t.Errorf("writer %d: one Create got ids %d and %d", w, batch[0].ID, batch[1].ID)
				}
				// Once Create returns id N, N is visible to readers, here
				// possibly through another handle on the same database.
				if i%4 == 0 {
					got, err := reader.After(c, user, last-1, 1)
					if err != nil {
						if c.Err() == nil {
							t.Errorf("writer %d: After: %v", w, err)
						}
						return
					}
					if len(got) != 1 || got[0].ID != last {
						t.Errorf("writer %d: Create returned id %d but After(%d, 1) returned %v",
							w, last, last-1, ids(got))
					}
				}
			}
		})
	}
	total := int64(len(writers) * (calls + calls/3))
	go func() {
		wg.Wait()
		done.Store(true)
	}()

	// The reader reports by returning a message: it must stop the writers
	// and wait for them before failing the test.
	seen, failure := resume(c, reader, user, total, done.Load)
	if failure != "" {
		stop()
	}
	wg.Wait()
	if failure != "" {
		t.Fatal(failure)
	}
	if t.Failed() {
		return
	}
	if seen != total || int64(len(created)) != total {
		t.Fatalf("reader saw ids up to %d, writers were given %d ids, want %d", seen, len(created), total)
	}
	all := after(t, reader, user, 0, int(total)+10)
	wantIDs(t, "After(0) at the end", all, seq(1, int(total), 1))
	for _, n := range all {
		if n.Message != created[n.ID] {
			t.Fatalf("id %d has message %q, Create returned it for %q", n.ID, n.Message, created[n.ID])
		}
	}
	wantStats(t, reader, user, belfry.Stats{Unread: int(total), Unseen: int(total), LastID: total})
}

// resume reads the user's notifications with After(last seen) over and
// over until it has seen total ids, or until finished reports true and
// nothing new is left. Every batch must continue exactly where the last
// one ended. Nothing is read meanwhile, so every Stats taken along the way
// must count as many unread notifications as its last id: a stream's sync
// relies on the two being one snapshot.
func resume(c context.Context, reader belfry.Store, user string, total int64, finished func() bool) (int64, string) {
	var seen int64
	for seen < total {
		done := finished() // read before After: nothing new can appear after it
		st, err := reader.Stats(c, user)
		if err != nil {
			return seen, fmt.Sprintf("reader: Stats: %v", err)
		}
		if int64(st.Unread) != st.LastID {
			return seen, fmt.Sprintf("Stats during concurrent creates = %+v: with nothing read, the unread count and the last id must be equal (one snapshot)", st)
		}
		ns, err := reader.After(c, user, seen, 50)
		if err != nil {
			return seen, fmt.Sprintf("reader: After(%d): %v", seen, err)
		}
		for _, n := range ns {
			if n.ID != seen+1 {
				return seen, fmt.Sprintf("reader resumed after %d and got id %d: ids were skipped or reordered", seen, n.ID)
			}
			if n.UserID != user {
				return seen, fmt.Sprintf("reader got a notification of user %q", n.UserID)
			}
			seen = n.ID
		}
		if len(ns) == 0 && done {
			break
		}
		if c.Err() != nil {
			return seen, fmt.Sprintf("reader saw %d of %d ids before the deadline", seen, total)
		}
	}
	return seen, ""
}

// raceSeveralUsers runs one goroutine per entry of writers, each creating
// for three users (alone and together in one call), while another goroutine
// marks notifications read and unread and reads all. At the end each user
// has ids 1..n with nothing missing, and Stats agrees with the rows.
func raceSeveralUsers(t *testing.T, writers []belfry.Store, other belfry.Store, u users) {
	c := ctx(t)
	names := []string{u.id("u1"), u.id("u2"), u.id("u3")}
	const calls = 15
	var wg sync.WaitGroup
	var stop atomic.Bool
	for w, s := range writers {
		wg.Go(func() {
			for i := range calls {
				var batch []*belfry.Notification
				switch i % 3 {
				case 0: // all three users in one call, in a rotating order
					for k := range names {
						batch = append(batch, note(names[(k+w)%3], fmt.Sprintf("w%d-%d", w, i)))
					}
				default:
					batch = append(batch, note(names[(i+w)%3], fmt.Sprintf("w%d-%d", w, i)))
				}
				if err := s.Create(c, batch); err != nil {
					t.Errorf("writer %d: Create: %v", w, err)
					return
				}
			}
		})
	}
	var changer sync.WaitGroup
	changer.Go(func() {
		for i := 0; !stop.Load(); i++ {
			user := names[i%3]
			at := msTime(0)
			var err error
			switch i % 5 {
			case 4:
				_, err = other.ReadAll(c, user, belfry.Filter{UpTo: int64(i%7 + 1)}, at)
			case 2:
				_, err = other.SetRead(c, user, int64(i%11+1), nil)
			default:
				_, err = other.SetRead(c, user, int64(i%13+1), &at)
			}
			if err != nil && belfry.ErrorCode(err) != belfry.ENOTFOUND {
				t.Errorf("changer: %v", err)
				return
			}
		}
	})
	wg.Wait()
	stop.Store(true)
	changer.Wait()
	if t.Failed() {
		return
	}
	var sum int64
	for _, name := range names {
		all := after(t, other, name, 0, 1000)
		n := int64(len(all))
		sum += n
		wantIDs(t, "After(0) of "+name, all, seq(1, int(n), 1))
		unread, unseen := 0, 0
		for _, x := range all {
			if x.ReadAt == nil {
				unread++
			}
			if x.SeenAt == nil {
				unseen++
			}
		}
		wantStats(t, other, name, belfry.Stats{Unread: unread, Unseen: unseen, LastID: n})
	}
	// Every writer made calls/3 calls for all three users and the rest
	// for one user each, spread over the three.
	want := int64(len(writers)) * (3*(calls/3) + (calls - calls/3))
	if sum != want {
		t.Fatalf("%d notifications stored in all, want %d", sum, want)
	}
}
