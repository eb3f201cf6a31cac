package httpapi

import (
	"net/url"
	"strings"
)

// redacted replaces a secret in a logged URI.
const redacted = "REDACTED"

// maxUnescape bounds how many layers of percent-encoding RedactedURI
// looks through (%253F is "?" encoded twice).
const maxUnescape = 3

// secretNames are the parts of a parameter name (lower case) whose value
// is never logged: belfry's own ?token=, and what clients and proxies put
// credentials in (access_token, jwt, api_key, X-API-Key, client_secret,
// password, auth, session ids, signatures).
var secretNames = []string{"token", "jwt", "key", "secret", "passw", "auth", "credential", "session",
	"signature", "bearer"}

// RedactedURI returns the request's path and query for logs, with every
// secret replaced by REDACTED. belfry reads a user's JWT only from
// ?token=, but clients send credentials in other forms too, and those
// must not reach the log either:
//
//   - the value of any parameter whose name, in any case, contains token,
//     jwt, key, secret, passw, auth, credential, session, signature or
//     bearer (token=, access_token=, TOKEN=, api_key=, X-API-Key=, …);
//   - wherever the parameter is: in the query after & or ; (also &amp;),
//     or in the path (/stream;token=…, /stream%3Ftoken=… with an encoded
//     "?", encoded up to three times);
//   - anything that looks like a JWT (eyJ….….…), named or not.
//
// A value ends at the next unencoded &, ;, ? or #: when in doubt, more is
// redacted rather than less. The rest of the URI is logged as received.
func RedactedURI(u *url.URL) string {
	s := u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery {
		s += "?" + u.RawQuery
	}
	return redactSecrets(s)
}

// redactSecrets redacts the secrets of an escaped path and query; see
// RedactedURI.
func redactSecrets(s string) string {
	if !strings.ContainsAny(s, "=%") && !strings.Contains(s, "eyJ") {
		return s // the common case: nothing that can carry a named value
	}
	v := unescapedView(s)
	var small [256]bool
	hide := small[:0]
	if len(v.b) > len(small) {
		hide = make([]bool, len(v.b))
	}
	hide = hide[:len(v.b)] // per byte of the view
	named, jwts := v.markNamedSecrets(hide), v.markJWTs(hide)
	if !named && !jwts {
		return s
	}

	// The original bytes under a hidden view byte, each run as one
	// REDACTED.
	var out strings.Builder
	out.Grow(len(s))
	last := 0 // the end of what has been copied or replaced
	for k := 0; k < len(v.b); k++ {
		if !hide[k] {
			continue
		}
		start := v.start(k)
		for k+1 < len(v.b) && hide[k+1] {
			k++
		}
		out.WriteString(s[last:start])
		out.WriteString(redacted)
		last = v.end(k, len(s))
	}
	out.WriteString(s[last:])
	return out.String()
}

// view is a URI with its percent-encoding undone, each byte knowing where
// it came from. A URI without escapes is its own view (at and raw nil).
type view struct {
	b   string
	at  []int  // at[k]: the offset in the URI where b[k] starts
	raw []bool // raw[k]: b[k] was in the URI as such, not encoded
}

// start returns the offset in the URI of b[k].
func (v *view) start(k int) int {
	if v.at == nil {
		return k
	}
	return v.at[k]
}

// end returns the offset in the URI just after b[k].
func (v *view) end(k, n int) int {
	if k+1 < len(v.b) {
		return v.start(k + 1)
	}
	return n
}

func (v *view) isRaw(k int) bool { return v.raw == nil || v.raw[k] }

// unescapedView undoes up to maxUnescape layers of percent-encoding.
// Malformed escapes are kept as they are.
func unescapedView(s string) view {
	v := view{b: s}
	for range maxUnescape {
		if !hasEscape(v.b) {
			break
		}
		w := view{at: make([]int, 0, len(v.b)), raw: make([]bool, 0, len(v.b))}
		b := make([]byte, 0, len(v.b))
		for k := 0; k < len(v.b); k++ {
			c, raw, at := v.b[k], v.isRaw(k), v.start(k)
			if c == '%' && k+2 < len(v.b) && ishex(v.b[k+1]) && ishex(v.b[k+2]) {
				c, raw = unhexByte(v.b[k+1])<<4|unhexByte(v.b[k+2]), false
				k += 2
			}
			b, w.at, w.raw = append(b, c), append(w.at, at), append(w.raw, raw)
		}
		w.b = string(b)
		v = w
	}
	return v
}

// hasEscape reports whether s holds a well-formed percent escape.
func hasEscape(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0 && i+2 < len(s); {
		if ishex(s[i+1]) && ishex(s[i+2]) {
			return true
		}
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// markNamedSecrets hides the value of every name=value whose name is a
// secret's, and reports whether it hid anything.
func (v *view) markNamedSecrets(hide []bool) bool {
	hid := false
	for k := 0; k < len(v.b); k++ {
		if v.b[k] != '=' {
			continue
		}
		n := k
		for n > 0 && isNameByte(v.b[n-1]) {
			n--
		}
		if !isSecretName(v.b[n:k]) {
			continue
		}
		e := k + 1
		for e < len(v.b) && !(v.isRaw(e) && isValueEnd(v.b[e])) {
			hide[e] = true
			hid = true
			e++
		}
		k = e - 1
	}
	return hid
}

// markJWTs hides every run that looks like a JWT: "eyJ" (the encoding
// of `{"`) and at least two dots, in base64url. It reports whether it
// hid anything.
func (v *view) markJWTs(hide []bool) bool {
	hid := false
	for i := strings.Index(v.b, "eyJ"); i >= 0; {
		e, dots := i, 0
		for e < len(v.b) && (isBase64URL(v.b[e]) || v.b[e] == '.') {
			if v.b[e] == '.' {
				dots++
			}
			e++
		}
		if dots >= 2 {
			for k := i; k < e; k++ {
				hide[k] = true
			}
			hid = true
		}
		j := strings.Index(v.b[e:], "eyJ")
		if j < 0 {
			break
		}
		i = e + j
	}
	return hid
}

// isSecretName reports whether a parameter name contains one of
// secretNames, in any case.
func isSecretName(name string) bool {
	for _, s := range secretNames {
		for i := 0; i+len(s) <= len(name); i++ {
			if strings.EqualFold(name[i:i+len(s)], s) {
				return true
			}
		}
	}
	return false
}

// isNameByte: the bytes of a parameter name, including PHP's a[b] and
// dashed header-like names.
func isNameByte(c byte) bool {
	return isBase64URL(c) || c == '.' || c == '[' || c == ']'
}

func isBase64URL(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// isValueEnd: the unencoded bytes that end a parameter's value.
func isValueEnd(c byte) bool {
	return c == '&' || c == ';' || c == '?' || c == '#'
}

func ishex(c byte) bool { return unhex(c) >= 0 }

func unhexByte(c byte) byte { return byte(unhex(c)) }
