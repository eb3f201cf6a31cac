package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// fastWriter is the http.ResponseWriter of a fast request. The answer is
// kept until the handler returns, then written with its head in one
// write(2); a publish's answer is small.
type fastWriter struct {
	fc     *fastConn
	h      http.Header
	status int
	body   []byte
	out    []byte

	dateSec int64 // the second date was formatted for
	date    []byte
}

var _ http.ResponseWriter = (*fastWriter)(nil)

func (w *fastWriter) reset() {
	clear(w.h)
	w.status = 0
	w.body = w.body[:0]
}

func (w *fastWriter) Header() http.Header { return w.h }

func (w *fastWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
}

func (w *fastWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.body = append(w.body, b...)
	return len(b), nil
}

// finish writes the answer, with Connection: close when closing.
func (w *fastWriter) finish(closing bool) error {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	b := append(w.out[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(w.status)...)
	b = append(b, "\r\n"...)
	for k, vs := range w.h {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Connection", "Date":
			continue
		}
		if !validToken(k) {
			continue
		}
		for _, v := range vs {
			b = appendHeader(b, k, v)
		}
	}
	if vs := w.h["Date"]; len(vs) > 0 {
		b = appendHeader(b, "Date", vs[0])
	} else {
		b = append(b, "Date: "...)
		b = append(b, w.httpDate()...)
		b = append(b, "\r\n"...)
	}
	if bodyAllowed(w.status) {
		if _, ok := w.h["Content-Type"]; !ok && len(w.body) > 0 {
			b = appendHeader(b, "Content-Type", http.DetectContentType(w.body))
		}
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(w.body)), 10)
		b = append(b, "\r\n"...)
	}
	if closing {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, w.body...)
	err := w.fc.write(b)
	// Keep the buffers for the next answer unless one was unusually large.
	if cap(b) <= 64<<10 {
		w.out = b[:0]
	} else {
		w.out, w.body = nil, nil
	}
	return err
}

// appendHeader appends "k: v\r\n", with any CR or LF in v turned into a
// space as net/http does, so a value cannot start another header.
func appendHeader(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	b = append(b, v...)
	return append(b, "\r\n"...)
}

// httpDate is the Date header's value, formatted once a second.
func (w *fastWriter) httpDate() []byte {
	now := time.Now()
	if s := now.Unix(); s != w.dateSec || w.date == nil {
		w.dateSec = s
		w.date = now.UTC().AppendFormat(w.date[:0], http.TimeFormat)
	}
	return w.date
}

// bodyAllowed: 1xx, 204 and 304 answers have no body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
