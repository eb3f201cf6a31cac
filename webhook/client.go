package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/belfry/belfry/internal/retryafter"

	"github.com/belfry/belfry"
)

// DefaultTimeout bounds a delivery when Client.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// DefaultUserAgent is the User-Agent when Client.UserAgent is empty.
const DefaultUserAgent = "belfry"

// maxDrain is how much of a response body Deliver reads (and discards), so
// that the connection can be reused after a short answer; a longer body is
// cut off and its connection closed.
const maxDrain = 64 << 10

// Client delivers webhooks to one endpoint, signed with one key or several.
// Its fields are set before its first use and not changed after; Deliver may
// be called from many goroutines.
type Client struct {
	// URL is the app's endpoint, http or https. Required.
	URL string
	// Keys are the signing keys (ParseSecret decodes them), the current one
	// first. Each message carries one signature per key in its
	// webhook-signature header, space-separated: to rotate a secret, give
	// the receiver's old key and the new one until every receiver has the
	// new one, then drop the old. At least one is required.
	Keys [][]byte
	// UserAgent is sent as the User-Agent header; DefaultUserAgent
	// ("belfry") when empty. "belfry/1.4.0" style.
	UserAgent string
	// Timeout bounds a whole delivery: connecting, sending, waiting for
	// the answer and reading it. DefaultTimeout (10 s) when zero.
	Timeout time.Duration
	// Transport sends the requests; http.DefaultTransport when nil. Set it
	// to control how the endpoint is reached (a proxy, a dialer that
	// refuses private addresses, TLS settings).
	Transport http.RoundTripper
	// Now is the clock that an HTTP-date Retry-After is measured against;
	// time.Now when nil.
	Now func() time.Time
}

var _ belfry.WebhookSender = (*Client)(nil)

// New returns a Client for endpoint (an absolute http or https URL) that
// signs with each of secrets (see ParseSecret), the current one first.
// Errors: EINVALID, with the reason, for a bad URL or secret, or none.
func New(endpoint string, secrets ...string) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, belfry.Errorf(belfry.EINVALID, "webhook URL %q: want an absolute http or https URL", endpoint)
	}
	if len(secrets) == 0 {
		return nil, belfry.Errorf(belfry.EINVALID, "webhook: no signing secret")
	}
	c := &Client{URL: endpoint}
	for _, s := range secrets {
		k, err := ParseSecret(s)
		if err != nil {
			return nil, &belfry.Error{Code: belfry.EINVALID, Message: err.Error()}
		}
		c.Keys = append(c.Keys, k)
	}
	return c, nil
}

// Deliver posts body to c.URL with Content-Type application/json and the
// Standard Webhooks headers webhook-id (id), webhook-timestamp (at, in unix
// seconds; now when at is zero) and webhook-signature (one signature per
// key). It returns the status of the answer, whatever it is, and its
// Retry-After; a redirect is not followed (a 3xx is returned like any other
// status, as the specification asks). At most 64 KiB of the response body
// is read, and discarded.
//
// Errors: EUNAVAILABLE when no answer came (the endpoint refused or reset
// the connection, TLS failed, c.Timeout passed, ctx ended; Err holds the
// cause); EINVALID for an id that cannot be a webhook-id (empty, a '.', a
// space or a non-ASCII byte); a plain error (EINTERNAL) for a Client with
// no URL or no key.
func (c *Client) Deliver(ctx context.Context, id string, at time.Time, body []byte) (belfry.Delivery, error) {
	if c.URL == "" || len(c.Keys) == 0 {
		return belfry.Delivery{}, fmt.Errorf("webhook: the client needs a URL and a signing key")
	}
	if !validID(id) {
		return belfry.Delivery{}, belfry.Errorf(belfry.EINVALID, "webhook id %q: want visible ASCII without '.'", id)
	}
	if at.IsZero() {
		at = c.now()
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return belfry.Delivery{}, fmt.Errorf("webhook: the client's URL: %w", err)
	}
	// Set as written in the specification (lower case); Header.Set would
	// send "Webhook-Id".
	req.Header["webhook-id"] = []string{id}
	req.Header["webhook-timestamp"] = []string{strconv.FormatInt(at.Unix(), 10)}
	req.Header["webhook-signature"] = []string{signatures(c.Keys, id, at, body)}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.userAgent())

	hc := http.Client{Transport: c.Transport, CheckRedirect: noRedirect}
	resp, err := hc.Do(req)
	if err != nil {
		return belfry.Delivery{}, &belfry.Error{Code: belfry.EUNAVAILABLE, Message: "the webhook endpoint did not answer", Err: err}
	}
	// The status is the answer; what follows it does not matter, so an
	// error while draining is ignored.
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
	return belfry.Delivery{
		Status:     resp.StatusCode,
		RetryAfter: retryafter.Parse(resp.Header.Get("Retry-After"), c.now()),
	}, nil
}

// noRedirect makes http.Client return a 3xx as it is.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Client) userAgent() string {
	if c.UserAgent != "" {
		return c.UserAgent
	}
	return DefaultUserAgent
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
