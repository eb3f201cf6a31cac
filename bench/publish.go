package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
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

// publisher sends publish requests over a few keep-alive connections.
type publisher struct {
	client  *http.Client
	url     *Template
	body    *Template // one user
	multi   *Template // several users
	headers []string  // rendered "Name: value"
	apiKey  string
	users   []string
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
	p := &publisher{apiKey: c.APIKey, users: users}
	var err error
	if p.url, err = ParseTemplate(c.PublishURL); err != nil {
		return nil, err
	}
	if _, err := checkURL(p.url.Render(Vars{"user": users[0]}), c.AllowRemote); err != nil {
		return nil, err
	}
	if p.body, err = ParseTemplate(c.PublishBody); err != nil {
		return nil, err
	}
	if p.multi, err = ParseTemplate(c.PublishBodyMulti); err != nil {
		return nil, err
	}
	for _, h := range c.PublishHdrs {
		t, err := ParseTemplate(h)
		if err != nil {
			return nil, err
		}
		r := t.Render(Vars{"api_key": c.APIKey})
		if !strings.Contains(r, ":") {
			return nil, fmt.Errorf("publish header %q: want \"Name: value\"", h)
		}
		p.headers = append(p.headers, r)
	}
	tr := &http.Transport{MaxIdleConns: c.Publishers * 2, MaxIdleConnsPerHost: c.Publishers * 2,
		IdleConnTimeout: 30 * time.Second, DisableCompression: true}
	p.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return p, nil
}

// payload is the message that identifies a publish to the stream clients.
func payload(seq int32, sent int64) string {
	return "seq=" + strconv.Itoa(int(seq)) + " t=" + strconv.FormatInt(sent, 10)
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
			var body []byte
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
				var err error
				body, err = p.send(ctx, body[:0], r)
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

// send makes one publish request; body is a scratch buffer it returns.
func (p *publisher) send(ctx context.Context, body []byte, r pubRequest) ([]byte, error) {
	start := time.Now()
	v := Vars{"payload": payload(r.seq, start.UnixNano()), "seq": strconv.Itoa(int(r.seq)),
		"api_key": p.apiKey, "user": p.users[r.users[0]]}
	t := p.body
	if len(r.users) > 1 {
		ids := make([]string, len(r.users))
		for i, u := range r.users {
			ids[i] = p.users[u]
		}
		v["users"] = jsonStrings(ids)
		t = p.multi
	}
	body = t.Append(body, v)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url.Render(v), bytes.NewReader(body))
	if err != nil {
		return body, err
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range p.headers {
		k, val, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(val))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return body, err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return body, fmt.Errorf("publish answered %d: %s", resp.StatusCode, truncate(bytes.TrimSpace(msg), 200))
	}
	return body, nil
}
