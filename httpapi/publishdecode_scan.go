package httpapi

import (
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON that fastDec reads: strings decoded into its builder, the
// integers of ids and ttl, and any value skipped over (data), checked
// as strictly as encoding/json's scanner checks it.

// list reads the rest of an array after its '[', calling elem for each
// element.
func (d *fastDec) list(elem func() bool) bool {
	d.ws()
	if d.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if more, ok := d.next(']'); !more {
			return ok
		}
	}
}

// key reads an object key without escapes and returns its bytes; nil
// for anything else.
func (d *fastDec) key() []byte {
	if !d.eat('"') {
		return nil
	}
	start := d.i
	for ; d.i < len(d.b); d.i++ {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return d.b[start : d.i-1]
		case c == '\\' || c < 0x20:
			return nil
		}
	}
	return nil
}

// str reads a string and returns its value: on the second reading a
// slice of sb, on the first "" (only its length is counted).
func (d *fastDec) str() (string, bool) {
	if !d.eat('"') {
		return "", false
	}
	start := 0
	if d.sb != nil {
		start = d.sb.Len()
	}
	lit := d.i // the start of the bytes not yet put
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			d.put(d.b[lit:d.i])
			d.i++
			if d.sb == nil {
				return "", true
			}
			return d.sb.String()[start:], true
		case c == '\\':
			d.put(d.b[lit:d.i])
			if !d.escape() {
				return "", false
			}
			lit = d.i
		case c < 0x20:
			return "", false
		default:
			d.i++
		}
	}
	return "", false
}

// escape reads the escape at d.i and puts what it stands for. A
// surrogate escape must be half of a pair.
func (d *fastDec) escape() bool {
	b := d.b[d.i:]
	if len(b) < 2 {
		return false
	}
	var c byte
	switch b[1] {
	case '"', '\\', '/':
		c = b[1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r := hex4(b[2:])
		n := 6
		if utf16.IsSurrogate(r) {
			if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
				return false
			}
			r = utf16.DecodeRune(r, hex4(b[8:]))
			n = 12
		}
		if r < 0 || r == utf8.RuneError {
			return false // a bad escape, or a pair that is not one
		}
		var buf [utf8.UTFMax]byte
		d.put(utf8.AppendRune(buf[:0], r))
		d.i += n
		return true
	default:
		return false
	}
	d.put([]byte{c})
	d.i += 2
	return true
}

// hex4 returns the value of the 4 hex digits b starts with, or -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		v := unhex(c)
		if v < 0 {
			return -1
		}
		r = r<<4 | v
	}
	return r
}

// put counts p among the strings' bytes and, on the second reading,
// writes it to sb; it returns what it wrote.
func (d *fastDec) put(p []byte) string {
	d.need += len(p)
	if d.sb == nil || len(p) == 0 {
		return ""
	}
	start := d.sb.Len()
	d.sb.Write(p)
	return d.sb.String()[start:]
}

// int reads an integer without fraction or exponent that surely fits an
// int64 (at most 18 digits): what encoding/json reads into ttl.
func (d *fastDec) int() (int64, bool) {
	i := d.i
	neg := i < len(d.b) && d.b[i] == '-'
	if neg {
		i++
	}
	start := i
	var n int64
	for ; i < len(d.b) && '0' <= d.b[i] && d.b[i] <= '9'; i++ {
		n = n*10 + int64(d.b[i]-'0')
	}
	digits := i - start
	if digits == 0 || digits > 18 || d.b[start] == '0' && digits > 1 {
		return 0, false
	}
	if i < len(d.b) && (d.b[i] == '.' || d.b[i] == 'e' || d.b[i] == 'E') {
		return 0, false
	}
	d.i = i
	if neg {
		n = -n
	}
	return n, true
}

// skip reads any JSON value, nested at most maxDataDepth deep.
func (d *fastDec) skip(depth int) bool {
	switch d.peek() {
	case '"':
		return d.skipStr()
	case '{':
		if depth == maxDataDepth {
			return false
		}
		d.i++
		d.ws()
		if d.eat('}') {
			return true
		}
		for {
			if !d.skipStr() {
				return false
			}
			d.ws()
			if !d.eat(':') {
				return false
			}
			d.ws()
			if !d.skip(depth + 1) {
				return false
			}
			if more, ok := d.next('}'); !more {
				return ok
			}
		}
	case '[':
		if depth == maxDataDepth {
			return false
		}
		d.i++
		return d.list(func() bool { return d.skip(depth + 1) })
	case 't':
		return d.lit("true")
	case 'f':
		return d.lit("false")
	case 'n':
		return d.lit("null")
	}
	return d.number()
}

// skipStr reads a string, checking its escapes but not decoding them.
func (d *fastDec) skipStr() bool {
	if !d.eat('"') {
		return false
	}
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return true
		case c == '\\':
			if d.i+1 >= len(d.b) {
				return false
			}
			switch d.b[d.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i += 2
			case 'u':
				if hex4(d.b[d.i+2:]) < 0 {
					return false
				}
				d.i += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			d.i++
		}
	}
	return false
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fastDec) number() bool {
	d.eat('-')
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case '1' <= c && c <= '9':
		d.digits()
	default:
		return false
	}
	if d.eat('.') && d.digits() == 0 {
		return false
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if d.digits() == 0 {
			return false
		}
	}
	return true
}

func (d *fastDec) digits() int {
	start := d.i
	for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i - start
}

// null reads a null if one comes next.
func (d *fastDec) null() bool {
	return d.peek() == 'n' && d.lit("null")
}

func (d *fastDec) lit(s string) bool {
	if len(d.b)-d.i < len(s) || string(d.b[d.i:d.i+len(s)]) != s {
		return false
	}
	d.i += len(s)
	return true
}

// ws skips JSON's white space.
func (d *fastDec) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next byte, 0 at the end.
func (d *fastDec) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// colon reads what follows the key f of an object, the colon and the
// white space around it, and marks f in seen; false for a key already
// seen (encoding/json keeps the last, so such a body takes the slow
// path) or no colon.
func (d *fastDec) colon(seen *int, f int) bool {
	if *seen&f != 0 {
		return false
	}
	*seen |= f
	d.ws()
	if !d.eat(':') {
		return false
	}
	d.ws()
	return true
}

// next reads what follows a member or an element: the closing byte
// (more false, ok true), or a comma and the white space after it (more
// and ok true); anything else is an error (both false).
func (d *fastDec) next(close byte) (more, ok bool) {
	d.ws()
	if d.eat(close) {
		return false, true
	}
	if !d.eat(',') {
		return false, false
	}
	d.ws()
	return true, true
}

// eat reads c if it comes next.
func (d *fastDec) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}
