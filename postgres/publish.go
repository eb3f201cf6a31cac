package postgres

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/belfry/belfry"
	"github.com/jackc/pgx/v5"
)

// Publish is Create for a publish call: notifications whose users turned
// their category off in-app are not stored (their users go to b.Skipped),
// and with b.Key set the call is idempotent (see the package doc).
// Without a key it is group committed with the other Create and Publish
// calls; with one it runs in a transaction of its own.
//
// Errors: EIDEMCONFLICT (the key was used with another body),
// EUNAVAILABLE, EINVALID (text with a NUL character).
func (s *Store) Publish(ctx context.Context, b *belfry.Batch) error {
	b.Skipped, b.Replayed = nil, false
	if err := checkNUL(b.Notifications); err != nil {
		return err
	}
	if b.Key != nil {
		return s.publishKeyed(ctx, b)
	}
	if len(b.Notifications) == 0 {
		return nil
	}
	skip, err := s.enqueue(ctx, b.Notifications, true)
	if err != nil {
		return err
	}
	b.Notifications, b.Skipped = dropSkipped(b.Notifications, skip)
	return nil
}

// dropSkipped splits ns into the stored ones and the users of the others.
func dropSkipped(ns []*belfry.Notification, skip []bool) ([]*belfry.Notification, []string) {
	var skipped []string
	kept := ns[:0:0]
	for i, n := range ns {
		if skip[i] {
			skipped = append(skipped, n.UserID)
		} else {
			kept = append(kept, n)
		}
	}
	return kept, skipped
}

// claimKeySQL inserts the key's row, or takes over the row of an expired
// key, and returns true; it returns no row when the key is live. Either
// way the row stays locked until the transaction ends. A concurrent
// publish with the same key waits here, on the uncommitted row, until
// this transaction ends: if it commits, the other finds the key live and
// replays the record; if it rolls back, the other inserts the key itself.
const claimKeySQL = `
INSERT INTO belfry_idempotency_keys AS k (name, hash, expires_at, created_at, users, ids)
VALUES ($1, $2, $3, $4, '{}', '{}')
ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, expires_at = excluded.expires_at,
	created_at = excluded.created_at, users = '{}', ids = '{}'
WHERE k.expires_at <= $4
RETURNING true`

// keyRecord is what an earlier publish with the key created.
type keyRecord struct {
	hash    []byte
	users   []string
	ids     []int64
	created time.Time
}

// publishKeyed runs one publish with an idempotency key, in one
// transaction: claim the key, store the notifications, record them with
// the key. Or, when the key is live, read its record and store nothing.
func (s *Store) publishKeyed(ctx context.Context, b *belfry.Batch) error {
	release, err := s.hold()
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, s.writeTimeout)
	defer cancel()

	key := b.Key
	now := s.now()
	req := &createReq{ns: b.Notifications, prefs: true}
	var (
		rec *keyRecord
		in  *insertion
		ids []int64
	)
	err = s.do(ctx, false, func() error {
		rec, in, ids = nil, nil, nil
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var claimed bool
			err := tx.QueryRow(ctx, claimKeySQL, key.Name, key.Hash[:], key.Expires, now).Scan(&claimed)
			if errors.Is(err, pgx.ErrNoRows) {
				rec = &keyRecord{}
				return tx.QueryRow(ctx, `SELECT hash, users, ids, created_at
					FROM belfry_idempotency_keys WHERE name = $1`, key.Name).
					Scan(&rec.hash, &rec.users, &rec.ids, &rec.created)
			}
			if err != nil {
				return err
			}
			in = newInsertion([]*createReq{req}, now)
			if len(in.users) > 0 {
				if err := in.run(ctx, tx); err != nil {
					return err
				}
			}
			if ids, err = in.assign(); err != nil {
				return err
			}
			users, created := make([]string, 0, len(ids)), make([]int64, 0, len(ids))
			for i, id := range ids {
				if id != 0 {
					users, created = append(users, in.users[i]), append(created, id)
				}
			}
			_, err = tx.Exec(ctx, `UPDATE belfry_idempotency_keys SET users = $2, ids = $3
				WHERE name = $1`, key.Name, users, created)
			return err
		})
	})
	if err != nil {
		return classify("postgres", err)
	}
	if rec != nil {
		return replay(b, rec)
	}
	in.set(ids)
	b.Notifications, b.Skipped = dropSkipped(b.Notifications, req.skip)
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
	kept := b.Notifications[:0:0]
	j := 0
	for _, n := range b.Notifications {
		if j < len(rec.users) && j < len(rec.ids) && rec.users[j] == n.UserID {
			n.ID, n.CreatedAt = rec.ids[j], rec.created.UTC()
			kept = append(kept, n)
			j++
		} else {
			b.Skipped = append(b.Skipped, n.UserID)
		}
	}
	b.Notifications, b.Replayed = kept, true
	return nil
}
