package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pubRequest is one publish: its sequence number and the users it names
// (indexes into the user list).
type pubRequest struct {
	seq   int32
	users []int
}

// publisher sends publish requests, each of its goroutines over a keep-alive
// connection of its own (httpConn).
type publisher struct {
	target    httpTarget
	path      *Template // the request target: the URL's path and query
	body      *Template // one user
	multi     *Template // several users
	apiKey    string
	users     []string
	usersJSON []string // each user as a JSON string, for {{users}}
}

// pubStats is what a publishing phase did.
type pubStats struct {
	Sent, OK, Failed int
	Notifications    int // notifications in acknowledged requests
	Latency          Hist
	Start, End       time.Time
	Returned         map[int32]int64 // seq → unix nanos its request returned (acknowledged only)
	Acked            []pubRequest
	Errors           []string
}

func newPublisher(c *Config, users []string) (*publisher, error) {
	p := &publisher{apiKey: c.APIKey, users: users, usersJSON: make([]string, len(users))}
	var err error
	if p.body, err = ParseTemplate(c.PublishBody); err != nil {
		return nil, err
	}
	if p.multi, err = ParseTemplate(c.PublishBodyMulti); err != nil {
		return nil, err
	}
	for i, u := range users {
		b, _ := json.Marshal(u) // a string always encodes
		p.usersJSON[i] = string(b)
	}
	tmpl, err := ParseTemplate(c.PublishURL)
	if err != nil {
		return nil, err
	}
	u, err := checkURL(tmpl.Render(Vars{"user": users[0]}), c.AllowRemote)
	if err != nil {
		return nil, err
	}
	if err := p.parseURL(c.PublishURL, u); err != nil {
		return nil, err
	}
	hdrs := []string{"Host: " + u.Host, "User-Agent: belfry-bench", "Content-Type: application/json"}
	for _, h := range c.PublishHdrs {
		t, err := ParseTemplate(h)
		if err != nil {
			return nil, err
		}
		if hdrs, err = setHeader(hdrs, t.Render(Vars{"api_key": c.APIKey})); err != nil {
			return nil, fmt.Errorf("publish header %q: %w", h, err)
		}
	}
	for _, h := range hdrs {
		p.target.lines = append(p.target.lines, h+"\r\n"...)
		if k, v, _ := strings.Cut(h, ":"); strings.EqualFold(k, "Connection") {
			p.target.close = hasToken([]byte(v), "close")
		}
	}
	return p, nil
}

// parseURL sets the address to dial and the request target template from
// the publish URL template raw (u: raw rendered once). Placeholders may be
// in the path and the query only: the connections are per host.
func (p *publisher) parseURL(raw string, u *url.URL) error {
	if u.Scheme != "http" {
		return fmt.Errorf("the publish URL must be http:// (the lean publish client does not speak TLS)")
	}
	if u.User != nil {
		return fmt.Errorf("publish URL %q: no user info in the URL; give an Authorization header with --publish-header", raw)
	}
	host, rest := raw[len("http://"):], ""
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host, rest = host[:i], host[i:]
	}
	if strings.Contains(host, "{{") {
		return fmt.Errorf("publish URL %q: placeholders only in the path and the query", raw)
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 { // fragments do not go on the wire
		rest = rest[:i]
	}
	if !strings.HasPrefix(rest, "/") {
		rest = "/" + rest
	}
	var err error
	if p.path, err = ParseTemplate(rest); err != nil {
		return err
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	p.target.addr = net.JoinHostPort(u.Hostname(), port)
	return nil
}

// setHeader sets the header line h ("Name: value") in hdrs, replacing a
// line of the same name. Content-Length and Transfer-Encoding are the
// client's own.
func setHeader(hdrs []string, h string) ([]string, error) {
	k, v, ok := strings.Cut(h, ":")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") || strings.ContainsAny(v, "\r\n\x00") {
		return nil, fmt.Errorf("want \"Name: value\"")
	}
	if strings.EqualFold(k, "Content-Length") || strings.EqualFold(k, "Transfer-Encoding") {
		return nil, fmt.Errorf("%s is set by bench", k)
	}
	line := k + ": " + v
	for i, old := range hdrs {
		if name, _, _ := strings.Cut(old, ":"); strings.EqualFold(name, k) {
			hdrs[i] = line
			return hdrs, nil
		}
	}
	return append(hdrs, line), nil
}

