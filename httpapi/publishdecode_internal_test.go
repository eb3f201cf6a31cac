package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/belfry/belfry"
)

// typicalBody is the usual publish: one user, a message, a title, a link.
const typicalBody = `{"user_id":"bench-1","message":"seq=1 t=1733560000000000000","title":"New comment","link":"/posts/1"}`

// publishCases are bodies decodePublishFast reads itself (fast) or
// leaves to encoding/json; either way the answer must be encoding/json's.
var publishCases = []struct {
	body string
	fast bool
}{
	{typicalBody, true},
	{benchBody, true},
	{`{}`, true},
	{" \t\r\n{ \"message\" :\t\"m\" ,\n\"user_id\" : 7 } \n", true},
	{`{"user_id":-0,"message":"m"}`, true},
	{`{"user_id":123456789012345678,"message":"m"}`, true},
	{`{"user_id":"","message":""}`, true},
	{`{"user_ids":["a",2,"a",-3],"message":"m"}`, true},
	{`{"user_ids":[],"message":"m"}`, true},
	{`{"user_ids":null,"user_id":null,"message":"m"}`, true},
	{`{"user_id":"1","message":"m","title":null,"link":null,"category":null,"avatar":null,"push":null}`, true},
	{`{"user_id":"1","message":"m","expires_at":null,"ttl":null,"actions":null}`, true},
	{`{"user_id":"1","message":"m","expires_at":"2026-12-31T23:59:59Z","ttl":3600,"push":"always"}`, true},
	{`{"user_id":"1","message":"m","ttl":-5}`, true},
	{`{"user_id":"1","message":"m","data":null}`, true},
	{`{"user_id":"1","message":"m","data":{"k":[1,-0.5e+3,true,false,null,{"z":"\u00e9\n"}],"":{}} }`, true},
	{`{"user_id":"1","message":"m","data":"x"}`, true},
	{`{"user_id":"1","message":"m","data":[]}`, true},
	{`{"user_id":"1","message":"m","data":12E-1}`, true},
	{`{"user_id":"1","message":"m","actions":[{"id":"ok","label":"OK"},{"id":"v","label":"View","url":"/x"}]}`, true},
	{`{"user_id":"1","message":"m","actions":[]}`, true},
	{`{"user_id":"1","message":"m","actions":[{},{"url":null}]}`, true},
	{`{"user_id":"1","message":"\"\\\/\b\f\n\r\t\u0000\u001f\u00e9\u20ac\ud83d\ude00 caf\u00e9 😀"}`, true},
	{`{"user_id":"\u0031","message":"a\u2028b"}`, true},

	// Left to encoding/json.
	{``, false},
	{`null`, false},
	{`[]`, false},
	{`"x"`, false},
	{`{`, false},
	{`{"user_id":"1","message":"m"`, false},
	{`{"user_id":"1","message":"m"} {}`, false},
	{`{"user_id":"1","message":"m"}}`, false},
	{`{"user_id":"1","message":"m",}`, false},
	{`{"user_id":"1","message":"a","message":"b"}`, false},
	{`{"user_id":"1","message":"a","message":null}`, false},
	{`{"user_id":"1","Message":"m"}`, false},
	{`{"user_id":"1","mess\u0061ge":"m"}`, false},
	{`{"user_id":"1","message":"m","extra":1}`, false},
	{`{"user_id":1e3,"message":"m"}`, false},
	{`{"user_id":1.0,"message":"m"}`, false},
	{`{"user_id":99999999999999999999999,"message":"m"}`, false},
	{`{"user_id":1234567890123456789,"message":"m"}`, false},
	{`{"user_id":01,"message":"m"}`, false},
	{`{"user_id":true,"message":"m"}`, false},
	{`{"user_ids":[null],"message":"m"}`, false},
	{`{"user_ids":"a","message":"m"}`, false},
	{`{"user_id":"1","message":5}`, false},
	{`{"user_id":"1","message":"m","ttl":"5"}`, false},
	{`{"user_id":"1","message":"m","ttl":1.5}`, false},
	{`{"user_id":"1","message":"m","ttl":1e3}`, false},
	{`{"user_id":"1","message":"m","push":1}`, false},
	{`{"user_id":"1","message":"m","actions":[null]}`, false},
	{`{"user_id":"1","message":"m","actions":[{"id":"a","id":"b"}]}`, false},
	{`{"user_id":"1","message":"m","actions":[{"ID":"a"}]}`, false},
	{`{"user_id":"1","message":"m","actions":[{"id":"a","x":1}]}`, false},
	{`{"user_id":"1","message":"m","data":}`, false},
	{`{"user_id":"1","message":"m","data":01}`, false},
	{`{"user_id":"1","message":"m","data":-}`, false},
	{`{"user_id":"1","message":"m","data":1.}`, false},
	{`{"user_id":"1","message":"m","data":1e}`, false},
	{`{"user_id":"1","message":"m","data":tru}`, false},
	{`{"user_id":"1","message":"m","data":{"a"}}`, false},
	{`{"user_id":"1","message":"m","data":{"a":1,}}`, false},
	{`{"user_id":"1","message":"m","data":[1,]}`, false},
	{`{"user_id":"1","message":"m","data":"\x"}`, false},
	{`{"user_id":"1","message":"m","data":"\u12G4"}`, false},
	{`{"user_id":"1","message":"m","data":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`, false},
	{`{"user_id":"1","message":"\u12G4"}`, false},
	{`{"user_id":"1","message":"\ud800"}`, false},
	{`{"user_id":"1","message":"\ud83dx"}`, false},
	{"{\"user_id\":\"1\",\"message\":\"a\tb\"}", false},
	{"{\"user_id\":\"ab\xffcd\",\"message\":\"m\"}", false},
	{"\ufeff{\"user_id\":\"1\",\"message\":\"m\"}", false},
	{"{\"user_id\":\"1\",\"message\":\"m\"}\x00", false},
	{"{\"user_id\":\"1\",\"message\":\"m\"}\v", false},
}

