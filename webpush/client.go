package webpush

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/belfry/belfry/internal/retryafter"

	"github.com/belfry/belfry"
)

var _ belfry.PushSender = (*Client)(nil)

// Options configures a Client. Zero values take the defaults noted.
type Options struct {
	// Key signs the VAPID JWTs (see LoadOrCreateKey). Required.
	Key *Key
	// Subject is the VAPID "sub" claim: a mailto: or https:// URL at
	// which the push services' operators can reach belfry's. Required.
	Subject string
	// Policy says which endpoints may be pushed to. Default: the zero
	// Policy (https only, DefaultHosts).
	Policy Policy
	// Timeout bounds each request: connecting, sending, and reading the
	// answer. Default 10s.
	Timeout time.Duration
	// Now is the clock (JWT expiries, Retry-After dates). Default time.Now.
	Now func() time.Time
}

const (
	defaultTimeout = 10 * time.Second
	// maxDiscard is the most of an answer's body that is read (and
	// discarded) so the connection can be used again; push services
	// answer with an empty or a short body.
	maxDiscard = 4 << 10
)

// Client sends Web Push requests (RFC 8030) with VAPID (RFC 8292) and
// encrypted payloads (RFC 8291). It is safe for concurrent use.
type Client struct {
	policy Policy
	signer signer
	now    func() time.Time
	http   *http.Client
}

// New returns a Client. Errors: EINVALID (no Key, or a Subject that is not
// a mailto: or https:// URL).
func New(o Options) (*Client, error) {
	if o.Key == nil {
		return nil, belfry.Errorf(belfry.EINVALID, "web push needs a VAPID key")
	}
	if err := checkSubject(o.Subject); err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Client{
		policy: Policy{Hosts: slices.Clone(o.Policy.Hosts), AllowLoopback: o.Policy.AllowLoopback},
		signer: signer{key: o.Key, subject: o.Subject},
		now:    o.Now,
	}
	dialer := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second, Control: c.policy.control}
	c.http = &http.Client{
		Transport: &http.Transport{
			// No proxy from the environment: the dialer's address check
			// must see the push service's address, not a proxy's.
			Proxy:                  nil,
			DialContext:            dialer.DialContext,
			ForceAttemptHTTP2:      true,
			TLSHandshakeTimeout:    o.Timeout,
			MaxIdleConnsPerHost:    16,
			IdleConnTimeout:        90 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
		},
		Timeout: o.Timeout,
		// A push service answers; it does not redirect. Following a
		// redirect would send the request where the policy never looked.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// Close closes the idle connections. The Client can still be used.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Push encrypts r.Payload for the subscription, signs a VAPID JWT for the
// endpoint's origin and posts the message to the endpoint. Any answer is a
// Delivery, whatever its status (a redirect is not followed). Errors:
// EINVALID (an endpoint the Policy refuses, checked again at dial time
// against the address the host name resolved to; subscription keys
// CheckKeys refuses; a payload over MaxPayload bytes; a negative TTL, an
// Urgency other than very-low, low, normal or high, a Topic that is not
// 1 to 32 base64url characters), EUNAVAILABLE (no answer: the network, a
// timeout, ctx done).
func (c *Client) Push(ctx context.Context, r belfry.PushRequest) (belfry.Delivery, error) {
	u, err := c.policy.parse(r.Subscription.Endpoint)
	if err != nil {
		return belfry.Delivery{}, err
	}
	if err := checkHeaders(r); err != nil {
		return belfry.Delivery{}, err
	}
	ua, auth, err := decodeKeys(r.Subscription.P256DH, r.Subscription.Auth)
	if err != nil {
		return belfry.Delivery{}, err
	}
	body, err := encrypt(r.Payload, ua, auth)
	if err != nil {
		return belfry.Delivery{}, err
	}
	jwt, err := c.signer.token(origin(u), c.now())
	if err != nil {
		return belfry.Delivery{}, err
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Subscription.Endpoint, bytes.NewReader(body))
	if err != nil {
		return belfry.Delivery{}, belfry.Errorf(belfry.EINVALID, "push endpoint is not a usable URL")
	}
	h := req.Header
	h.Set("Authorization", "vapid t="+jwt+", k="+c.signer.key.PublicKey())
	h.Set("Content-Encoding", "aes128gcm")
	h.Set("Content-Type", "application/octet-stream")
	h.Set("TTL", strconv.FormatInt(int64(r.TTL/time.Second), 10))
	if r.Urgency != "" {
		h.Set("Urgency", r.Urgency)
	}
	if r.Topic != "" {
		h.Set("Topic", r.Topic)
	}
	h.Set("User-Agent", "belfry-webpush")

	resp, err := c.http.Do(req)
	if err != nil {
		var refused *dialRefused
		if errors.As(err, &refused) {
			return belfry.Delivery{}, &belfry.Error{Code: belfry.EINVALID, Message: refused.Error(), Err: err}
		}
		return belfry.Delivery{}, belfry.Unavailable("the push service", err)
	}
	// The status is the answer; a body cut short does not change it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDiscard))
	resp.Body.Close()
	return belfry.Delivery{
		Status:     resp.StatusCode,
		RetryAfter: retryafter.Parse(resp.Header.Get("Retry-After"), c.now()),
	}, nil
}

// origin is the JWT audience of an endpoint: its origin (RFC 6454),
// scheme://host[:port], the host in lower case and the port only when it
// is not the scheme's default.
func origin(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if u.Scheme == "https" && port == "443" || u.Scheme == "http" && port == "80" {
		port = ""
	}
	switch {
	case port != "":
		host = net.JoinHostPort(host, port)
	case strings.Contains(host, ":"):
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host
}

// checkHeaders checks the request's TTL, Urgency and Topic (RFC 8030,
// section 5).
func checkHeaders(r belfry.PushRequest) error {
	if r.TTL < 0 {
		return belfry.Errorf(belfry.EINVALID, "push TTL must not be negative")
	}
	switch r.Urgency {
	case "", "very-low", "low", "normal", "high":
	default:
		return belfry.Errorf(belfry.EINVALID, "push urgency must be very-low, low, normal or high, not %q", r.Urgency)
	}
	if len(r.Topic) > 32 {
		return belfry.Errorf(belfry.EINVALID, "push topic must be at most 32 characters")
	}
	for _, ch := range []byte(r.Topic) {
		if !isBase64URL(ch) {
			return belfry.Errorf(belfry.EINVALID, "push topic must be base64url characters (A-Z a-z 0-9 - _)")
		}
	}
	return nil
}

func isBase64URL(ch byte) bool {
	return 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_'
}
