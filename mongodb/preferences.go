package mongodb

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// prefsDoc is a user's preferences in notification_preferences: _id is
// the user id; categories maps each escaped category name (see
// escapeCategory) to its switches. A user without a document has
// belfry.DefaultPreferences. Switches are booleans; a missing one (a
// document written by hand) reads as on for the default and as the
// default's for a category.
type prefsDoc struct {
	User       string                 `bson:"_id"`
	Default    switchesDoc            `bson:"default"`
	Categories map[string]switchesDoc `bson:"categories"`
	UpdatedAt  time.Time              `bson:"updated_at"`
}

type switchesDoc struct {
	InApp   *bool `bson:"in_app,omitempty"`
	Push    *bool `bson:"push,omitempty"`
	Webhook *bool `bson:"webhook,omitempty"`
}

func (w switchesDoc) or(def belfry.Channels) belfry.Channels {
	pick := func(b *bool, d bool) bool {
		if b == nil {
			return d
		}
		return *b
	}
	return belfry.Channels{InApp: pick(w.InApp, def.InApp), Push: pick(w.Push, def.Push), Webhook: pick(w.Webhook, def.Webhook)}
}

func switches(c belfry.Channels) switchesDoc {
	return switchesDoc{InApp: &c.InApp, Push: &c.Push, Webhook: &c.Webhook}
}

func (d *prefsDoc) preferences() belfry.Preferences {
	p := belfry.Preferences{Default: d.Default.or(belfry.AllOn), Categories: make(map[string]belfry.Channels, len(d.Categories))}
	for k, c := range d.Categories {
		p.Categories[unescapeCategory(k)] = c.or(p.Default)
	}
	return p
}

// Category names may hold '.' and '$', which a MongoDB field name (a path
// of SetPreferences' $set) cannot: they are stored percent-escaped, with
// '%' itself, so the escaping is reversible ("a.b" is "a%2Eb").
var (
	categoryEscaper   = strings.NewReplacer("%", "%25", ".", "%2E", "$", "%24")
	categoryUnescaper = strings.NewReplacer("%25", "%", "%2E", ".", "%24", "$")
)

func escapeCategory(name string) string   { return categoryEscaper.Replace(name) }
func unescapeCategory(key string) string  { return categoryUnescaper.Replace(key) }
func categoryPath(name, sw string) string { return "categories." + escapeCategory(name) + sw }

// Preferences returns the user's preferences; a user who never set any
// gets belfry.DefaultPreferences. Errors: EUNAVAILABLE.
func (s *Store) Preferences(ctx context.Context, userID string) (belfry.Preferences, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	d, err := s.readPrefs(ctx, userID)
	if err != nil || d == nil {
		return belfry.DefaultPreferences(), err
	}
	return d.preferences(), nil
}

func (s *Store) readPrefs(ctx context.Context, userID string) (*prefsDoc, error) {
	var d prefsDoc
	err := s.prefs.FindOne(ctx, bson.D{{Key: "_id", Value: userID}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, classify("mongodb", err)
	}
	return &d, nil
}

// preferencesOf returns the preferences of the users who set any, in one
// query; those missing have the defaults. Errors: EUNAVAILABLE.
func (s *Store) preferencesOf(ctx context.Context, users []string) (map[string]belfry.Preferences, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	cur, err := s.prefs.Find(ctx, bson.D{{Key: "_id", Value: in(users)}})
	if err != nil {
		return nil, classify("mongodb", err)
	}
	var docs []prefsDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, classify("mongodb", err)
	}
	out := make(map[string]belfry.Preferences, len(docs))
	for i := range docs {
		out[docs[i].User] = docs[i].preferences()
	}
	return out, nil
}

// SetPreferences applies the patch and returns the preferences as they
// are now. The patch becomes one findAndModify of the user's document
// whose $set and $unset name only the switches the patch gives (and the
// categories it removes), so on MongoDB two patches of different switches
// of one user, at once, both stay. A category new to the user is set whole
// (from the default and the patch), on condition that it is still absent
// and the default is still the one read; if another patch changed either
// meanwhile, the patch is planned again from what is there now. A category
// patched in part is conditioned on still existing, so a concurrent
// removal cannot leave half of it.
//
// FerretDB v1 runs a findAndModify as a read then a write of the whole
// document, so none of that holds there: patches of one user are instead
// run one at a time under the user's lease (the one Create's writers and
// Delete take), which holds on every server unless a holder stalls past
// Config.LeaseTimeout. Errors: EUNAVAILABLE.
func (s *Store) SetPreferences(ctx context.Context, userID string, p belfry.PreferencesPatch) (belfry.Preferences, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	release, err := s.holdLease(ctx, userID)
	if err != nil {
		return belfry.Preferences{}, classify("mongodb", err)
	}
	defer release()
	for {
		d, err := s.readPrefs(ctx, userID)
		if err != nil {
			return belfry.Preferences{}, err
		}
		if d == nil {
			def := prefsDoc{User: userID, Default: switches(belfry.AllOn), Categories: map[string]switchesDoc{}, UpdatedAt: belfry.Now(s.now())}
			if _, err := s.prefs.InsertOne(ctx, def); err != nil && !mongo.IsDuplicateKeyError(err) {
				return belfry.Preferences{}, classify("mongodb", err)
			}
			continue
		}
		cur := d.preferences()
		f := bson.D{{Key: "_id", Value: userID}}
		set := bson.D{{Key: "updated_at", Value: belfry.Now(s.now())}}
		var unset bson.D
		put := func(path string, b *bool) {
			if b != nil {
				set = append(set, bson.E{Key: path, Value: *b})
			}
		}
		if p.Default != nil {
			put("default.in_app", p.Default.InApp)
			put("default.push", p.Default.Push)
			put("default.webhook", p.Default.Webhook)
		}
		def := cur.Default
		if p.Default != nil {
			def = p.Default.Apply(def)
		}
		guardDefault := false
		for name, cp := range p.Categories {
			k := categoryPath(name, "")
			_, exists := cur.Categories[name]
			switch {
			case cp == nil:
				unset = append(unset, bson.E{Key: k, Value: ""})
			case exists:
				f = append(f, bson.E{Key: k, Value: bson.D{{Key: "$exists", Value: true}}})
				put(k+".in_app", cp.InApp)
				put(k+".push", cp.Push)
				put(k+".webhook", cp.Webhook)
			default:
				f = append(f, bson.E{Key: k, Value: bson.D{{Key: "$exists", Value: false}}})
				set = append(set, bson.E{Key: k, Value: switches(cp.Apply(def))})
				guardDefault = true
			}
		}
		if guardDefault {
			// The new categories start from the default read: only if it
			// is still that one. (Switches this patch sets are its own.)
			for path, b := range map[string]*bool{"default.in_app": d.Default.InApp,
				"default.push": d.Default.Push, "default.webhook": d.Default.Webhook} {
				if b == nil {
					f = append(f, bson.E{Key: path, Value: bson.D{{Key: "$exists", Value: false}}})
				} else {
					f = append(f, bson.E{Key: path, Value: *b})
				}
			}
		}
		u := bson.D{{Key: "$set", Value: set}}
		if len(unset) > 0 {
			u = append(u, bson.E{Key: "$unset", Value: unset})
		}
		var after prefsDoc
		err = s.prefs.FindOneAndUpdate(ctx, f, u, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // changed meanwhile: plan again
		}
		if err != nil {
			return belfry.Preferences{}, classify("mongodb", err)
		}
		return after.preferences(), nil
	}
}
