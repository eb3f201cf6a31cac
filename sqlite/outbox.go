package sqlite

import (
	"context"
	"time"

	"github.com/belfry/belfry"
)

// Placeholders until the outbox lands in this store.

var errOutbox = belfry.Errorf(belfry.EUNAVAILABLE, "the outbox is not implemented yet")

func (s *Store) Enqueue(ctx context.Context, jobs []belfry.Job) error { return errOutbox }
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]belfry.Job, error) {
	return nil, errOutbox
}
func (s *Store) Settle(ctx context.Context, st belfry.Settlement) error { return errOutbox }
func (s *Store) FailedJobs(ctx context.Context, kind belfry.JobKind, before string, limit int) ([]belfry.Job, error) {
	return nil, errOutbox
}
func (s *Store) Revive(ctx context.Context, id string, now time.Time) (belfry.Job, error) {
	return belfry.Job{}, errOutbox
}
func (s *Store) Subscribe(ctx context.Context, userID string, sub belfry.Subscription) error {
	return errOutbox
}
func (s *Store) Unsubscribe(ctx context.Context, userID, endpoint string) error { return errOutbox }
func (s *Store) SubscriptionsOf(ctx context.Context, userID string) ([]belfry.Subscription, error) {
	return nil, errOutbox
}
