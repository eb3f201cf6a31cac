package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls one belfry server with one API key. It is safe for
// concurrent use.
type Client struct {
	base    string // scheme://host[/prefix], without a trailing slash
	apiKey  string
	hc      *http.Client
	timeout time.Duration
	retry   RetryPolicy
	ua      string
	sleep   func(ctx context.Context, d time.Duration) error
	now     func() time.Time
}

// RetryPolicy bounds the retries of one call. Zero fields take the
// defaults noted.
type RetryPolicy struct {
	// MaxAttempts is the most attempts of one call, the first included.
	// Default 4; 1 turns retries off.
	MaxAttempts int
	// BaseDelay is the backoff before the second attempt; it doubles for
	// each further one, up to MaxDelay. Default 200ms.
	BaseDelay time.Duration
	// MaxDelay caps every wait. A Retry-After longer than MaxDelay is not
	// waited for: the call returns the *Error, whose RetryAfter says when
	// to try again (a job queue can reschedule with it). Default 30s.
	MaxDelay time.Duration
}

// Defaults of RetryPolicy and of the options.
const (
	DefaultMaxAttempts = 4
	DefaultBaseDelay   = 200 * time.Millisecond
	DefaultMaxDelay    = 30 * time.Second
	DefaultTimeout     = 30 * time.Second
	DefaultUserAgent   = "belfry-go-client/1"
)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends the requests with hc (its transport, proxy, TLS
// settings and overall Timeout). Default: a new http.Client on
// http.DefaultTransport.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout bounds each attempt, the answer's body included (a call
// with retries may take longer; bound it with its context). An attempt
// that times out counts as a network error. Default 30s; 0 or less: no
// bound but the context's.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithRetry sets the retry policy (see RetryPolicy for the defaults).
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithUserAgent sets the User-Agent header. Default DefaultUserAgent.
func WithUserAgent(ua string) Option { return func(c *Client) { c.ua = ua } }

// WithSleep replaces the wait between attempts: sleep must wait d or until
// ctx ends, and then return ctx.Err() if it ended. Tests pass one that
// records d and returns at once. Default: a timer.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = sleep }
}

// New returns a client of the belfry server at baseURL (for example
// "https://belfry.example.com", or with a path prefix when belfry is
// mounted under one) that authenticates with apiKey, one of the server's
// --api-key values.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("belfry client: base URL %q must be an absolute http(s) URL", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("belfry client: base URL %q must have no query or fragment", baseURL)
	}
	if apiKey == "" {
		return nil, fmt.Errorf("belfry client: the API key is empty")
	}
	c := &Client{base: strings.TrimRight(u.String(), "/"), apiKey: apiKey, timeout: DefaultTimeout,
		ua: DefaultUserAgent, sleep: sleepCtx, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.retry.MaxAttempts <= 0 {
		c.retry.MaxAttempts = DefaultMaxAttempts
	}
	if c.retry.BaseDelay <= 0 {
		c.retry.BaseDelay = DefaultBaseDelay
	}
	if c.retry.MaxDelay <= 0 {
		c.retry.MaxDelay = DefaultMaxDelay
	}
	return c, nil
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
