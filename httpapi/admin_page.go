package httpapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/hub"
)

//go:embed admin.html
var adminHTML string

//go:embed admin.css
var adminCSS string

// adminCSP allows nothing but the page's inline style (by its hash) and
// forms posted to the page itself.
var adminCSP = func() string {
	h := sha256.Sum256([]byte(adminCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) +
		"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}()

var adminTmpl = template.Must(template.New("admin").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"rate": func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
}).Parse(adminHTML))

// MaxAdminJobs is how many failed webhooks, and failed pushes, the page
// lists (the newest).
const MaxAdminJobs = 50

// adminLatest is how many of a looked-up user's notifications are shown.
const adminLatest = 20

// adminView is what the page template renders.
type adminView struct {
	Style    template.CSS
	SignedIn bool
	Error    string // the sign-in form's or an error page's message
	Status   int

	Node     adminNode
	Nodes    []AdminNode
	NodesOn  bool   // the deployment's nodes are listed (Redis presence)
	NodesErr string // listing them failed

	Webhooks, Pushes []adminJob
	JobsErr          string
	Retried          string

	UserID  string
	User    *adminUser
	UserErr string
}

type adminNode struct {
	ID, Store, Broker    string
	Streams, Users, Lean int64
	Rates                rates
	Ends                 []adminEnd
	RefusedUser          uint64
	RefusedNode          uint64
}

type adminEnd struct {
	Reason string
	Count  uint64
}

type adminJob struct {
	ID, UserID, What, LastError string
	NotificationID              int64
	Created                     time.Time
	Attempts                    int
}

type adminUser struct {
	Stats         belfry.Stats
	Notifications []*belfry.Notification
	Presence      *belfry.UserPresence
	PresenceErr   string
	Subscriptions []adminSubscription
	Preferences   belfry.Preferences
}

type adminSubscription struct {
	Host    string
	Created time.Time
}

// adminPage answers GET /admin (?user= looks a user up): the page, or
// the sign-in form with 401.
func (s *Server) adminPage(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin.authenticate(r, s.now()); err != nil {
		return err
	}
	ctx := r.Context()
	v := adminView{Style: template.CSS(adminCSS), SignedIn: true, Node: s.adminNode()}
	if s.admin.cfg.Nodes != nil {
		v.NodesOn = true
		nodes, err := s.admin.cfg.Nodes(ctx)
		if err != nil {
			v.NodesErr = belfry.ErrorMessage(err)
		}
		v.Nodes = nodes
	}
	var err error
	if v.Webhooks, err = s.adminJobs(r, belfry.JobWebhook); err == nil {
		v.Pushes, err = s.adminJobs(r, belfry.JobPushSend)
	}
	if err != nil {
		v.JobsErr = belfry.ErrorMessage(err)
	}
	if id := r.URL.Query().Get("retried"); len(id) <= 64 {
		v.Retried = id
	}
	if u := r.URL.Query().Get("user"); u != "" {
		v.UserID = u
		v.User, err = s.adminUser(r, u)
		if err != nil {
			v.User, v.UserErr = nil, belfry.ErrorMessage(err)
		}
	}
	return renderAdmin(w, http.StatusOK, &v)
}

// adminNode gathers this node's figures.
func (s *Server) adminNode() adminNode {
	st := s.hub.Stats()
	n := adminNode{ID: s.admin.cfg.NodeID, Store: s.admin.cfg.Store, Broker: s.admin.cfg.Broker,
		Streams: st.Streams, Users: st.Users, Lean: st.Lean,
		RefusedUser: st.RefusedUser, RefusedNode: st.RefusedNode}
	if n.Store == "" {
		n.Store = fmt.Sprintf("%T", s.cfg.Inbox.Store)
	}
	if n.Broker == "" {
		n.Broker = fmt.Sprintf("%T", s.cfg.Inbox.Broker)
	}
	for _, reason := range hub.EndReasons() {
		n.Ends = append(n.Ends, adminEnd{Reason: reason.String(), Count: st.Ends[reason]})
	}
	n.Rates = s.admin.rates.observe(rateSample{at: s.now(), published: s.publishedTotal(),
		delivered: float64(st.Delivered)})
	return n
}

