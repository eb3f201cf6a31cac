package bench

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Template is a string with {{name}} placeholders, parsed once and rendered
// many times. Placeholders:
//
//	{{user}}     the user id
//	{{users}}    a JSON array of user ids (multi-user publishes)
//	{{token}}    the user's token (minted with --jwt-secret or read from --tokens)
//	{{payload}}  the message that identifies a publish: "seq=<n> t=<unix nanos>"
//	{{seq}}      the publish's sequence number
//	{{api_key}}  the publisher's API key
type Template struct {
	parts []tmplPart
}

type tmplPart struct {
	lit string // literal text, when name is ""
	key string // placeholder name
}

// Vars are the values of a Template's placeholders.
type Vars map[string]string

var knownVars = map[string]bool{"user": true, "users": true, "token": true,
	"payload": true, "seq": true, "api_key": true}

// ParseTemplate parses s. An unknown or unterminated placeholder is an
// error, so a typo does not go out on the wire.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{}
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			t.parts = append(t.parts, tmplPart{lit: s})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tmplPart{lit: s[:i]})
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("template %q: unterminated {{", s)
		}
		name := strings.TrimSpace(s[i+2 : i+j])
		if !knownVars[name] {
			return nil, fmt.Errorf("template: unknown placeholder {{%s}} (known: user, users, token, payload, seq, api_key)", name)
		}
		t.parts = append(t.parts, tmplPart{key: name})
		s = s[i+j+2:]
	}
	return t, nil
}

// MustParseTemplate is ParseTemplate for constant templates; it panics on
// an error.
func MustParseTemplate(s string) *Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// Uses reports whether the template has the placeholder name.
func (t *Template) Uses(name string) bool {
	for _, p := range t.parts {
		if p.key == name {
			return true
		}
	}
	return false
}

// Append appends the template rendered with v to b. A placeholder without
// a value renders empty.
func (t *Template) Append(b []byte, v Vars) []byte {
	for _, p := range t.parts {
		if p.key == "" {
			b = append(b, p.lit...)
		} else {
			b = append(b, v[p.key]...)
		}
	}
	return b
}

// Render returns the template rendered with v.
func (t *Template) Render(v Vars) string { return string(t.Append(nil, v)) }

// jsonStrings encodes ss as a JSON array of strings.
func jsonStrings(ss []string) string {
	b, _ := json.Marshal(ss) // []string always encodes
	return string(b)
}
