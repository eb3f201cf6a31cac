package mongodb

import (
	"context"

	"github.com/belfry/belfry"
)

// Publish is Create for a publish call: it drops the notifications whose
// user has in-app delivery off for their category (one query reads the
// preferences of every user of the batch, before anything is inserted)
// and, when b.Key is set, makes the call idempotent (see idempotency.go
// and the package doc). Errors: EIDEMCONFLICT, EUNAVAILABLE (and EINVALID
// for a document the server refuses, as Create).
func (s *Store) Publish(ctx context.Context, b *belfry.Batch) error {
	b.Skipped, b.Replayed = nil, false
	if len(b.Notifications) == 0 && b.Key == nil {
		return nil
	}
	keep, err := s.wanted(ctx, b.Notifications)
	if err != nil {
		return err
	}
	if b.Key != nil {
		return s.publishOnce(ctx, b, keep)
	}
	all := b.Notifications
	var kept []*belfry.Notification
	for i, n := range b.Notifications {
		if keep[i] {
			kept = append(kept, n)
		} else {
			b.Skipped = append(b.Skipped, n.UserID)
		}
	}
	b.Notifications = kept
	for _, n := range kept {
		n.ID = 0
	}
	err = s.Create(ctx, kept)
	// Create sets the ID of exactly the notifications it stored, even
	// when it fails midway: their jobs go in, so that a publisher that
	// resends only those without an ID gets every job once.
	if jerr := s.publishJobs(ctx, planJobs(b.Jobs), all); err == nil {
		err = jerr
	}
	return err
}

// Where the jobs of a publish are written. Without transactions they
// cannot go in with the notifications, and they cannot go in before them
// either: a job names its notification by id, which the writers assign
// (and may assign again, after a collision) while inserting. So a job is
// inserted once its notification is stored, before Publish answers: a
// publish that returns nil has all its jobs, and no job ever names a
// notification that was not stored (a notification deleted later is
// harmless: the runner drops a job whose notification is gone).
//
// Without a key, a crash between the notifications and their jobs leaves
// the notifications without jobs (no push, no escalation); the call was
// not answered, and only a retry with a key can complete it without
// duplicates. With a key, the jobs are part of the claim's plan
// (keyDoc.Jobs, written with the claim before any notification) and are
// enqueued, with the ids of the plan, before the key is recorded done: a
// crash leaves the key pending, and the duplicate call that takes it over
// enqueues the same jobs (a job id stored already is left as it is), so
// they go in exactly once; a replay enqueues nothing.

// planJobs converts a batch's jobs, keeping Index and OnlyIfSubscribed.
func planJobs(jobs []belfry.Job) []jobDoc {
	out := make([]jobDoc, len(jobs))
	for i, j := range jobs {
		out[i] = toJobDoc(j)
	}
	return out
}

// publishJobs enqueues the jobs of a publish whose notifications are ns
// (the batch's, in input order): each job gets the id of the notification
// at its Index, and is dropped when that one has no id (skipped, not
// stored). A zero Created is the notification's CreatedAt; an empty
// UserID its user. Errors: EINVALID (a bad job id), EUNAVAILABLE.
func (s *Store) publishJobs(ctx context.Context, jobs []jobDoc, ns []*belfry.Notification) error {
	var docs []jobDoc
	for _, j := range jobs {
		if j.Index < 0 || j.Index >= len(ns) || ns[j.Index].ID == 0 {
			continue
		}
		if j.ID == "" || len(j.ID) > maxJobID {
			return belfry.Errorf(belfry.EINVALID, "a job id must be 1 to %d bytes", maxJobID)
		}
		n := ns[j.Index]
		j.NotificationID = n.ID
		if j.UserID == "" {
			j.UserID = n.UserID
		}
		if j.Created.IsZero() {
			j.Created = n.CreatedAt
		}
		docs = append(docs, j)
	}
	if len(docs) == 0 {
		return nil
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	return classify("mongodb", s.enqueue(ctx, docs))
}

// wanted reports, for each notification, whether its user's preferences
// let it in. Errors: EUNAVAILABLE.
func (s *Store) wanted(ctx context.Context, ns []*belfry.Notification) ([]bool, error) {
	keep := make([]bool, len(ns))
	if len(ns) == 0 {
		return keep, nil
	}
	seen := make(map[string]bool, len(ns))
	var users []string
	for _, n := range ns {
		if !seen[n.UserID] {
			seen[n.UserID] = true
			users = append(users, n.UserID)
		}
	}
	prefs, err := s.preferencesOf(ctx, users)
	if err != nil {
		return nil, err
	}
	for i, n := range ns {
		p, ok := prefs[n.UserID]
		keep[i] = !ok || p.For(n.Category).InApp
	}
	return keep, nil
}
