package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/belfry/belfry"
)

// The operator page (/admin): one server-rendered HTML page, behind a key
// of its own, that shows this node's streams and rates, the other nodes,
// the failed webhooks and pushes with a retry button each, and one user's
// state. admin.go holds its configuration and authentication,
// admin_page.go the page, admin_rates.go the rates.

// MinAdminKeyLen is the shortest AdminConfig.Key New accepts.
const MinAdminKeyLen = 16

// AdminCookie is the cookie of an operator signed in with the form.
const AdminCookie = "belfry_admin"

// AdminSessionTTL is how long the form's sign-in lasts.
const AdminSessionTTL = 12 * time.Hour

// AdminConfig turns the operator page on (Config.Admin).
type AdminConfig struct {
	// Key is the operator's key, at least MinAdminKeyLen bytes: sent as
	// "Authorization: Bearer KEY", or typed into the page's sign-in form.
	Key string
	// NodeID names this node on the page; default "this node".
	NodeID string
	// Store and Broker name the kinds of store and broker shown (e.g.
	// "sqlite", "redis"); default their Go types.
	Store, Broker string
	// Nodes, when set, lists the nodes of the deployment (with a Redis
	// broker: redisbus.Presence.Nodes); nil: the page shows this node
	// only. Errors: EUNAVAILABLE.
	Nodes func(ctx context.Context) ([]AdminNode, error)
}

// AdminNode is one node of the deployment, as its presence heartbeat says.
type AdminNode struct {
	ID   string
	Beat time.Time // last heartbeat; zero when the node left
	Live bool      // the heartbeat is recent enough (belfry.PresenceTimeout)
}

// admin is the operator page's state: its key, its CSRF check and its
// rate window.
type admin struct {
	cfg     AdminConfig
	keyHash [sha256.Size]byte
	// csrf is the page's own check, without Config.AllowOrigins: the
	// origins trusted with the bell are not trusted with the operator's
	// session.
	csrf  *http.CrossOriginProtection
	rates rateWindow
}

func newAdmin(cfg AdminConfig) (*admin, error) {
	if len(cfg.Key) < MinAdminKeyLen {
		return nil, belfry.Errorf(belfry.EINVALID, "httpapi: the admin key must be at least %d bytes", MinAdminKeyLen)
	}
	if cfg.NodeID == "" {
		cfg.NodeID = "this node"
	}
	return &admin{cfg: cfg, keyHash: sha256.Sum256([]byte(cfg.Key)), csrf: http.NewCrossOriginProtection()}, nil
}

// isKey reports whether k is the admin key, comparing SHA-256 digests in
// constant time (the key's length does not leak either).
func (a *admin) isKey(k string) bool {
	h := sha256.Sum256([]byte(k))
	return k != "" && subtle.ConstantTimeCompare(h[:], a.keyHash[:]) == 1
}

// sessionMAC is the HMAC-SHA256, keyed with the admin key, of a session
// that expires at exp (Unix seconds). The cookie holds exp and this MAC,
// never the key: a stolen cookie ends at exp, and a new key ends them all.
func (a *admin) sessionMAC(exp int64) []byte {
	m := hmac.New(sha256.New, []byte(a.cfg.Key))
	m.Write([]byte("belfry admin session\x00" + strconv.FormatInt(exp, 10)))
	return m.Sum(nil)
}

// session returns the cookie value of a session that expires at exp.
func (a *admin) session(exp time.Time) string {
	e := exp.Unix()
	return strconv.FormatInt(e, 10) + "." + base64.RawURLEncoding.EncodeToString(a.sessionMAC(e))
}

// checkSession reads a cookie value: signed says whether its MAC is
// right (made with the key, expired or not), live whether it is also
// unexpired at now.
func (a *admin) checkSession(v string, now time.Time) (signed, live bool) {
	es, ms, ok := strings.Cut(v, ".")
	if !ok || len(v) > 128 {
		return false, false
	}
	exp, err := strconv.ParseInt(es, 10, 64)
	mac, err2 := base64.RawURLEncoding.DecodeString(ms)
	if err != nil || err2 != nil || !hmac.Equal(mac, a.sessionMAC(exp)) {
		return false, false
	}
	return true, now.Unix() < exp
}

// recognized reports whether r carries a credential of the operator, good
// or expired: the key as a bearer token, or a signed session cookie. A
// recognized request goes through an address's exhausted allowance of
// failed authentications (see guardAdmin).
func (a *admin) recognized(r *http.Request) bool {
	if a.isKey(bearer(r)) {
		return true
	}
	c, err := r.Cookie(AdminCookie)
	if err != nil {
		return false
	}
	signed, _ := a.checkSession(c.Value, time.Time{})
	return signed
}

// presented reports whether r tries to authenticate: a bearer token, the
// session cookie, or the sign-in form.
func (a *admin) presented(r *http.Request) bool {
	if bearer(r) != "" || r.Pattern == "POST /admin/login" {
		return true
	}
	_, err := r.Cookie(AdminCookie)
	return err == nil
}