func TestDecodePublishCases(t *testing.T) {
	for _, c := range publishCases {
		b := []byte(c.body)
		var in publishRequest
		if got := validText(b) && decodePublishFast(b, &in); got != c.fast {
			t.Errorf("%q: decodePublishFast %v, want %v", c.body, got, c.fast)
		}
		checkDecode(t, b)
	}
	// And the same next to the largest body, which goes past a first
	// read of 512 bytes.
	pad := strings.Repeat(" ", belfry.MaxBodyBytes-600)
	for _, c := range publishCases[:20] {
		checkDecode(t, []byte(pad+c.body))
	}
}

// FuzzDecodePublish: whenever decodePublishFast reads a body, what it
// reads is what encoding/json reads; and decodePublish answers as
// decodeBody does, the idempotency hash being that of the whole body.
func FuzzDecodePublish(f *testing.F) {
	for _, c := range publishCases {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkDecode(t, b) })
}

// checkDecode compares the fast decoder and decodePublish with
// decodeBody, the encoding/json path, on the body b.
func checkDecode(t *testing.T, b []byte) {
	t.Helper()
	var want publishRequest
	wantErr := decodeBody(httptest.NewRecorder(), publishReq(b), &want)
	var fast publishRequest
	if validText(b) && decodePublishFast(b, &fast) {
		if wantErr != nil {
			t.Fatalf("%q: decodePublishFast read what encoding/json refuses: %v", b, wantErr)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: decodePublishFast read\n%s\nencoding/json\n%s", b, dump(fast), dump(want))
		}
	}
	var got publishRequest
	h := sha256.New()
	err := decodePublish(httptest.NewRecorder(), publishReq(b), &got, h)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("%q: decodePublish %v, decodeBody %v", b, err, wantErr)
	case err == nil:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decodePublish read\n%s\ndecodeBody\n%s", b, dump(got), dump(want))
		}
		if sum := sha256.Sum256(b); !bytes.Equal(h.Sum(nil), sum[:]) {
			t.Fatalf("%q: the hash is not the body's", b)
		}
	case len(b) < 512 && !textFaultAtEnd(b):
		// Within decodeBody's first read of 512 bytes, its text check
		// sees the whole body before the decoder, as decodePublish's
		// does; unless the only fault is a rune or a surrogate pair cut
		// by the body's end, which it finds only at EOF.
		if belfry.ErrorCode(err) != belfry.ErrorCode(wantErr) || belfry.ErrorMessage(err) != belfry.ErrorMessage(wantErr) {
			t.Fatalf("%q: decodePublish %v, decodeBody %v", b, err, wantErr)
		}
	}
}

