package httpapi

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"unicode/utf8"
)

// errBadText is what a textReader returns once the body it reads holds
// invalid UTF-8 or an unpaired surrogate escape.
var errBadText = errors.New("invalid UTF-8 or an unpaired surrogate escape in the body")

// textReader passes a JSON request body through to the decoder and fails
// the read (errBadText) at the first invalid UTF-8 sequence or unpaired
// surrogate escape (\ud800 alone, \udc00 alone, a high surrogate followed
// by anything but a low one). encoding/json would turn each into U+FFFD,
// so two different user ids, say "ab\xffcd" and "ab\xfecd", would become
// one user, and a message would be stored other than it was sent.
//
// It looks at each byte once as it streams by, without a copy of the
// body: utf8.Valid over each chunk (a rune cut at a chunk's end is held
// back and finished with the next chunk), and a scan from backslash to
// backslash for \u escapes. Backslashes occur only inside strings in
// valid JSON, and an escaped backslash (\\) consumes the byte after it,
// so \\u is a backslash then a "u", not an escape.
type textReader struct {
	r       io.Reader
	pend    [utf8.UTFMax]byte // the start of a rune cut at the last chunk's end
	npend   int
	afterBS bool // the last byte was an escaping backslash
	hexLeft int  // hex digits still to read of a \u escape
	code    rune // the \u escape's value so far
	wantLow bool // a high surrogate escape came last: a low one must follow
	bad     bool
}

// textReaders reuses textReaders, so the check costs the publish path no
// allocation.
var textReaders = sync.Pool{New: func() any { return new(textReader) }}

// newTextReader returns a textReader over r; give it back with release
// once the decoder reading from it is done.
func newTextReader(r io.Reader) *textReader {
	t := textReaders.Get().(*textReader)
	*t = textReader{r: r}
	return t
}

func (t *textReader) release() {
	t.r = nil
	textReaders.Put(t)
}

// validText reports whether b, a whole body, passes the rule textReader
// checks as the body streams by: the same code, given one chunk.
func validText(b []byte) bool {
	var t textReader
	return t.validUTF8(b) && t.validEscapes(b) && t.npend == 0 && !t.wantLow
}

// Read reads from the body and fails with errBadText, then and on every
// later call, at the first chunk that holds bad text.
func (t *textReader) Read(p []byte) (int, error) {
	if t.bad {
		return 0, errBadText
	}
	n, err := t.r.Read(p)
	if n > 0 && (!t.validUTF8(p[:n]) || !t.validEscapes(p[:n])) {
		t.bad = true
	}
	if err == io.EOF && (t.npend > 0 || t.wantLow) {
		t.bad = true // the body ends inside a rune or a surrogate pair
	}
	if t.bad {
		return 0, errBadText
	}
	return n, err
}

// validUTF8 reports whether p, following the chunks before it, is valid
// UTF-8 so far.
func (t *textReader) validUTF8(p []byte) bool {
	for t.npend > 0 && len(p) > 0 {
		t.pend[t.npend] = p[0]
		t.npend++
		p = p[1:]
		// FullRune is true once the rune is complete or can no longer
		// be: Valid then tells which. By UTFMax bytes it is always true.
		if utf8.FullRune(t.pend[:t.npend]) {
			if !utf8.Valid(t.pend[:t.npend]) {
				return false
			}
			t.npend = 0
		}
	}
	if t.npend > 0 {
		return true // p ended before the held rune did
	}
	cut := len(p)
	for i := len(p) - 1; i >= 0 && i > len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(p[:cut]) {
		return false
	}
	t.npend = copy(t.pend[:], p[cut:])
	return true
}

// validEscapes reports whether the \u escapes in p, following the chunks
// before it, pair their surrogates so far. A malformed escape (\u12G4) is
// left to the decoder, which refuses it as a syntax error.
func (t *textReader) validEscapes(p []byte) bool {
	for i := 0; i < len(p); {
		switch c := p[i]; {
		case t.hexLeft > 0:
			v := unhex(c)
			if v < 0 {
				t.hexLeft, t.wantLow = 0, false
				break
			}
			t.code = t.code<<4 | v
			t.hexLeft--
			if t.hexLeft == 0 && !t.pairs(t.code) {
				return false
			}
		case t.afterBS:
			t.afterBS = false
			if c == 'u' {
				t.hexLeft, t.code = 4, 0
			} else if t.wantLow {
				return false // \ud800\n
			}
		case t.wantLow:
			if c != '\\' {
				return false // \ud800x or \ud800"
			}
			t.afterBS = true
		default:
			j := bytes.IndexByte(p[i:], '\\')
			if j < 0 {
				return true
			}
			i += j
			t.afterBS = true
		}
		i++
	}
	return true
}

// pairs takes the value of a complete \u escape and reports whether the
// surrogates so far pair up.
func (t *textReader) pairs(r rune) bool {
	switch {
	case r >= 0xD800 && r < 0xDC00: // high: a low one must come next
		if t.wantLow {
			return false
		}
		t.wantLow = true
	case r >= 0xDC00 && r < 0xE000: // low: only right after a high one
		if !t.wantLow {
			return false
		}
		t.wantLow = false
	default:
		if t.wantLow {
			return false
		}
	}
	return true
}

func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}
