package belfry

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Channels are a user's switches for one category (or their default): where
// a notification of it may reach them.
type Channels struct {
	InApp   bool `json:"in_app"`  // stored in the inbox and streamed
	Push    bool `json:"push"`    // Web Push
	Webhook bool `json:"webhook"` // escalation webhooks to the app
}

// AllOn is the default of every switch.
var AllOn = Channels{InApp: true, Push: true, Webhook: true}

// Preferences are a user's switches: Default for every category not in
// Categories, and for notifications without a category.
type Preferences struct {
	Default    Channels            `json:"default"`
	Categories map[string]Channels `json:"categories"`
}

// DefaultPreferences are those of a user who never set any: all on.
func DefaultPreferences() Preferences {
	return Preferences{Default: AllOn, Categories: map[string]Channels{}}
}

// For returns the switches that apply to a notification of category
// ("" for none).
func (p *Preferences) For(category string) Channels {
	if c, ok := p.Categories[category]; ok && category != "" {
		return c
	}
	return p.Default
}

// ChannelsPatch changes some switches; nil ones keep their value.
type ChannelsPatch struct {
	InApp   *bool `json:"in_app"`
	Push    *bool `json:"push"`
	Webhook *bool `json:"webhook"`
}

// Apply returns c with the patch's switches set.
func (p *ChannelsPatch) Apply(c Channels) Channels {
	if p.InApp != nil {
		c.InApp = *p.InApp
	}
	if p.Push != nil {
		c.Push = *p.Push
	}
	if p.Webhook != nil {
		c.Webhook = *p.Webhook
	}
	return c
}

// PreferencesPatch is the body of PUT …/preferences. A category given as
// null is removed (it follows the default again); a category new to the
// user starts from the user's default before the patch's switches apply.
type PreferencesPatch struct {
	Default    *ChannelsPatch            `json:"default"`
	Categories map[string]*ChannelsPatch `json:"categories"`
}

// MaxPreferenceCategories bounds the categories of one preferences patch.
const MaxPreferenceCategories = 100

// Validate checks the category names. Errors: EINVALID.
func (p *PreferencesPatch) Validate() error {
	if len(p.Categories) > MaxPreferenceCategories {
		return Errorf(EINVALID, "at most %d categories per request", MaxPreferenceCategories)
	}
	for name := range p.Categories {
		if err := ValidateCategory(name); err != nil {
			return err
		}
	}
	return nil
}

// Apply returns prefs with the patch applied (prefs is not changed). It is
// the one rule every store follows.
func (p *PreferencesPatch) Apply(prefs Preferences) Preferences {
	out := Preferences{Default: prefs.Default, Categories: make(map[string]Channels, len(prefs.Categories)+len(p.Categories))}
	for k, v := range prefs.Categories {
		out.Categories[k] = v
	}
	if p.Default != nil {
		out.Default = p.Default.Apply(out.Default)
	}
	for name, cp := range p.Categories {
		if cp == nil {
			delete(out.Categories, name)
			continue
		}
		c, ok := out.Categories[name]
		if !ok {
			c = out.Default
		}
		out.Categories[name] = cp.Apply(c)
	}
	return out
}

// ValidateCategory checks a category name: 1 to MaxCategoryLen bytes of
// valid text without control characters. Errors: EINVALID.
func ValidateCategory(name string) error {
	if strings.TrimSpace(name) == "" {
		return Errorf(EINVALID, "category must not be empty")
	}
	if len(name) > MaxCategoryLen || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return Errorf(EINVALID, "category must be at most %d bytes of text without control characters", MaxCategoryLen)
	}
	return nil
}
