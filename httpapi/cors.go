package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/belfry/belfry"
)

// corsMaxAge is how long a browser may cache a preflight answer, seconds.
const corsMaxAge = "600"

// assetsPrefix is where Config.Assets serves the browser files.
const assetsPrefix = "/assets/"

// setupCORS checks Config.AllowOrigins and trusts those origins for the
// cookie-credential check too (a bell on an allowed origin may change read
// state with the belfry_token cookie). Errors: EINVALID (not an origin).
func (s *Server) setupCORS() error {
	s.origins = make(map[string]bool, len(s.cfg.AllowOrigins))
	for _, o := range s.cfg.AllowOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return belfry.Errorf(belfry.EINVALID, "allowed origin %q must be scheme://host[:port]", o)
		}
		origin := u.Scheme + "://" + strings.ToLower(u.Host)
		if err := s.csrf.AddTrustedOrigin(origin); err != nil {
			return &belfry.Error{Code: belfry.EINVALID, Message: "allowed origin " + o, Err: err}
		}
		s.origins[origin] = true
	}
	return nil
}

// cors adds the CORS headers for a request from an allowed origin (with
// credentials: the bell may authenticate with a cookie) and answers a
// preflight itself. It reports whether the request has been answered.
// Requests from other origins get no CORS headers, so the browser keeps
// their answers from the page.
//
// The asset files (Config.Assets, under /assets/) are the exception: they
// are public and the same for everyone, so every answer says
// "Access-Control-Allow-Origin: *" and nothing else, whatever the Origin.
// Pages load them as module scripts, whose cross-origin requests carry no
// credentials, so "*" is all they need; "*" must never come with
// "Access-Control-Allow-Credentials: true" (browsers refuse the pair),
// and one answer for all origins is what lets a shared cache (the assets
// are "public, max-age=300") serve it to each of them without a Vary.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Assets != nil && strings.HasPrefix(r.URL.Path, assetsPrefix) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || !s.origins[strings.ToLower(origin)] {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		// Retry-After: the browser client waits as long as a refusal says.
		h.Set("Access-Control-Expose-Headers", "Link, Retry-After")
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID, X-API-Key")
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}