// authenticate checks the operator's credential: the key as a bearer
// token, else a live session cookie. Errors: EUNAUTHORIZED.
func (a *admin) authenticate(r *http.Request, now time.Time) error {
	if b := bearer(r); b != "" {
		if a.isKey(b) {
			return nil
		}
		return belfry.Errorf(belfry.EUNAUTHORIZED, "wrong admin key")
	}
	c, err := r.Cookie(AdminCookie)
	if err != nil {
		return belfry.Errorf(belfry.EUNAUTHORIZED, "sign in with the admin key")
	}
	signed, live := a.checkSession(c.Value, now)
	switch {
	case !signed:
		return belfry.Errorf(belfry.EUNAUTHORIZED, "this sign-in was not made with the admin key; sign in again")
	case !live:
		return belfry.Errorf(belfry.EUNAUTHORIZED, "the session expired; sign in again")
	}
	return nil
}

// adminRoutes registers the operator page when Config.Admin is set;
// without it, /admin is an unknown path (404).
func (s *Server) adminRoutes() {
	if s.admin == nil {
		return
	}
	s.mux.Handle("GET /admin", s.adminHandle(s.guardAdmin(s.adminPage)))
	s.mux.Handle("POST /admin/login", s.adminHandle(s.guardAdmin(s.adminLogin)))
	s.mux.Handle("POST /admin/logout", s.adminHandle(s.adminLogout))
	s.mux.Handle("POST /admin/jobs/{id}/retry", s.adminHandle(s.guardAdmin(s.adminRetry)))
}

// guardAdmin wraps an operator endpoint with the limit of failed
// authentications per client address that the API's endpoints share
// (limitAuth): an address with none left is answered 429 unless it
// presents a recognized credential, and a wrong key, a forged cookie or
// a wrong key in the form is charged.
func (s *Server) guardAdmin(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.authLim == nil || !s.admin.presented(r) {
			return h(w, r)
		}
		key := s.clientKey(r)
		if wait, blocked := s.authLim.blocked(key, s.now()); blocked && !s.admin.recognized(r) {
			s.metrics.rateLimited.WithLabelValues("auth").Inc()
			return rateLimited("failed authentications from "+key.String(),
				"too many failed authentications from this address", wait)
		}
		err := h(w, r)
		if belfry.ErrorCode(err) == belfry.EUNAUTHORIZED && !s.admin.recognized(r) {
			s.authLim.charge(key, s.now())
			s.metrics.authFailures.Inc()
		}
		return err
	}
}

// adminHandle is handle for the operator page: every answer carries the
// page's security headers, a POST must come from the page's own origin
// (CSRF), and an error is an HTML page (401: the sign-in form).
func (s *Server) adminHandle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setAdminHeaders(w.Header())
		err := error(nil)
		if r.Method == http.MethodPost {
			if s.admin.csrf.Check(r) != nil {
				err = belfry.Errorf(belfry.EFORBIDDEN, "cross-origin request refused")
			}
		}
		if err == nil {
			err = h(w, r)
		}
		if err == nil {
			return
		}
		if rw, ok := w.(*responseWriter); ok {
			rw.err = err
		}
		s.adminError(w, r, err)
	})
}

// setAdminHeaders: nothing cached, nothing loaded but the page's own
// inline style, forms posted to the page only, never framed, and no
// Referer carrying the looked-up user id away.
func setAdminHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", adminCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// adminLogin answers POST /admin/login (form field "key"): a session
// cookie and 303 to /admin; 401 and the form again for a wrong key.
func (s *Server) adminLogin(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		return belfry.Errorf(belfry.EINVALID, "the sign-in form could not be read")
	}
	if !s.admin.isKey(r.PostForm.Get("key")) {
		return belfry.Errorf(belfry.EUNAUTHORIZED, "wrong admin key")
	}
	exp := s.now().Add(AdminSessionTTL)
	http.SetCookie(w, &http.Cookie{Name: AdminCookie, Value: s.admin.session(exp), Path: "/admin",
		Expires: exp, MaxAge: int(AdminSessionTTL / time.Second),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
	return nil
}

// adminLogout answers POST /admin/logout: the cookie is cleared, 303 to
// /admin.
func (s *Server) adminLogout(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: AdminCookie, Value: "", Path: "/admin", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
	return nil
}

// adminRetry answers POST /admin/jobs/{id}/retry: the failed webhook or
// push is due again now (Store.Revive), the runner is woken, and 303 to
// /admin. 404 unless the job failed.
func (s *Server) adminRetry(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin.authenticate(r, s.now()); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == "" || len(id) > 64 {
		return belfry.Errorf(belfry.ENOTFOUND, "no such failed job")
	}
	j, err := s.cfg.Inbox.Store.Revive(r.Context(), id, belfry.Now(s.now()))
	if err != nil {
		return err
	}
	if s.cfg.Inbox.Reach != nil {
		s.cfg.Inbox.Reach.Poke()
	}
	s.log.Info("admin: failed job retried", "id", j.ID, "kind", string(j.Kind))
	http.Redirect(w, r, "/admin?retried="+url.QueryEscape(j.ID), http.StatusSeeOther)
	return nil
}
