package mongodb

import (
	"encoding/json"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// newDoc is a notification as inserted. The field names are those of the
// original Laravel model (user_id, message, link, read_at, created_at,
// updated_at); seq is the per-user id. It is not called "id" because
// laravel-mongodb maps a model's id attribute to _id.
//
// data is stored as a JSON string, as Laravel's own database notifications
// store it (DatabaseNotification casts data to an array from JSON): the
// round trip is exact, and keys MongoDB or FerretDB would refuse ("$x",
// "a.b", NUL) cannot fail an insert. Empty optional fields are left out;
// read_at is stored as null while unread, so `read_at: null` finds both.
type newDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	UserID    string        `bson:"user_id"`
	Seq       int64         `bson:"seq"`
	Message   string        `bson:"message"`
	Title     string        `bson:"title,omitempty"`
	Link      string        `bson:"link,omitempty"`
	Category  string        `bson:"category,omitempty"`
	Data      string        `bson:"data,omitempty"`
	ReadAt    *time.Time    `bson:"read_at"`
	CreatedAt time.Time     `bson:"created_at"`
	UpdatedAt time.Time     `bson:"updated_at"`
}

// readDoc is a notification as read back. Data is raw so that a document
// written by another application with data as an embedded document (as
// laravel-mongodb would) still reads.
type readDoc struct {
	UserID    string        `bson:"user_id"`
	Seq       int64         `bson:"seq"`
	Message   string        `bson:"message"`
	Title     string        `bson:"title"`
	Link      string        `bson:"link"`
	Category  string        `bson:"category"`
	Data      bson.RawValue `bson:"data"`
	ReadAt    *time.Time    `bson:"read_at"`
	CreatedAt time.Time     `bson:"created_at"`
}

// toDoc returns the document for n with the given id and creation time.
func toDoc(n *belfry.Notification, seq int64, now time.Time) newDoc {
	return newDoc{ID: bson.NewObjectID(), UserID: n.UserID, Seq: seq, Message: n.Message,
		Title: n.Title, Link: n.Link, Category: n.Category, Data: string(n.Data),
		CreatedAt: now, UpdatedAt: now}
}

// notification converts a document read back.
func (d *readDoc) notification() *belfry.Notification {
	n := &belfry.Notification{ID: d.Seq, UserID: d.UserID, Message: d.Message,
		Title: d.Title, Link: d.Link, Category: d.Category,
		CreatedAt: d.CreatedAt.UTC()}
	if d.ReadAt != nil {
		t := d.ReadAt.UTC()
		n.ReadAt = &t
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
