package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/belfry/belfry"
)

// Publish is Create with the users' preferences and the batch's
// idempotency key applied, both inside the writer's transaction, so that
// they are exact: a preference changed before the call is seen by it, and
// of concurrent calls with one key (from this Store, another Store or
// another process on the file) one creates and the others replay it.
// b.Jobs are stored in the same transaction (see belfry.Job.Index).
// Errors: EINVALID (a job's id, kind or Index), EIDEMCONFLICT, EUNAVAILABLE.
func (s *Store) Publish(ctx context.Context, b *belfry.Batch) error {
	if len(b.Notifications) == 0 && b.Key == nil {
		b.Skipped, b.Replayed = nil, false
		return nil
	}
	if len(b.Jobs) > 0 {
		if err := checkJobs(b.Jobs); err != nil {
			return err
		}
		for _, j := range b.Jobs {
			if j.Index < 0 || j.Index >= len(b.Notifications) {
				return belfry.Errorf(belfry.EINVALID, "job %q: index %d is not a notification of the batch", j.ID, j.Index)
			}
		}
	}
	r := requests.Get().(*request)
	*r = request{op: opCreate, ns: b.Notifications, publish: true, batch: b}
	if len(b.Jobs) > 0 {
		r.ob = &outboxReq{jobs: slices.Clone(b.Jobs)}
	}
	if b.Key != nil {
		k := *b.Key
		r.key = &k
	}
	err := s.submit(ctx, r)
	if r.answered() {
		*r = request{}
		requests.Put(r)
	}
	return err
}

// requests recycles Publish's requests, one per call on the hot path. A
// request whose answer came (answered) is no longer the writer's: closing
// done is the writer's last touch of it. One whose caller gave up first
// is left to the garbage collector.
var requests = sync.Pool{New: func() any { return new(request) }}

// answered reports whether the writer has answered r.
func (r *request) answered() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// record is what an idempotency key remembers of its call: for each
// notification of the call, in order, its user and its id (0 if the user
// was skipped).
type record struct {
	Users []string `json:"users"`
	IDs   []int64  `json:"ids"`
}

// offPrefsHead reads the preferences of the listed users that turn in-app
// delivery off somewhere; the others get every notification.
const offPrefsHead = `SELECT user_id, prefs FROM preferences WHERE in_app_off AND user_id IN (`

// prepareRun sets, for each call of a run of creates, which notifications
// to store (r.live). A Create stores them all. A Publish whose key names
// an earlier call within its window is answered from the record (or with
// EIDEMCONFLICT) and stores nothing; otherwise a notification whose user
// turned in-app delivery off for its category is left out.
func (w *writer) prepareRun(ctx context.Context, rs []*request, now time.Time) error {
	publishes := false
	for _, r := range rs {
		r.err, r.live, r.ids, r.skipped, r.replayed = nil, r.ns, nil, nil, false
		if r.publish {
			publishes = true
		}
	}
	if !publishes {
		return nil
	}
	for _, r := range rs {
		if r.key != nil {
			if err := w.replay(ctx, r, now); err != nil {
				return err
			}
		}
	}
	// Most stores have no user with in-app delivery off: then one probe
	// of a partial index is all that preferences cost a publish.
	var off bool
	if err := w.anyOff.QueryRowContext(ctx).Scan(&off); err != nil || !off {
		return err
	}
	prefs, err := w.loadOffPrefs(ctx, rs)
	if err != nil || len(prefs) == 0 {
		return err
	}
	for _, r := range rs {
		if !r.publish || r.replayed || r.err != nil {
			continue
		}
		var kept []*belfry.Notification
		for i, n := range r.ns {
			p, ok := prefs[n.UserID]
			if !ok || p.For(n.Category).InApp {
				if r.skipped != nil {
					kept = append(kept, n)
				}
				continue
			}
			if r.skipped == nil {
				kept = append(make([]*belfry.Notification, 0, len(r.ns)), r.ns[:i]...)
			}
			r.skipped = append(r.skipped, n.UserID)
		}
		if r.skipped != nil {
			r.live = kept
		}
	}
	return nil
}

