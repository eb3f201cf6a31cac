package mongodb

import (
	"context"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// subDoc is a document of push_subscriptions. _id is the endpoint, so the
// _id index keeps an endpoint to one user.
type subDoc struct {
	Endpoint string    `bson:"_id"`
	UserID   string    `bson:"user_id"`
	P256DH   string    `bson:"p256dh"`
	Auth     string    `bson:"auth"`
	Created  time.Time `bson:"created_at"`
}

// Subscribe stores sub for the user, replacing the subscription with the
// same endpoint whoever's it was. It holds the user's lease (the one
// Create, Delete and SetPreferences use; see lease.go) while it counts the
// user's other subscriptions and writes, so that concurrent calls for one
// user, on any node, cannot pass MaxSubscriptions together. Taking an
// endpoint from another user needs no lease of theirs: it only lowers
// their count. Errors: ELIMIT, EUNAVAILABLE.
func (s *Store) Subscribe(ctx context.Context, userID string, sub belfry.Subscription) error {
	ctx, cancel := context.WithTimeout(ctx, 2*s.opTimeout)
	defer cancel()
	release, err := s.holdLease(ctx, userID)
	if err != nil {
		return classify("mongodb", err)
	}
	defer release()
	others, err := s.subs.CountDocuments(ctx, bson.D{{Key: "user_id", Value: userID},
		{Key: "_id", Value: bson.D{{Key: "$ne", Value: sub.Endpoint}}}},
		options.Count().SetLimit(belfry.MaxSubscriptions))
	if err != nil {
		return classify("mongodb", err)
	}
	if others >= belfry.MaxSubscriptions {
		return belfry.Errorf(belfry.ELIMIT, "at most %d push subscriptions per user", belfry.MaxSubscriptions)
	}
	d := subDoc{Endpoint: sub.Endpoint, UserID: userID, P256DH: sub.P256DH, Auth: sub.Auth, Created: belfry.Now(sub.Created)}
	for attempt := 0; ; attempt++ {
		_, err = s.subs.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.Endpoint}}, d, options.Replace().SetUpsert(true))
		// Two upserts of a new endpoint at once may both insert; the
		// loser replaces on its second try.
		if err == nil || !mongo.IsDuplicateKeyError(err) || attempt == 2 {
			return classify("mongodb", err)
		}
	}
}

// Unsubscribe removes the user's subscription with this endpoint.
// (On FerretDB, whose delete is a query then a delete by _id, an endpoint
// that another user's Subscribe takes at the same instant may be deleted
// instead of moved.) Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Store) Unsubscribe(ctx context.Context, userID, endpoint string) error {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	res, err := s.subs.DeleteOne(ctx, bson.D{{Key: "_id", Value: endpoint}, {Key: "user_id", Value: userID}})
	if err != nil {
		return classify("mongodb", err)
	}
	if res.DeletedCount == 0 {
		return belfry.Errorf(belfry.ENOTFOUND, "no such push subscription")
	}
	return nil
}

// SubscriptionsOf returns the user's subscriptions, oldest first (then by
// endpoint). Errors: EUNAVAILABLE.
func (s *Store) SubscriptionsOf(ctx context.Context, userID string) ([]belfry.Subscription, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	cur, err := s.subs.Find(ctx, bson.D{{Key: "user_id", Value: userID}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, classify("mongodb", err)
	}
	var docs []subDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, classify("mongodb", err)
	}
	out := make([]belfry.Subscription, len(docs))
	for i, d := range docs {
		out[i] = belfry.Subscription{Endpoint: d.Endpoint, P256DH: d.P256DH, Auth: d.Auth, Created: d.Created.UTC()}
	}
	return out, nil
}

// subscribed reports which of users have at least one subscription.
// (A find, not distinct, whose answer the driver cannot decode from
// FerretDB v1.)
func (s *Store) subscribed(ctx context.Context, users []string) (map[string]bool, error) {
	cur, err := s.subs.Find(ctx, bson.D{{Key: "user_id", Value: in(users)}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 0}, {Key: "user_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var with []struct {
		User string `bson:"user_id"`
	}
	if err := cur.All(ctx, &with); err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(with))
	for _, w := range with {
		out[w.User] = true
	}
	return out, nil
}
