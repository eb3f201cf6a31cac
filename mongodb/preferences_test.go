package mongodb

import (
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func ptr(b bool) *bool { return &b }

// TestPreferencesCategoryNames: names with '.', '$' and '%' (and what
// looks like an escape) are stored escaped and read back exactly.
func TestPreferencesCategoryNames(t *testing.T) {
	s := openOne(t)
	ctx := t.Context()
	names := []string{"a.b", "$set", "100%", "a%2Eb", "ünï.cödé$"}
	patch := belfry.PreferencesPatch{Categories: map[string]*belfry.ChannelsPatch{}}
	for _, n := range names {
		patch.Categories[n] = &belfry.ChannelsPatch{Push: ptr(false)}
	}
	got, err := s.SetPreferences(ctx, "alice", patch)
	if err != nil {
		t.Fatal(err)
	}
	want := belfry.DefaultPreferences()
	for _, n := range names {
		want.Categories[n] = belfry.Channels{InApp: true, Push: false, Webhook: true}
	}
	if !samePrefs(got, want) {
		t.Fatalf("SetPreferences = %+v, want %+v", got, want)
	}
	if read, err := s.Preferences(ctx, "alice"); err != nil || !samePrefs(read, want) {
		t.Fatalf("Preferences = %+v, %v; want %+v", read, err, want)
	}
	var raw struct {
		Categories map[string]bson.RawValue `bson:"categories"`
	}
	if err := s.prefs.FindOne(ctx, bson.D{{Key: "_id", Value: "alice"}}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a%2Eb", "%24set", "100%25", "a%252Eb"} {
		if _, ok := raw.Categories[k]; !ok {
			t.Errorf("no stored key %q among %v", k, slices.Collect(maps.Keys(raw.Categories)))
		}
	}
}

// TestPreferencesPatch: absent switches keep their value, a new category
// starts from the default (as patched by the same call), null removes.
func TestPreferencesPatch(t *testing.T) {
	s := openOne(t)
	ctx := t.Context()
	if p, err := s.Preferences(ctx, "nobody"); err != nil || !samePrefs(p, belfry.DefaultPreferences()) {
		t.Fatalf("Preferences of a user who set none = %+v, %v", p, err)
	}
	set := func(p belfry.PreferencesPatch) belfry.Preferences {
		t.Helper()
		got, err := s.SetPreferences(ctx, "alice", p)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	set(belfry.PreferencesPatch{Categories: map[string]*belfry.ChannelsPatch{"old": {Webhook: ptr(false)}}})
	got := set(belfry.PreferencesPatch{
		Default:    &belfry.ChannelsPatch{Push: ptr(false)},
		Categories: map[string]*belfry.ChannelsPatch{"billing": {InApp: ptr(false)}, "old": {InApp: ptr(false)}}})
	want := belfry.Preferences{Default: belfry.Channels{InApp: true, Webhook: true},
		Categories: map[string]belfry.Channels{
			"billing": {Webhook: true},             // from the patched default, in_app off
			"old":     {Push: true, InApp: false}}} // its own push, webhook kept off
	if !samePrefs(got, want) {
		t.Fatalf("after the patch: %+v, want %+v", got, want)
	}
	got = set(belfry.PreferencesPatch{Categories: map[string]*belfry.ChannelsPatch{"old": nil, "gone": nil}})
	delete(want.Categories, "old")
	if !samePrefs(got, want) {
		t.Fatalf("after removing old: %+v, want %+v", got, want)
	}
}

// TestPreferencesConcurrentSwitches: patches of different switches of one
// user, at once, on one Store or on two, all stay.
func TestPreferencesConcurrentSwitches(t *testing.T) {
	ss := openN(t, 2, testConfig())
	ctx := t.Context()
	run := func(user string, stores []*Store) belfry.Preferences {
		var wg sync.WaitGroup
		patches := []belfry.PreferencesPatch{
			{Default: &belfry.ChannelsPatch{Push: ptr(false)}},
			{Default: &belfry.ChannelsPatch{Webhook: ptr(false)}},
			{Categories: map[string]*belfry.ChannelsPatch{"a": {InApp: ptr(false)}}},
			{Categories: map[string]*belfry.ChannelsPatch{"b": {Push: ptr(true)}}},
		}
		for i, p := range patches {
			wg.Go(func() {
				if _, err := stores[i%len(stores)].SetPreferences(ctx, user, p); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		p, err := stores[0].Preferences(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	check := func(p belfry.Preferences) bool {
		a, b := p.Categories["a"], p.Categories["b"]
		return p.Default == (belfry.Channels{InApp: true}) && len(p.Categories) == 2 &&
			!a.InApp && b.Push && b.InApp
	}
	for i := range 5 {
		if p := run("one-store-"+string(rune('a'+i)), ss[:1]); !check(p) {
			t.Fatalf("one Store: %+v; a patch was lost", p)
		}
	}
	for i := range 5 {
		if p := run("two-stores-"+string(rune('a'+i)), ss); !check(p) {
			t.Fatalf("two Stores: %+v; a patch was lost", p)
		}
	}
}

func samePrefs(a, b belfry.Preferences) bool {
	return a.Default == b.Default && maps.Equal(a.Categories, b.Categories)
}
