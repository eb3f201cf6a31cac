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
	var kept []*belfry.Notification
	for i, n := range b.Notifications {
		if keep[i] {
			kept = append(kept, n)
		} else {
			b.Skipped = append(b.Skipped, n.UserID)
		}
	}
	b.Notifications = kept
	return s.Create(ctx, kept)
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