// appendPayload appends the message that identifies a publish to the
// stream clients: "seq=<n> t=<unix nanos>".
func appendPayload(b []byte, seq int32, sent int64) []byte {
	b = append(b, "seq="...)
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, " t="...)
	return strconv.AppendInt(b, sent, 10)
}

// run sends reqs with conc concurrent requests, paced at rate requests per
// second when rate > 0, until all are sent or ctx ends.
func (p *publisher) run(ctx context.Context, reqs []pubRequest, conc int, rate float64) *pubStats {
	st := &pubStats{Returned: make(map[int32]int64, len(reqs)), Start: time.Now()}
	var (
		next atomic.Int64
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	for range min(conc, len(reqs)) {
		wg.Go(func() {
			s := &sender{conn: newHTTPConn(ctx, &p.target)}
			defer s.conn.close()
			for ctx.Err() == nil {
				k := next.Add(1) - 1
				if k >= int64(len(reqs)) {
					return
				}
				if rate > 0 {
					at := st.Start.Add(time.Duration(float64(k) / rate * float64(time.Second)))
					if d := time.Until(at); d > 0 {
						t := time.NewTimer(d)
						select {
						case <-t.C:
						case <-ctx.Done():
							t.Stop()
							return
						}
					}
				}
				r := reqs[k]
				t0 := time.Now()
				err := p.send(s, r)
				done := time.Now()
				st.Latency.Record(done.Sub(t0))
				mu.Lock()
				st.Sent++
				if err != nil {
					st.Failed++
					if len(st.Errors) < 5 {
						st.Errors = append(st.Errors, err.Error())
					}
				} else {
					st.OK++
					st.Notifications += len(r.users)
					st.Returned[r.seq] = done.UnixNano()
					st.Acked = append(st.Acked, r)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	st.End = time.Now()
	return st
}

// sender is one publishing goroutine's connection and scratch buffers.
type sender struct {
	conn         *httpConn
	target, body []byte
}

// send makes one publish request.
func (p *publisher) send(s *sender, r pubRequest) error {
	sent := time.Now().UnixNano()
	t := p.body
	if len(r.users) > 1 {
		t = p.multi
	}
	s.body = p.render(s.body[:0], t, r, sent)
	s.target = p.render(s.target[:0], p.path, r, sent)
	for _, b := range s.target {
		if b <= ' ' || b == 0x7f {
			return fmt.Errorf("publish URL %q: a space or control character", truncate(s.target, 200))
		}
	}
	status, msg, err := s.conn.post(s.target, s.body)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return fmt.Errorf("publish answered %d: %s", status, truncate(bytes.TrimSpace(msg), 200))
	}
	return nil
}

// render appends t rendered for r to b. It is Template.Append without the
// Vars map, which would be an allocation or more per request. {{token}}
// renders empty: a publish has no stream token.
func (p *publisher) render(b []byte, t *Template, r pubRequest, sent int64) []byte {
	for _, part := range t.parts {
		switch part.key {
		case "":
			b = append(b, part.lit...)
		case "payload":
			b = appendPayload(b, r.seq, sent)
		case "seq":
			b = strconv.AppendInt(b, int64(r.seq), 10)
		case "user":
			b = append(b, p.users[r.users[0]]...)
		case "users":
			b = append(b, '[')
			for i, u := range r.users {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, p.usersJSON[u]...)
			}
			b = append(b, ']')
		case "api_key":
			b = append(b, p.apiKey...)
		}
	}
	return b
}