// textFaultAtEnd reports whether b's only bad text is at its end: a rune
// cut short, or a high surrogate escape not followed by a low one.
func textFaultAtEnd(b []byte) bool {
	var t textReader
	return t.validUTF8(b) && t.validEscapes(b) && !validText(b)
}

// publishReq is a publish request with body b, of known length.
func publishReq(b []byte) *http.Request {
	r := httptest.NewRequest("POST", "/api/notifications", bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// dump shows a publishRequest field by field, pointers followed.
func dump(in publishRequest) string {
	var sb strings.Builder
	v := reflect.ValueOf(in)
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			f = f.Elem()
		}
		if raw, ok := f.Interface().(json.RawMessage); ok && raw != nil {
			fmt.Fprintf(&sb, "%s: %q\n", v.Type().Field(i).Name, raw)
			continue
		}
		fmt.Fprintf(&sb, "%s: %#v\n", v.Type().Field(i).Name, f.Interface())
	}
	return sb.String()
}

// TestDecodePublishBody: the Content-Type, the size limit with the
// length known or not (chunked), and a failed read answer as decodeBody
// does.
func TestDecodePublishBody(t *testing.T) {
	big := []byte(`{"message":"` + strings.Repeat("x", belfry.MaxBodyBytes) + `"}`)
	limit := []byte(`{"message":"m"` + strings.Repeat(" ", belfry.MaxBodyBytes-16) + `}`)
	for _, c := range []struct {
		name string
		req  func() *http.Request
		code string
	}{
		{"text/plain", func() *http.Request {
			r := publishReq([]byte(typicalBody))
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, belfry.EMEDIATYPE},
		{"no Content-Type", func() *http.Request {
			r := publishReq([]byte(typicalBody))
			r.Header.Del("Content-Type")
			return r
		}, belfry.EMEDIATYPE},
		{"charset", func() *http.Request {
			r := publishReq([]byte(typicalBody))
			r.Header.Set("Content-Type", "Application/JSON; charset=utf-8")
			return r
		}, ""},
		{"too large", func() *http.Request { return publishReq(big) }, belfry.ETOOLARGE},
		{"too large, chunked", func() *http.Request { return chunked(publishReq(big)) }, belfry.ETOOLARGE},
		{"at the limit", func() *http.Request { return publishReq(limit) }, ""},
		{"at the limit, chunked", func() *http.Request { return chunked(publishReq(limit)) }, ""},
		{"chunked, one byte at a time", func() *http.Request {
			r := chunked(publishReq([]byte(benchBody)))
			r.Body = io.NopCloser(iotest.OneByteReader(r.Body))
			return r
		}, ""},
		{"empty", func() *http.Request { return publishReq(nil) }, belfry.EINVALID},
		{"cut short", func() *http.Request {
			r := publishReq([]byte(typicalBody))
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader(typicalBody[:20]), iotest.ErrReader(io.ErrUnexpectedEOF)))
			return r
		}, belfry.EINVALID},
		{"read error", func() *http.Request {
			r := publishReq([]byte(typicalBody))
			r.Body = io.NopCloser(iotest.ErrReader(errors.New("connection reset")))
			return r
		}, belfry.EINVALID},
	} {
		var want, got publishRequest
		wantErr := decodeBody(httptest.NewRecorder(), c.req(), &want)
		err := decodePublish(httptest.NewRecorder(), c.req(), &got, nil)
		if belfry.ErrorCode(err) != c.code || belfry.ErrorCode(wantErr) != c.code {
			t.Errorf("%s: decodePublish %v, decodeBody %v, want code %q", c.name, err, wantErr, c.code)
		}
		if belfry.ErrorMessage(err) != belfry.ErrorMessage(wantErr) {
			t.Errorf("%s: decodePublish says %q, decodeBody %q", c.name, belfry.ErrorMessage(err), belfry.ErrorMessage(wantErr))
		}
		if !reflect.DeepEqual(got, want) && err == nil {
			t.Errorf("%s: decodePublish read\n%s\ndecodeBody\n%s", c.name, dump(got), dump(want))
		}
	}
}

