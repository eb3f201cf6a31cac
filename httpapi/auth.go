package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/belfry/belfry"
	"github.com/golang-jwt/jwt/v5"
)

// TokenCookie is the cookie a browser may carry the user's JWT in.
const TokenCookie = "belfry_token"

// maxTokenLen bounds what is handed to the JWT parser.
const maxTokenLen = 8 << 10

// MintToken returns an HS256 JWT for user (sub) that expires after ttl,
// rounded up to the whole second (exp has second precision). It is what
// `belfry token` prints and what tests use.
// Errors: EINVALID (empty secret, invalid user id, ttl not positive).
func MintToken(secret []byte, user string, ttl time.Duration) (string, error) {
	if len(secret) == 0 {
		return "", belfry.Errorf(belfry.EINVALID, "the JWT secret is empty")
	}
	if err := belfry.ValidateUserID(user); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", belfry.Errorf(belfry.EINVALID, "the token lifetime must be positive")
	}
	now := time.Now()
	exp := now.Add(ttl)
	if t := exp.Truncate(time.Second); t.Before(exp) {
		exp = t.Add(time.Second)
	}
	claims := jwt.RegisteredClaims{Subject: user,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp)}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", &belfry.Error{Code: belfry.EINTERNAL, Message: "signing the token", Err: err}
	}
	return tok, nil
}

// MintNotificationToken returns an HS256 JWT for user that is good only for
// marking notification id read or taking one of its actions (the claim
// belfry_notification), for ttl. The push payload carries it, so the
// service worker can act on a click without the page's credentials.
// Errors: those of MintToken.
func MintNotificationToken(secret []byte, user string, id int64, ttl time.Duration) (string, error) {
	if len(secret) == 0 {
		return "", belfry.Errorf(belfry.EINVALID, "the JWT secret is empty")
	}
	if err := belfry.ValidateUserID(user); err != nil {
		return "", err
	}
	if id <= 0 || ttl <= 0 {
		return "", belfry.Errorf(belfry.EINVALID, "a notification token needs an id and a positive lifetime")
	}
	now := time.Now()
	claims := tokenClaims{Notification: id, RegisteredClaims: jwt.RegisteredClaims{Subject: user,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl).Add(time.Second))}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", &belfry.Error{Code: belfry.EINTERNAL, Message: "signing the token", Err: err}
	}
	return tok, nil
}

// tokenClaims are the claims belfry reads from a user JWT.
type tokenClaims struct {
	// Notification, when set, limits the token to that notification's
	// read and action endpoints (MintNotificationToken).
	Notification int64 `json:"belfry_notification,omitempty"`
	jwt.RegisteredClaims
}

// principal is the user a request acts for.
type principal struct {
	user    string
	expires time.Time // zero: never
	only    int64     // not 0: the token is good only for this notification
}

// allows reports whether a token limited to one notification may make
// the request r: POST …/{id}/read or …/{id}/actions/{action_id} of it.
func (p principal) allows(r *http.Request) bool {
	if p.only == 0 {
		return true
	}
	switch r.Pattern {
	case "POST /notifications/{id}/read", "POST /notifications/{id}/actions/{action_id}":
		return r.PathValue("id") == strconv.FormatInt(p.only, 10)
	}
	return false
}

// bearer returns the credential of an "Authorization: Bearer x" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// tokenSources are where a user's JWT may be, in the order they are tried.
type tokenSource int

const (
	fromHeader tokenSource = iota
	fromCookie
	fromQuery
)

func userTokens(r *http.Request) [3]string {
	var t [3]string
	t[fromHeader] = bearer(r)
	if c, err := r.Cookie(TokenCookie); err == nil {
		t[fromCookie] = c.Value
	}
	t[fromQuery] = r.URL.Query().Get("token")
	return t
}

// parseToken verifies a user JWT: HS256 with the shared secret, exp
// required and in the future, sub a valid user id. Errors: EUNAUTHORIZED.
func (s *Server) parseToken(tok string) (principal, error) {
	bad := belfry.Errorf(belfry.EUNAUTHORIZED, "invalid or expired token")
	if len(s.cfg.JWTSecret) == 0 || tok == "" || len(tok) > maxTokenLen {
		return principal{}, bad // an empty HMAC key would let anyone sign
	}
	var claims tokenClaims
	if _, err := s.jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) {
		return s.cfg.JWTSecret, nil
	}); err != nil {
		bad.Err = err
		return principal{}, bad
	}
	if belfry.ValidateUserID(claims.Subject) != nil || claims.ExpiresAt == nil {
		return principal{}, bad
	}
	return principal{user: claims.Subject, expires: claims.ExpiresAt.Time, only: claims.Notification}, nil
}

