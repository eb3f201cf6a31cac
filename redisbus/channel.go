package redisbus

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/belfry/belfry"
)

// Channel names.
//
// A user's channel is the deployment's prefix, which ends with ':', then
// the user id with every ':' written "%3A" and every '%' written "%25":
// "belfry:u:42", "belfry:u:t2%3Abob". So the part after the prefix never
// holds a ':', and the last ':' of a channel ends its prefix: two
// deployments whose prefixes nest ("app:" and "app:t2:") cannot name the
// same channel ("app:t2%3Abob" and "app:t2:bob"), whatever their user ids.
// Redis pub/sub is one namespace for the whole server (the database number
// of the URL does not separate it), so this is what keeps deployments
// apart; the deployment id in each payload (codec.go) is a second guard.
//
// Why this form: user ids are mostly numbers, UUIDs or e-mail addresses,
// whose channels stay the prefix and the id as they are, readable in
// redis-cli and no longer than before. A length field before the id ("3:bob")
// is not enough on its own: with free prefixes "x" + "5:" + "ab1:b" and
// "x5:ab" + "1:" + "b" still meet. Hex doubles the length (a user id may
// take 512 bytes: 128 characters of up to 4 bytes) and hides the id. The
// longest channel is MaxPrefixLen plus 512 bytes.

// MaxPrefixLen is the longest channel prefix, in bytes.
const MaxPrefixLen = 64

// ValidatePrefix checks a channel prefix (Options.Prefix, --redis-prefix):
// 1 to MaxPrefixLen bytes of text without control characters, ending with
// ':'. Errors: EINVALID.
func ValidatePrefix(p string) error {
	switch {
	case p == "" || len(p) > MaxPrefixLen:
		return belfry.Errorf(belfry.EINVALID, "redis prefix must be 1 to %d bytes", MaxPrefixLen)
	case !utf8.ValidString(p) || strings.IndexFunc(p, unicode.IsControl) >= 0:
		return belfry.Errorf(belfry.EINVALID, "redis prefix must be valid text without control characters")
	case !strings.HasSuffix(p, ":"):
		return belfry.Errorf(belfry.EINVALID, "redis prefix must end with ':' (as in belfry:u:), not %q", p)
	}
	return nil
}

// channelName returns the channel of user under prefix. An id without ':'
// and '%' costs one allocation, as a plain concatenation does.
func channelName(prefix, user string) string {
	n := strings.Count(user, ":") + strings.Count(user, "%")
	if n == 0 {
		return prefix + user
	}
	var b strings.Builder
	b.Grow(len(prefix) + len(user) + 2*n)
	b.WriteString(prefix)
	for i := 0; i < len(user); i++ {
		switch c := user[i]; c {
		case ':':
			b.WriteString("%3A")
		case '%':
			b.WriteString("%25")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// userOf returns the user whose channel under prefix is channel, and false
// when channel is no channel of prefix (another prefix, a ':' after the
// prefix, or an escape channelName does not write). It allocates only for
// an id with an escape.
func userOf(prefix, channel string) (string, bool) {
	s, ok := strings.CutPrefix(channel, prefix)
	if !ok || s == "" || strings.IndexByte(s, ':') >= 0 {
		return "", false
	}
	if strings.IndexByte(s, '%') < 0 {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "%3A"):
			b.WriteByte(':')
		case strings.HasPrefix(s[i:], "%25"):
			b.WriteByte('%')
		default:
			return "", false
		}
		i += 2
	}
	return b.String(), true
}