// replay answers r from its key's record, if the key names a call whose
// window has not ended.
func (w *writer) replay(ctx context.Context, r *request, now time.Time) error {
	k := r.key
	var (
		hash, result []byte
		created      int64
	)
	err := w.getKey.QueryRowContext(ctx, k.Name, now.UnixMilli()).Scan(&hash, &result, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var rec record
	if !bytes.Equal(hash, k.Hash[:]) {
		r.err = belfry.Errorf(belfry.EIDEMCONFLICT, "idempotency key %q was used with another request body", k.Name)
		return nil
	}
	if err := json.Unmarshal(result, &rec); err != nil || len(rec.IDs) != len(r.ns) || len(rec.Users) != len(r.ns) {
		return fmt.Errorf("idempotency key %q: bad record %q", k.Name, result)
	}
	r.replayed, r.created, r.live = true, time.UnixMilli(created).UTC(), nil
	for i, n := range r.ns {
		if rec.IDs[i] == 0 {
			r.skipped = append(r.skipped, n.UserID)
			continue
		}
		r.live = append(r.live, n)
		r.ids = append(r.ids, rec.IDs[i])
	}
	return nil
}

// loadOffPrefs returns the preferences of the users of rs' publishes that
// turn in-app delivery off somewhere.
func (w *writer) loadOffPrefs(ctx context.Context, rs []*request) (map[string]belfry.Preferences, error) {
	var users []string
	seen := map[string]bool{}
	for _, r := range rs {
		if !r.publish || r.replayed || r.err != nil {
			continue
		}
		for _, n := range r.ns {
			if !seen[n.UserID] {
				seen[n.UserID] = true
				users = append(users, n.UserID)
			}
		}
	}
	prefs := map[string]belfry.Preferences{}
	for len(users) > 0 {
		k := chunk(len(users), maxChunk)
		st, err := w.offPrefs.get(ctx, w.conn, k)
		if err != nil {
			return nil, err
		}
		args := w.args[:0]
		for _, u := range users[:k] {
			args = append(args, u)
		}
		rows, err := st.QueryContext(ctx, args...)
		clear(args)
		w.args = args[:0]
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				user string
				raw  []byte
			)
			if err := rows.Scan(&user, &raw); err != nil {
				rows.Close()
				return nil, err
			}
			p, err := decodePrefs(raw)
			if err != nil {
				rows.Close()
				return nil, err
			}
			prefs[user] = p
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		users = users[k:]
	}
	return prefs, nil
}

// recordKeys stores the record of each keyed publish of the run that
// created its notifications (r.ids are set).
func (w *writer) recordKeys(ctx context.Context, rs []*request, now time.Time) error {
	for _, r := range rs {
		if r.key == nil || r.replayed || r.err != nil {
			continue
		}
		rec := record{Users: make([]string, len(r.ns)), IDs: make([]int64, len(r.ns))}
		j := 0
		for i, n := range r.ns {
			rec.Users[i] = n.UserID
			if j < len(r.live) && r.live[j] == n {
				rec.IDs[i] = r.ids[j]
				j++
			}
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		k := r.key
		if _, err := w.putKey.ExecContext(ctx, k.Name, k.Hash[:], b, now.UnixMilli(), k.Expires.UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}

// keyName is the idempotency key of r, "" if it has none.
func keyName(r *request) string {
	if r.key == nil {
		return ""
	}
	return r.key.Name
}

// answerCreate fills the caller's notifications and batch once the writer
// has answered. It runs in the caller's goroutine.
func (r *request) answerCreate() {
	for i, n := range r.live {
		n.ID, n.CreatedAt = r.ids[i], r.created
		n.ReadAt, n.SeenAt, n.ArchivedAt, n.ActedAt, n.Action = nil, nil, nil, nil, ""
		if n.ExpiresAt != nil {
			t := belfry.Now(*n.ExpiresAt)
			n.ExpiresAt = &t
		}
	}
	if b := r.batch; b != nil {
		b.Notifications, b.Skipped, b.Replayed = r.live, r.skipped, r.replayed
	}
}
