package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/belfry/belfry"
)

// demoTokenTTL is the lifetime of the tokens POST /demo/token hands out.
const demoTokenTTL = time.Hour

// demoRoutes registers the demo-only endpoints, and nothing unless
// Config.Demo: GET and POST /demo/token, POST /demo/notifications.
func (s *Server) demoRoutes() {
	if !s.cfg.Demo {
		return
	}
	s.mux.Handle("GET /demo/token", s.handle(s.demoToken))
	s.mux.Handle("POST /demo/token", s.handle(s.demoToken))
	s.mux.Handle("POST /demo/notifications", s.handle(s.limitAuth(s.demoPublish)))
}

// demoToken answers GET /demo/token?user=alice and POST /demo/token
// (Config.Demo only): anyone gets a token for the user they name (default
// "demo"). It exists so the demo page can open a stream without an app;
// never enable it in production. The GET form is what the bell's
// token-url calls. POST body (optional): {"user_id": "…"}.
// Answer: {"token","user_id","expires_at"}. Errors: EINVALID.
func (s *Server) demoToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		UserID belfry.UserID `json:"user_id"`
	}
	if r.Method == http.MethodGet {
		in.UserID = belfry.UserID(r.URL.Query().Get("user"))
	} else if r.ContentLength != 0 {
		if err := decodeBody(w, r, &in); err != nil {
			return err
		}
	}
	if in.UserID == "" {
		in.UserID = "demo"
	}
	tok, err := MintToken(s.cfg.JWTSecret, string(in.UserID), demoTokenTTL)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok, "user_id": string(in.UserID),
		"expires_at": belfry.FormatTime(time.Now().Add(demoTokenTTL))})
	return nil
}

// demoPublish answers POST /demo/notifications (Config.Demo only): a
// user sends a notification to themselves, with their user token instead
// of an API key, so the demo page's form needs no key. Body: the publish
// fields without user_id(s). Answer: 201 and the notification.
func (s *Server) demoPublish(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	var in struct {
		Message  string          `json:"message"`
		Title    string          `json:"title"`
		Link     string          `json:"link"`
		Category string          `json:"category"`
		Data     json.RawMessage `json:"data"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	ns, err := s.inbox.Create(r.Context(), belfry.Draft{UserIDs: []string{p.user},
		Message: in.Message, Title: in.Title, Link: in.Link, Category: in.Category, Data: in.Data})
	if err != nil {
		return err
	}
	s.metrics.published.Add(float64(len(ns)))
	writeRaw(w, http.StatusCreated, append(ns[0].AppendJSON(nil), '\n'))
	return nil
}
