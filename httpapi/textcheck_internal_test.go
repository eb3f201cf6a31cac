package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// goodText is the whole-body rule textReader checks in a stream: valid
// UTF-8, and every \u escape of a surrogate half paired.
func goodText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	wantLow := false
	for i := 0; i < len(b); i++ {
		if wantLow && b[i] != '\\' {
			return false
		}
		if b[i] != '\\' {
			continue
		}
		if i+1 >= len(b) {
			return !wantLow
		}
		if b[i+1] != 'u' {
			if wantLow {
				return false
			}
			i++
			continue
		}
		var r rune
		n := 0
		for n < 4 && i+2+n < len(b) && unhex(b[i+2+n]) >= 0 {
			r = r<<4 | unhex(b[i+2+n])
			n++
		}
		if n < 4 { // malformed: the decoder's to refuse
			if i+2+n >= len(b) {
				return !wantLow
			}
			wantLow = false
			i += 1 + n + 1
			continue
		}
		i += 5
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if wantLow {
				return false
			}
			wantLow = true
		case r >= 0xDC00 && r < 0xE000:
			if !wantLow {
				return false
			}
			wantLow = false
		default:
			if wantLow {
				return false
			}
		}
	}
	return !wantLow
}

// readAllText reads b through a textReader in chunks of size n (0: at
// once) and reports whether it passed.
func readAllText(b []byte, n int) bool {
	var r io.Reader = bytes.NewReader(b)
	if n > 0 {
		r = &chunkReader{b: b, n: n}
	}
	t := newTextReader(r)
	defer t.release()
	_, err := io.Copy(io.Discard, t)
	if err != nil && !errors.Is(err, errBadText) {
		panic(err)
	}
	return err == nil
}

// chunkReader hands out b n bytes at a time, so runes and escapes are cut
// at every place.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[k:]
	return k, nil
}

var textCases = []string{
	``, `{}`, `"abc"`, "caf\u00e9", "😀", "\xff", "ab\xe2\x82", "\xe2\x82\xac", "\xed\xa0\x80", "\xc0\xaf",
	"\xf4\x90\x80\x80", "\xf0\x9f\x98", `"\ud83d\ude00"`, `"\ud800"`, `"\udc00"`, `"\ud800\ud800"`,
	`"\ud800x"`, `"\ud800\n"`, `"\\ud800"`, `"\\\ud800"`, `"\\\\ud800"`, `"\u12G4"`, `"\ud80"`,
	`"\ud800\u12G4"`, `"\ufffd"`, `"\u0041\u00e9"`, `\`, `"\ud83d\ude00\ud83d\ude00x"`, `"\uD83D\uDE00"`, `\ud800\`, `"\ud800\u12`,
}

func TestTextReaderChunks(t *testing.T) {
	for _, c := range textCases {
		want := goodText([]byte(c))
		for n := 0; n <= 8; n++ {
			if got := readAllText([]byte(c), n); got != want {
				t.Errorf("%q in chunks of %d: %v, want %v", c, n, got, want)
			}
		}
		r := newTextReader(iotest.OneByteReader(strings.NewReader(c)))
		_, err := io.Copy(io.Discard, r)
		r.release()
		if (err == nil) != want {
			t.Errorf("%q one byte at a time: %v, want good=%v", c, err, want)
		}
	}
}

// FuzzTextReader: however the body is cut into reads, textReader agrees
// with the whole-body rule.
func FuzzTextReader(f *testing.F) {
	for _, c := range textCases {
		f.Add([]byte(c), uint8(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, n uint8) {
		want := goodText(b)
		if got := readAllText(b, int(n%8)); got != want {
			t.Fatalf("%q in chunks of %d: %v, want %v", b, n%8, got, want)
		}
	})
}

// BenchmarkTextCheck measures the text check alone on the body of
// BenchmarkDecodeBody: what it adds to each publish.
func BenchmarkTextCheck(b *testing.B) {
	body := []byte(benchBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		t := newTextReader(nil)
		if !t.validUTF8(body) || !t.validEscapes(body) {
			b.Fatal("refused")
		}
		t.release()
	}
}

// benchBody is a typical publish body, with escapes and multi-byte text.
const benchBody = `{"user_id":"42","message":"Your export is ready – caf\u00e9 😀",` +
	`"title":"Export","link":"/exports/9","category":"exports","data":{"export_id":9,"name":"r\u00e9sum\u00e9"}}`

// BenchmarkDecodeBody measures decodeBody alone on a typical publish body:
// the part of the publish path that reads and checks the request.
func BenchmarkDecodeBody(b *testing.B) {
	const body = benchBody
	w := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/notifications", nil)
	req.Header.Set("Content-Type", "application/json")
	rd := strings.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		req.Body = nopBody{rd}
		req.ContentLength = int64(len(body))
		var in publishRequest
		if err := decodeBody(w, req, &in); err != nil {
			b.Fatal(err)
		}
	}
}

// nopBody is an io.ReadCloser over a reader the benchmark reuses.
type nopBody struct{ *strings.Reader }

func (nopBody) Close() error { return nil }