// adminJobs lists the newest failed jobs of a kind.
func (s *Server) adminJobs(r *http.Request, kind belfry.JobKind) ([]adminJob, error) {
	jobs, err := s.cfg.Inbox.Store.FailedJobs(r.Context(), kind, "", MaxAdminJobs)
	if err != nil {
		return nil, err
	}
	out := make([]adminJob, len(jobs))
	for i, j := range jobs {
		out[i] = adminJob{ID: j.ID, UserID: j.UserID, NotificationID: j.NotificationID,
			Created: j.Created, Attempts: j.Attempts, LastError: j.LastError, What: jobWhat(j)}
	}
	return out, nil
}

// jobWhat says what a failed job was: a webhook's event type, a push's
// push service host.
func jobWhat(j belfry.Job) string {
	switch j.Kind {
	case belfry.JobWebhook:
		var head struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(j.Payload, &head)
		return head.Type
	case belfry.JobPushSend:
		var p belfry.PushSendPayload
		_ = json.Unmarshal(j.Payload, &p)
		return hostOf(p.Endpoint)
	}
	return ""
}

func hostOf(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return u.Host
}

// adminUser gathers one user's state. Errors: EINVALID (not a user id),
// EUNAVAILABLE.
func (s *Server) adminUser(r *http.Request, user string) (*adminUser, error) {
	if err := belfry.ValidateUserID(user); err != nil {
		return nil, err
	}
	ctx := r.Context()
	u := &adminUser{}
	var err error
	if u.Stats, err = s.inbox.Stats(ctx, user); err != nil {
		return nil, err
	}
	if u.Notifications, _, err = s.inbox.List(ctx, user, belfry.ListQuery{Limit: adminLatest}); err != nil {
		return nil, err
	}
	if s.cfg.Presence == nil {
		u.PresenceErr = "presence is not tracked on this server"
	} else if ps, err := s.cfg.Presence.Lookup(ctx, []string{user}); err != nil {
		u.PresenceErr = belfry.ErrorMessage(err)
	} else if len(ps) == 1 {
		u.Presence = &ps[0]
	}
	subs, err := s.cfg.Inbox.Store.SubscriptionsOf(ctx, user)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs { // the endpoint's path and the keys are the browser's secrets
		u.Subscriptions = append(u.Subscriptions, adminSubscription{Host: hostOf(sub.Endpoint), Created: sub.Created})
	}
	if u.Preferences, err = s.inbox.Preferences(ctx, user); err != nil {
		return nil, err
	}
	return u, nil
}

// adminError renders an error as the page: the sign-in form for 401.
func (s *Server) adminError(w http.ResponseWriter, r *http.Request, err error) {
	code := belfry.ErrorCode(err)
	status := StatusOf(code)
	var ra *retryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(ra.seconds()))
	}
	msg := belfry.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		s.log.Error("admin page", "err", err)
		msg = "internal error; see the server's log"
	}
	v := adminView{Style: template.CSS(adminCSS), Error: msg, Status: status}
	if code == belfry.EUNAUTHORIZED && bearer(r) == "" && r.Pattern != "POST /admin/login" {
		if _, cerr := r.Cookie(AdminCookie); cerr != nil {
			v.Error = "" // a first visit: the form, without a complaint
		}
	}
	if rerr := renderAdmin(w, status, &v); rerr != nil {
		s.log.Error("admin page", "err", rerr)
		http.Error(w, msg, status)
	}
}

// renderAdmin executes the template into a buffer first, so a template
// error is a 500, not half a page.
func renderAdmin(w http.ResponseWriter, status int, v *adminView) error {
	var b bytes.Buffer
	if err := adminTmpl.Execute(&b, v); err != nil {
		return &belfry.Error{Code: belfry.EINTERNAL, Message: "rendering the admin page", Err: err}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
	return nil
}
