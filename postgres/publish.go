package postgres

import (
	"bytes"
	"context"

	"github.com/belfry/belfry"
)

// Publish is Create for a publish call: notifications whose users turned
// their category off in-app are not stored (their users go to b.Skipped),
// and with b.Key set the call is idempotent: the key is claimed in the
// statement that stores the notifications, and a live key's record is
// replayed instead (see insertSQL and the package doc). It is group
// committed with the other Create and Publish calls.
//
// b.Jobs are inserted by the same statement, for the notifications stored
// (see insertJobsSQL); a job with no UserID takes its notification's.
//
// Errors: EIDEMCONFLICT (the key is live and was used with another body),
// EUNAVAILABLE, EINVALID (text with a NUL character, a bad job).
func (s *Store) Publish(ctx context.Context, b *belfry.Batch) error {
	b.Skipped, b.Replayed = nil, false
	if err := checkNUL(b.Notifications); err != nil {
		return err
	}
	if len(b.Notifications) == 0 && b.Key == nil {
		return nil
	}
	if b.Key != nil && hasNULString(b.Key.Name) {
		return belfry.Errorf(belfry.EINVALID, "the idempotency key must not contain NUL characters")
	}
	if err := checkBatchJobs(b); err != nil {
		return err
	}
	r, err := s.enqueue(ctx, &createReq{ns: b.Notifications, prefs: true, key: b.Key, jobs: b.Jobs})
	if err != nil {
		return err
	}
	if r.rec != nil {
		return replay(b, r.rec)
	}
	var kept []*belfry.Notification
	for i, n := range b.Notifications {
		if r.skip[i] {
			b.Skipped = append(b.Skipped, n.UserID)
		} else {
			kept = append(kept, n)
		}
	}
	b.Notifications = kept
	return nil
}

// replay answers a publish from the record of the earlier one with its
// key. The notifications are those of the earlier call (same body hash),
// in the same order: the recorded users are, in order, those that were
// stored. Errors: EIDEMCONFLICT.
func replay(b *belfry.Batch, rec *keyRecord) error {
	if !bytes.Equal(rec.hash, b.Key.Hash[:]) {
		return belfry.Errorf(belfry.EIDEMCONFLICT, "the idempotency key was used with another request body")
	}
	var kept []*belfry.Notification
	j := 0
	for _, n := range b.Notifications {
		if j < len(rec.users) && j < len(rec.ids) && rec.users[j] == n.UserID {
			n.ID, n.CreatedAt = rec.ids[j], rec.created
			kept = append(kept, n)
			j++
		} else {
			b.Skipped = append(b.Skipped, n.UserID)
		}
	}
	b.Notifications, b.Replayed = kept, true
	return nil
}

// checkBatchJobs refuses jobs the outbox cannot store or that name no
// notification of the batch. Errors: EINVALID.
func checkBatchJobs(b *belfry.Batch) error {
	for i := range b.Jobs {
		j := &b.Jobs[i]
		if j.Index < 0 || j.Index >= len(b.Notifications) {
			return belfry.Errorf(belfry.EINVALID, "job %q: no notification %d in the batch", j.ID, j.Index)
		}
		if err := checkJob(j); err != nil {
			return err
		}
	}
	return nil
}