// chunked makes r's body of unknown length, as a chunked one is.
func chunked(r *http.Request) *http.Request {
	r.ContentLength = -1
	return r
}

// TestDecodePublishOwnsItsStrings: a request's strings and data do not
// change when the pooled buffer its body was read into takes the next
// body.
func TestDecodePublishOwnsItsStrings(t *testing.T) {
	const a = `{"user_id":"aaaa","message":"aaaa","data":{"a":"aaaa"}}`
	const b = `{"user_id":"bbbb","message":"bbbb","data":{"b":"bbbb"}}`
	for _, first := range []string{a, strings.Replace(a, `"aaaa"`, `"a\u0061aa"`, 1)} {
		var x, y publishRequest
		if err := decodePublish(httptest.NewRecorder(), publishReq([]byte(first)), &x, nil); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if err := decodePublish(httptest.NewRecorder(), publishReq([]byte(b)), &y, nil); err != nil {
				t.Fatal(err)
			}
		}
		if *x.UserID != "aaaa" || x.Message != "aaaa" || string(x.Data) != `{"a":"aaaa"}` {
			t.Fatalf("the first request became\n%s", dump(x))
		}
	}
}

// TestValidText: the whole-body check is the streaming one's rule.
func TestValidText(t *testing.T) {
	for _, c := range textCases {
		if got, want := validText([]byte(c)), goodText([]byte(c)); got != want {
			t.Errorf("validText(%q) = %v, want %v", c, got, want)
		}
	}
}

// TestDecodePublishFastAllocs: the typical body costs two allocations,
// its strings and the user id's pointer.
func TestDecodePublishFastAllocs(t *testing.T) {
	b := []byte(typicalBody)
	n := testing.AllocsPerRun(1000, func() {
		var in publishRequest
		if !decodePublishFast(b, &in) {
			t.Fatal("left to encoding/json")
		}
	})
	if n > 2 {
		t.Fatalf("%v allocations, want 2", n)
	}
}

// BenchmarkDecodePublish measures reading and decoding a publish body,
// by decodeBody (encoding/json, old) and by decodePublish (new): the
// typical body, and benchBody with data, escapes and multi-byte text.
func BenchmarkDecodePublish(b *testing.B) {
	for _, body := range []struct{ name, s string }{{"typical", typicalBody}, {"escapes", benchBody}} {
		for _, path := range []string{"old", "new"} {
			b.Run(body.name+"/"+path, func(b *testing.B) {
				w := httptest.NewRecorder()
				req := httptest.NewRequest("POST", "/api/notifications", nil)
				req.Header.Set("Content-Type", "application/json")
				rd := strings.NewReader(body.s)
				b.SetBytes(int64(len(body.s)))
				b.ReportAllocs()
				for b.Loop() {
					rd.Reset(body.s)
					req.Body = nopBody{rd}
					req.ContentLength = int64(len(body.s))
					if err := decodeWith(path, w, req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// decodeWith decodes req's body into a publishRequest of its own, which
// does not escape unless the path makes it.
func decodeWith(path string, w http.ResponseWriter, req *http.Request) error {
	if path == "old" {
		var in publishRequest
		return decodeBody(w, req, &in)
	}
	var in publishRequest
	return decodePublish(w, req, &in, nil)
}
