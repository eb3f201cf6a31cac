package httpapi

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/belfry/belfry"
)

// pusherMaxBody bounds a Pusher request body: a batch of 10 events of
// 16 KiB data each (the most MaxDataBytes allows), quotes escaped, fits.
const pusherMaxBody = 512 << 10

// pusherRequest authenticates a Pusher request as Pusher's HTTP API does
// and returns its body. In order: the app id of the path (404), the query
// (auth_key, auth_timestamp, auth_version 1.0 and auth_signature, the
// HMAC-SHA256 hex digest, keyed with the secret, of "POST\n<path>\n<every
// other query parameter, keys lower-cased and sorted, as key=value joined
// by &, unescaped>"; 401), the timestamp within 600 s of the server's
// clock (401), the key's publish rate (429), the body size (413), its
// MD5 against body_md5 (401) and its encoding, UTF-8 (400). A bad
// signature is charged to the client address like any unrecognized
// credential (Config.AuthFailRate). Errors: ENOTFOUND, EINVALID,
// EUNAUTHORIZED, ERATELIMIT, ETOOLARGE.
func (s *Server) pusherRequest(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	p := s.pusher
	if r.PathValue("app_id") != p.cfg.AppID {
		return nil, belfry.Errorf(belfry.ENOTFOUND, "unknown app_id %q", r.PathValue("app_id"))
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, belfry.Errorf(belfry.EINVALID, "the query string is malformed")
	}
	params := make(map[string]string, len(q))
	for k, vs := range q {
		lk := strings.ToLower(k)
		if _, dup := params[lk]; dup || len(vs) != 1 {
			return nil, belfry.Errorf(belfry.EUNAUTHORIZED, "query parameter %s is given more than once", lk)
		}
		params[lk] = vs[0]
	}
	for _, name := range []string{"auth_key", "auth_timestamp", "auth_version", "auth_signature"} {
		if params[name] == "" {
			return nil, belfry.Errorf(belfry.EUNAUTHORIZED, "%s is required", name)
		}
	}
	if subtle.ConstantTimeCompare([]byte(params["auth_key"]), []byte(p.cfg.Key)) != 1 {
		return nil, s.pusherAuthFailed(r, belfry.Errorf(belfry.EUNAUTHORIZED, "unknown auth_key"))
	}
	if params["auth_version"] != "1.0" {
		return nil, belfry.Errorf(belfry.EUNAUTHORIZED, "auth_version must be 1.0")
	}
	signed := pusherStringToSign(r.Method, r.URL.Path, params)
	if !hmac.Equal([]byte(strings.ToLower(params["auth_signature"])), []byte(pusherSign(p.cfg.Secret, signed))) {
		return nil, s.pusherAuthFailed(r, belfry.Errorf(belfry.EUNAUTHORIZED,
			"invalid auth_signature: expected the HMAC-SHA256 hex digest, keyed with the app secret, of %q", signed))
	}
	now := s.now().Unix()
	ts, err := strconv.ParseInt(params["auth_timestamp"], 10, 64)
	if err != nil || ts < now-pusherMaxTimestampSkew || ts > now+pusherMaxTimestampSkew {
		return nil, belfry.Errorf(belfry.EUNAUTHORIZED,
			"auth_timestamp %q is not within %d s of the server's time (%d): check the clock", params["auth_timestamp"], pusherMaxTimestampSkew, now)
	}
	if p.lim != nil && !p.lim.AllowN(s.now(), 1) {
		wait, _ := emptyFor(p.lim, s.now())
		s.metrics.rateLimited.WithLabelValues("publish").Inc()
		return nil, rateLimited("pusher publish limit", "this Pusher key publishes too fast", wait)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, pusherMaxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, belfry.Errorf(belfry.ETOOLARGE, "the body must be at most %d KiB", pusherMaxBody>>10)
		}
		return nil, belfry.Errorf(belfry.EINVALID, "reading the body: %v", err)
	}
	sum, hasSum := params["body_md5"]
	if len(body) > 0 && !hasSum {
		return nil, belfry.Errorf(belfry.EUNAUTHORIZED, "body_md5 is required with a body")
	}
	if hasSum {
		got := md5.Sum(body)
		if !strings.EqualFold(sum, hex.EncodeToString(got[:])) {
			return nil, belfry.Errorf(belfry.EUNAUTHORIZED, "body_md5 does not match the body")
		}
	}
	if !utf8.Valid(body) {
		return nil, belfry.Errorf(belfry.EINVALID, "the body must be UTF-8")
	}
	return body, nil
}

// pusherStringToSign is what auth_signature signs: the method, the path
// and the query parameters but auth_signature, sorted by key.
func pusherStringToSign(method, path string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "auth_signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(strings.ToUpper(method))
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

// pusherSign is the lower-case hex HMAC-SHA256 of s keyed with secret.
func pusherSign(secret, s string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// pusherAuthFailed charges a credential that was not recognized (an
// unknown key, a bad signature) to the client address, or answers 429
// when the address has no failure left (see limitAuth).
func (s *Server) pusherAuthFailed(r *http.Request, err error) error {
	if s.authLim == nil {
		return err
	}
	key := s.clientKey(r)
	if wait, blocked := s.authLim.blocked(key, s.now()); blocked {
		s.metrics.rateLimited.WithLabelValues("auth").Inc()
		return rateLimited("failed authentications from "+key.String(),
			"too many failed authentications from this address", wait)
	}
	s.authLim.charge(key, s.now())
	s.metrics.authFailures.Inc()
	return err
}

// handlePusher renders the errors of a Pusher endpoint as Pusher's API
// does: the status (StatusOf) and the message as text/plain, which the
// SDKs put in the exception they raise. 429 and 503 carry Retry-After.
func (s *Server) handlePusher(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		if rw, ok := w.(*responseWriter); ok {
			rw.err = err
		}
		status := StatusOf(belfry.ErrorCode(err))
		hd := w.Header()
		if ra, ok := errors.AsType[*retryAfter](err); ok {
			hd.Set("Retry-After", strconv.Itoa(ra.seconds()))
		} else if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			hd.Set("Retry-After", s.retryAfter)
		}
		hd.Set("Content-Type", "text/plain; charset=utf-8")
		hd["X-Content-Type-Options"] = hdrNosniff
		hd["Cache-Control"] = hdrNoStore
		w.WriteHeader(status)
		_, _ = io.WriteString(w, belfry.ErrorMessage(err)+"\n")
	})
}