// isAPIKey reports whether k is one of the publishers' keys, comparing the
// SHA-256 of every key in constant time (so neither the key nor its length
// leaks through timing).
func (s *Server) isAPIKey(k string) bool {
	if k == "" {
		return false
	}
	h := sha256.Sum256([]byte(k))
	match := 0
	for i := range s.keys {
		match |= subtle.ConstantTimeCompare(h[:], s.keys[i][:])
	}
	return match == 1
}

// authUser finds the user a request acts for: a valid JWT from the
// Authorization header, the belfry_token cookie or ?token=, else
// Config.UserAuth. A cookie-borne credential on a state-changing request
// must come from the same origin (CSRF). Errors: EUNAUTHORIZED (none or a
// bad one), EFORBIDDEN (an API key, or a cross-origin cookie request),
// EUNAVAILABLE (UserAuth could not reach the app).
func (s *Server) authUser(r *http.Request) (principal, error) {
	toks := userTokens(r)
	presented := false
	for src, tok := range toks {
		if tok == "" {
			continue
		}
		presented = true
		p, err := s.parseToken(tok)
		if err != nil {
			continue
		}
		if tokenSource(src) == fromCookie {
			if err := s.csrf.Check(r); err != nil {
				return principal{}, belfry.Errorf(belfry.EFORBIDDEN, "cross-origin request with a cookie credential")
			}
		}
		if !p.allows(r) {
			return principal{}, belfry.Errorf(belfry.EFORBIDDEN, "this token only marks one notification read or takes one of its actions")
		}
		return p, nil
	}
	if s.isAPIKey(toks[fromHeader]) || s.isAPIKey(r.Header.Get(hdrAPIKey)) {
		return principal{}, belfry.Errorf(belfry.EFORBIDDEN, "an API key cannot act as a user; use a user token")
	}
	if s.cfg.UserAuth != nil {
		user, exp, err := s.cfg.UserAuth.User(r)
		if err == nil {
			if err := belfry.ValidateUserID(user); err != nil {
				return principal{}, belfry.Errorf(belfry.EUNAUTHORIZED, "the user credential names no valid user")
			}
			return principal{user: user, expires: exp}, nil
		}
		switch belfry.ErrorCode(err) {
		case belfry.EUNAVAILABLE, belfry.EFORBIDDEN:
			return principal{}, err
		}
		return principal{}, &belfry.Error{Code: belfry.EUNAUTHORIZED, Message: "invalid or missing credential", Err: err}
	}
	if presented {
		return principal{}, belfry.Errorf(belfry.EUNAUTHORIZED, "invalid or expired token")
	}
	return principal{}, belfry.Errorf(belfry.EUNAUTHORIZED, "a user token is required (Authorization: Bearer, the belfry_token cookie or ?token=)")
}

// authUserAside is authUser on a goroutine of its own, for the stream
// handler, which then waits for a setup place: the JWT parser
// (encoding/json) grows the handler goroutine's stack, and ten thousand
// streams reconnecting at once would each wait with the grown stack
// (BenchmarkStreamSetupWaitStack: 27-30 KiB of stack per waiting stream
// request, the test's client included, against 23 with this helper). The
// helper's grown stack goes back to the runtime when it ends. A panic is
// carried back to the handler's goroutine, where the server's recovery
// sees it. Errors: those of authUser.
func (s *Server) authUserAside(r *http.Request) (principal, error) {
	var (
		p        principal
		err      error
		panicked any
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { panicked = recover() }()
		p, err = s.authUser(r)
	}()
	<-done
	if panicked != nil {
		panic(panicked)
	}
	return p, err
}

// hdrAPIKey is X-API-Key in the canonical form Header.Get looks up, so
// the lookup does not build that form on every request.
const hdrAPIKey = "X-Api-Key"

// authPublisher checks the publisher's API key (Authorization: Bearer or
// X-API-Key). Errors: EUNAUTHORIZED (none or a bad one), EFORBIDDEN (a
// user token instead of an API key).
func (s *Server) authPublisher(r *http.Request) error {
	if s.isAPIKey(r.Header.Get(hdrAPIKey)) || s.isAPIKey(bearer(r)) {
		return nil
	}
	for _, tok := range userTokens(r) {
		if tok == "" {
			continue
		}
		if _, err := s.parseToken(tok); err == nil {
			return belfry.Errorf(belfry.EFORBIDDEN, "a user token cannot publish; use an API key")
		}
	}
	if r.Header.Get(hdrAPIKey) == "" && bearer(r) == "" {
		return belfry.Errorf(belfry.EUNAUTHORIZED, "an API key is required (Authorization: Bearer or X-API-Key)")
	}
	return belfry.Errorf(belfry.EUNAUTHORIZED, "invalid API key")
}
