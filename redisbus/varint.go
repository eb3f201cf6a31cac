package redisbus

import "time"

// The primitives of the binary form (codec.go): ints are zigzag varints,
// lengths and counts uvarints, a string its length then its bytes, a time
// its Unix seconds (varint) then nanoseconds (uvarint).

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendVarint(b []byte, v int64) []byte {
	return appendUvarint(b, uint64(v<<1)^uint64(v>>63))
}

func appendString(b []byte, s string) []byte {
	return append(appendUvarint(b, uint64(len(s))), s...)
}

func appendTime(b []byte, t time.Time) []byte {
	return appendUvarint(appendVarint(b, t.Unix()), uint64(t.Nanosecond()))
}

// appendCount appends the length of an optional list or map: 0 for nil,
// else n+1, so that an empty one and none stay apart.
func appendCount(b []byte, n int, isNil bool) []byte {
	if isNil {
		return append(b, 0)
	}
	return appendUvarint(b, uint64(n)+1)
}

// reader decodes the binary form. Strings it returns share the payload's
// memory. After any error bad is set and every read returns a zero value.
type reader struct {
	s   string
	i   int
	bad bool
}

func (r *reader) byte() byte {
	if r.i >= len(r.s) {
		r.bad = true
		return 0
	}
	c := r.s[r.i]
	r.i++
	return c
}

func (r *reader) uvarint() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		if r.i >= len(r.s) {
			r.bad = true
			return 0
		}
		c := r.s[r.i]
		r.i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.bad = true
	return 0
}

func (r *reader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *reader) take(n uint64) string {
	if r.bad || n > uint64(len(r.s)-r.i) {
		r.bad = true
		return ""
	}
	s := r.s[r.i : r.i+int(n)]
	r.i += int(n)
	return s
}

func (r *reader) string() string { return r.take(r.uvarint()) }

func (r *reader) bytes(n uint64) []byte { return []byte(r.take(n)) }

func (r *reader) time() time.Time {
	sec := r.varint()
	nsec := r.uvarint()
	if nsec >= 1e9 {
		r.bad = true
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// count reads what appendCount wrote: ok is false for nil. Each element
// takes at least minBytes, so a count the rest of the payload cannot hold
// is refused before anything is allocated for it.
func (r *reader) count(minBytes int) (n int, ok bool) {
	c := r.uvarint()
	if c == 0 || r.bad {
		return 0, false
	}
	if c-1 > uint64((len(r.s)-r.i)/minBytes) {
		r.bad = true
		return 0, false
	}
	return int(c - 1), true
}
