package storetest

import (
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/belfry/belfry"
)

// samePrefs compares preferences; a nil and an empty Categories are the
// same.
func samePrefs(a, b belfry.Preferences) bool {
	return a.Default == b.Default && maps.Equal(a.Categories, b.Categories)
}

func wantPrefs(t *testing.T, what string, got, want belfry.Preferences) {
	t.Helper()
	if !samePrefs(got, want) {
		t.Fatalf("%s: preferences %+v, want %+v", what, got, want)
	}
}

func testPreferencesDefault(t *testing.T, s belfry.Store, u users) {
	wantPrefs(t, "Preferences of a new user", prefs(t, s, u.id("alice")), belfry.DefaultPreferences())
}

func testPreferencesPatch(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	f, tr := false, true
	cur := belfry.DefaultPreferences()
	for i, p := range []belfry.PreferencesPatch{
		{Default: &belfry.ChannelsPatch{Push: &f}},
		// A new category starts from the default, push off.
		{Categories: map[string]*belfry.ChannelsPatch{"billing": {InApp: &f}}},
		// The default changes; billing keeps its own switches.
		{Default: &belfry.ChannelsPatch{Push: &tr, Webhook: &f}},
		{Categories: map[string]*belfry.ChannelsPatch{"billing": {Webhook: &f}, "social": {}, "système/💳": {Push: &f}}},
		{}, // changes nothing
		{Categories: map[string]*belfry.ChannelsPatch{"billing": nil, "never-set": nil}},
		{Default: &belfry.ChannelsPatch{InApp: &f, Push: &f, Webhook: &tr},
			Categories: map[string]*belfry.ChannelsPatch{"social": {InApp: &tr}, "new": {Webhook: &f}}},
	} {
		cur = p.Apply(cur)
		wantPrefs(t, fmt.Sprintf("SetPreferences #%d", i+1), setPrefs(t, s, alice, p), cur)
		wantPrefs(t, fmt.Sprintf("Preferences after #%d", i+1), prefs(t, s, alice), cur)
	}
	wantPrefs(t, "another user's preferences", prefs(t, s, bob), belfry.DefaultPreferences())
	// Removing every category and restoring the default is the default.
	back := belfry.PreferencesPatch{Default: &belfry.ChannelsPatch{InApp: &tr, Push: &tr, Webhook: &tr},
		Categories: map[string]*belfry.ChannelsPatch{}}
	for name := range cur.Categories {
		back.Categories[name] = nil
	}
	wantPrefs(t, "SetPreferences back to the default", setPrefs(t, s, alice, back), belfry.DefaultPreferences())
}

// Concurrent patches of different switches of one user must all survive:
// SetPreferences reads, applies and writes atomically.
func testPreferencesConcurrent(t *testing.T, s belfry.Store, u users) {
	concurrentPrefs(t, []belfry.Store{s}, u.id("alice"))
}

func concurrentPrefs(t *testing.T, ss []belfry.Store, user string) {
	const n = 12
	f := false
	var wg sync.WaitGroup
	for i := range n {
		s := ss[i%len(ss)]
		wg.Go(func() {
			var p belfry.PreferencesPatch
			switch i {
			case 0:
				p.Default = &belfry.ChannelsPatch{Push: &f}
			case 1:
				p.Default = &belfry.ChannelsPatch{Webhook: &f}
			default:
				p.Categories = map[string]*belfry.ChannelsPatch{fmt.Sprint("c", i): {InApp: &f}}
			}
			if _, err := s.SetPreferences(ctx(t), user, p); err != nil {
				t.Errorf("SetPreferences #%d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	got := prefs(t, ss[0], user)
	if got.Default != (belfry.Channels{InApp: true}) {
		t.Fatalf("after concurrent patches the default is %+v, want in-app only", got.Default)
	}
	if len(got.Categories) != n-2 {
		t.Fatalf("after %d concurrent category patches: %d categories (%v)", n-2, len(got.Categories), got.Categories)
	}
	for i := 2; i < n; i++ {
		// Push and webhook depend on whether the default changed first.
		if c, ok := got.Categories[fmt.Sprint("c", i)]; !ok || c.InApp {
			t.Fatalf("category c%d after concurrent patches: %+v, %v; want in-app off", i, c, ok)
		}
	}
}
