package belfry

import (
	"reflect"
	"testing"
)

func TestPreferencesPatch(t *testing.T) {
	off := false
	p := DefaultPreferences()
	// A new category starts from the default; only its given switch changes.
	p = (&PreferencesPatch{Categories: map[string]*ChannelsPatch{"billing": {InApp: &off}}}).Apply(p)
	want := Channels{InApp: false, Push: true, Webhook: true}
	if got := p.For("billing"); got != want {
		t.Fatalf("billing = %+v, want %+v", got, want)
	}
	// The default changes; the category keeps its own switches.
	p = (&PreferencesPatch{Default: &ChannelsPatch{Push: &off}}).Apply(p)
	if got := p.For("comments"); got != (Channels{InApp: true, Push: false, Webhook: true}) {
		t.Fatalf("comments (the default) = %+v", got)
	}
	if got := p.For(""); got != p.Default {
		t.Fatalf("no category = %+v, want the default", got)
	}
	if got := p.For("billing"); got != want {
		t.Fatalf("billing after a default change = %+v, want %+v", got, want)
	}
	// Absent switches keep their value.
	p = (&PreferencesPatch{Categories: map[string]*ChannelsPatch{"billing": {Webhook: &off}}}).Apply(p)
	if got := p.For("billing"); got != (Channels{InApp: false, Push: true, Webhook: false}) {
		t.Fatalf("billing = %+v", got)
	}
	// null removes the category: it follows the default again.
	before := p
	p = (&PreferencesPatch{Categories: map[string]*ChannelsPatch{"billing": nil}}).Apply(p)
	if _, ok := p.Categories["billing"]; ok || p.For("billing") != p.Default {
		t.Fatalf("billing after null = %+v", p.Categories)
	}
	if _, ok := before.Categories["billing"]; !ok {
		t.Fatal("Apply changed the preferences it was given")
	}
}

func TestPreferencesPatchValidate(t *testing.T) {
	for _, name := range []string{"", " ", string(make([]byte, MaxCategoryLen+1)), "a\nb", "\xff"} {
		p := PreferencesPatch{Categories: map[string]*ChannelsPatch{name: {}}}
		if err := p.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("category %q: %v, want %s", name, err, EINVALID)
		}
	}
	p := PreferencesPatch{Categories: map[string]*ChannelsPatch{"billing": nil, "Comments & mentions": {}}}
	if err := p.Validate(); err != nil {
		t.Errorf("good names: %v", err)
	}
	if !reflect.DeepEqual(DefaultPreferences().Default, AllOn) {
		t.Error("the default default is not all on")
	}
}
