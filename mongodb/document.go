package mongodb

import (
	"encoding/json"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// newDoc is a notification as inserted. The field names are those of the
// original Laravel model (user_id, message, link, read_at, created_at,
// updated_at) and, for what the model lacks, its snake_case style; seq is
// the per-user id. It is not called "id" because laravel-mongodb maps a
// model's id attribute to _id.
//
// data is stored as a JSON string, as Laravel's own database notifications
// store it (DatabaseNotification casts data to an array from JSON): the
// round trip is exact, and keys MongoDB or FerretDB would refuse ("$x",
// "a.b", NUL) cannot fail an insert. Empty optional fields are left out;
// read_at is stored as null while unread, so `read_at: null` finds both.
// seen_at, archived_at, action and acted_at are absent until set (never
// null: SetRead and the bulk changes keep an earlier seen_at with $min,
// which a null would defeat).
type newDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	UserID    string        `bson:"user_id"`
	Seq       int64         `bson:"seq"`
	Message   string        `bson:"message"`
	Title     string        `bson:"title,omitempty"`
	Link      string        `bson:"link,omitempty"`
	Category  string        `bson:"category,omitempty"`
	Data      string        `bson:"data,omitempty"`
	Avatar    string        `bson:"avatar,omitempty"`
	Actions   []actionDoc   `bson:"actions,omitempty"`
	ExpiresAt *time.Time    `bson:"expires_at,omitempty"`
	ReadAt    *time.Time    `bson:"read_at"`
	CreatedAt time.Time     `bson:"created_at"`
	UpdatedAt time.Time     `bson:"updated_at"`

	// The publish call's Idempotency-Key and this notification's place in
	// it (see idempotency.go); absent without a key.
	IdemKey  string `bson:"idempotency_key,omitempty"`
	IdemSlot string `bson:"idempotency_slot,omitempty"`
}

// actionDoc is one of a notification's actions.
type actionDoc struct {
	ID    string `bson:"id"`
	Label string `bson:"label"`
	URL   string `bson:"url,omitempty"`
}

// readDoc is a notification as read back. Data is raw so that a document
// written by another application with data as an embedded document (as
// laravel-mongodb would) still reads. Every field added after the first
// release may be missing: a document written before reads as unseen,
// unarchived, without expiry, avatar or actions.
type readDoc struct {
	UserID     string        `bson:"user_id"`
	Seq        int64         `bson:"seq"`
	Message    string        `bson:"message"`
	Title      string        `bson:"title"`
	Link       string        `bson:"link"`
	Category   string        `bson:"category"`
	Data       bson.RawValue `bson:"data"`
	Avatar     string        `bson:"avatar"`
	Actions    []actionDoc   `bson:"actions"`
	ReadAt     *time.Time    `bson:"read_at"`
	CreatedAt  time.Time     `bson:"created_at"`
	SeenAt     *time.Time    `bson:"seen_at"`
	ArchivedAt *time.Time    `bson:"archived_at"`
	ExpiresAt  *time.Time    `bson:"expires_at"`
	Action     string        `bson:"action"`
	ActedAt    *time.Time    `bson:"acted_at"`
}

// slot is the idempotency tag of a notification created by Publish with
// a key.
type slot struct{ key, slot string }

// toDoc returns the document for n with the given id and creation time.
func toDoc(n *belfry.Notification, seq int64, now time.Time, tag slot) newDoc {
	d := newDoc{ID: bson.NewObjectID(), UserID: n.UserID, Seq: seq, Message: n.Message,
		Title: n.Title, Link: n.Link, Category: n.Category, Data: string(n.Data),
		Avatar: n.Avatar, CreatedAt: now, UpdatedAt: now, IdemKey: tag.key, IdemSlot: tag.slot}
	if n.ExpiresAt != nil {
		t := n.ExpiresAt.UTC()
		d.ExpiresAt = &t
	}
	if len(n.Actions) > 0 {
		d.Actions = make([]actionDoc, len(n.Actions))
		for i, a := range n.Actions {
			d.Actions[i] = actionDoc(a)
		}
	}
	return d
}

// notification converts a document read back.
func (d *readDoc) notification() *belfry.Notification {
	n := &belfry.Notification{ID: d.Seq, UserID: d.UserID, Message: d.Message,
		Title: d.Title, Link: d.Link, Category: d.Category, Avatar: d.Avatar,
		CreatedAt: d.CreatedAt.UTC(), Action: d.Action,
		ReadAt: utc(d.ReadAt), SeenAt: utc(d.SeenAt), ArchivedAt: utc(d.ArchivedAt),
		ExpiresAt: utc(d.ExpiresAt), ActedAt: utc(d.ActedAt)}
	if len(d.Actions) > 0 {
		n.Actions = make([]belfry.Action, len(d.Actions))
		for i, a := range d.Actions {
			n.Actions[i] = belfry.Action(a)
		}
	}
	switch d.Data.Type {
	case bson.TypeString:
		if s := d.Data.StringValue(); s != "" {
			n.Data = json.RawMessage(s)
		}
	case bson.TypeEmbeddedDocument:
		if b, err := bson.MarshalExtJSON(d.Data.Document(), false, false); err == nil {
			n.Data = b
		}
	}
	return n
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
