package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// call is one API call: every attempt sends the same method, URL, headers
// and body bytes (an idempotent publish depends on the bytes: belfry
// compares a repeated key's body byte for byte).
type call struct {
	method, path string // path: escaped, starting with "/"
	query        url.Values
	body         []byte      // nil: no body
	header       http.Header // extra headers (Idempotency-Key)
	// idempotent calls are retried after network errors and every
	// retryable status; the others after 429 and 503 only.
	idempotent bool
}

// answer is a complete 2xx answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// maxAnswer bounds an answer's body: a publish to 1000 users with large
// data answers a few tens of MiB at most.
const maxAnswer = 64 << 20

// do runs the call with retries (see RetryPolicy). It returns the last
// attempt's error when it gives up: an *Error for an error answer,
// else a network error; when ctx ends during a wait, ctx's error joined
// with the last attempt's.
func (c *Client) do(ctx context.Context, k call) (*answer, error) {
	for attempt := 1; ; attempt++ {
		a, err, retryable := c.attempt(ctx, k)
		if err == nil {
			return a, nil
		}
		if ctx.Err() != nil || !retryable || attempt >= c.retry.MaxAttempts {
			return nil, err
		}
		d, ok := c.delay(attempt, err)
		if !ok {
			return nil, err
		}
		if dl, has := ctx.Deadline(); has && c.now().Add(d).After(dl) {
			return nil, err // the wait would outlast the call: say why now
		}
		if serr := c.sleep(ctx, d); serr != nil {
			return nil, fmt.Errorf("%w (last attempt: %w)", serr, err)
		}
	}
}

// attempt sends the call once and reads the whole answer. retryable says
// whether the error may go away on another attempt of this call.
func (c *Client) attempt(ctx context.Context, k call) (a *answer, err error, retryable bool) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	u := c.base + k.path
	if len(k.query) > 0 {
		u += "?" + k.query.Encode()
	}
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body) // sets GetBody: the transport may resend it
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("belfry client: %w", err), false
	}
	for name, vs := range k.header {
		req.Header[name] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if k.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err, k.idempotent
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("belfry client: %s %s: reading the answer: %w", k.method, k.path, err), k.idempotent
	}
	if len(b) > maxAnswer {
		return nil, fmt.Errorf("belfry client: %s %s: the answer is over %d bytes", k.method, k.path, maxAnswer), false
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, errorOf(resp.StatusCode, resp.Header, b, c.now()), retryableStatus(resp.StatusCode, k.idempotent)
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: b}, nil, false
}

// delay is the wait after the given failed attempt (1 for the first):
// "equal jitter" backoff, between half and all of BaseDelay·2^(attempt-1)
// capped at MaxDelay; after an answer with Retry-After, that long plus up
// to half the backoff of jitter (so refused clients do not all come back
// at once), within MaxDelay. ok is false when Retry-After is longer than
// MaxDelay: the call gives up.
func (c *Client) delay(attempt int, err error) (d time.Duration, ok bool) {
	backoff := c.retry.BaseDelay
	for i := 1; i < attempt && backoff < c.retry.MaxDelay; i++ {
		backoff *= 2
	}
	backoff = min(backoff, c.retry.MaxDelay)
	jitter := rand.N(backoff/2 + 1)
	d = backoff/2 + jitter
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		if e.RetryAfter > c.retry.MaxDelay {
			return 0, false
		}
		d = min(e.RetryAfter+jitter, c.retry.MaxDelay)
	}
	return d, true
}
