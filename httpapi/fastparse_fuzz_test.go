package httpapi

import (
	"bufio"
	"bytes"
	"net/http"
	"reflect"
	"testing"
)

// FuzzFastParseHead: a request head the fast path accepts is one that
// net/http reads the same way: same method, target, host, headers and
// body length. Anything the two could disagree on (the stuff of request
// smuggling) must be handed over instead.
func FuzzFastParseHead(f *testing.F) {
	for _, s := range []string{
		"POST /api/notifications HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n",
		"POST /api/notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer k\r\nContent-Length: 7\r\n\r\n",
		"POST /apps/1/events?auth_key=k&auth_signature=s HTTP/1.1\r\nHost: x:80\r\nContent-Length: 0\r\n\r\n",
		"POST /api/notifications HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST /api/notifications HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"POST /api/notifications HTTP/1.1\r\nhost: x\r\nconnection: Close\r\nx-a:  b \t\r\n\r\n",
		"POST /api/notifications HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
		"POST /api/notifications HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Length: 00\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	l := &FastListener{}
	fc := &fastConn{l: l, remote: "127.0.0.1:1", tmpl: &http.Request{}}
	f.Fuzz(func(t *testing.T, head []byte) {
		end := bytes.Index(head, []byte("\r\n\r\n"))
		if end < 0 || len(head) > fastBufBytes {
			return
		}
		head = head[:end+4]
		if fast, _ := fastStart(head); !fast {
			return
		}
		got := fc.parseHead(head)
		if got == nil {
			return // handed over: net/http decides
		}
		want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			t.Fatalf("the fast path took a head net/http refuses (%v):\n%q", err, head)
		}
		if got.Method != want.Method || got.RequestURI != want.RequestURI || got.URL.String() != want.URL.String() ||
			got.Host != want.Host || got.ContentLength != want.ContentLength || got.Close != want.Close {
			t.Fatalf("read differently:\n%q\nfast: %s %s %s host=%q len=%d close=%v\nnet/http: %s %s %s host=%q len=%d close=%v",
				head, got.Method, got.RequestURI, got.URL, got.Host, got.ContentLength, got.Close,
				want.Method, want.RequestURI, want.URL, want.Host, want.ContentLength, want.Close)
		}
		if !reflect.DeepEqual(map[string][]string(got.Header), map[string][]string(want.Header)) {
			t.Fatalf("headers differ:\n%q\nfast: %q\nnet/http: %q", head, got.Header, want.Header)
		}
		if want.TransferEncoding != nil {
			t.Fatalf("the fast path took a %v body:\n%q", want.TransferEncoding, head)
		}
	})
}
