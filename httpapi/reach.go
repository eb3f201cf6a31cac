package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/belfry/belfry"
)

// Reach's endpoints: the push key and the user's push subscriptions, the
// app's presence lookup, and the failed webhooks with their retry.

// pushKey answers GET /notifications/push/key: {"public_key": …}, the
// VAPID key a browser subscribes with. No credential is needed: the key is
// public. 404 when push is off.
func (s *Server) pushKey(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.PushKey == "" {
		return belfry.Errorf(belfry.ENOTFOUND, "Web Push is off on this server")
	}
	writeJSON(w, http.StatusOK, map[string]string{"public_key": s.cfg.PushKey})
	return nil
}

// subscriptionRequest is a browser's PushSubscription.toJSON().
type subscriptionRequest struct {
	Endpoint       string   `json:"endpoint"`
	ExpirationTime *float64 `json:"expirationTime"`
	Keys           struct {
		P256DH string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// MaxEndpoint bounds a push subscription's endpoint URL.
const MaxEndpoint = 2048

// subscribe answers POST /notifications/push/subscriptions: 201
// {"endpoint", "created_at"}.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	if s.cfg.PushKey == "" {
		return belfry.Errorf(belfry.ENOTFOUND, "Web Push is off on this server")
	}
	var in subscriptionRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if err := s.checkSubscription(&in); err != nil {
		return err
	}
	sub := belfry.Subscription{Endpoint: in.Endpoint, P256DH: in.Keys.P256DH, Auth: in.Keys.Auth,
		Created: belfry.Now(s.now())}
	if err := s.cfg.Inbox.Store.Subscribe(r.Context(), p.user, sub); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, subscriptionJSON(sub))
	return nil
}

// checkSubscription refuses an endpoint belfry must not call (the push
// policy: https, an allowed push service, no private address) and keys
// that are not a P-256 point and a 16-byte secret. Errors: EINVALID.
func (s *Server) checkSubscription(in *subscriptionRequest) error {
	if in.Endpoint == "" || len(in.Endpoint) > MaxEndpoint {
		return belfry.Errorf(belfry.EINVALID, "endpoint is required, at most %d bytes", MaxEndpoint)
	}
	if s.cfg.CheckEndpoint == nil {
		return belfry.Errorf(belfry.EINVALID, "no push endpoint is allowed on this server")
	}
	if err := s.cfg.CheckEndpoint(in.Endpoint); err != nil {
		return err
	}
	if k, err := decodeKey(in.Keys.P256DH); err != nil || len(k) != 65 || k[0] != 4 {
		return belfry.Errorf(belfry.EINVALID, "keys.p256dh must be an uncompressed P-256 public key in base64url")
	}
	if k, err := decodeKey(in.Keys.Auth); err != nil || len(k) != 16 {
		return belfry.Errorf(belfry.EINVALID, "keys.auth must be a 16-byte secret in base64url")
	}
	return nil
}

// decodeKey decodes base64url, padded or not (browsers send it unpadded).
func decodeKey(s string) ([]byte, error) {
	for len(s)%4 != 0 && len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] == '=' {
		return base64.URLEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

func subscriptionJSON(sub belfry.Subscription) map[string]string {
	return map[string]string{"endpoint": sub.Endpoint, "created_at": belfry.FormatTime(sub.Created)}
}

// unsubscribe answers DELETE /notifications/push/subscriptions with
// {"endpoint"} or ?endpoint=: 204, or 404 when the user has no such
// subscription.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	endpoint := r.URL.Query().Get("endpoint")
	if endpoint == "" {
		var in struct {
			Endpoint string `json:"endpoint"`
		}
		if err := decodeBody(w, r, &in); err != nil {
			return err
		}
		endpoint = in.Endpoint
	}
	if endpoint == "" || len(endpoint) > MaxEndpoint {
		return belfry.Errorf(belfry.EINVALID, "endpoint is required, at most %d bytes", MaxEndpoint)
	}
	if err := s.cfg.Inbox.Store.Unsubscribe(r.Context(), p.user, endpoint); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// subscriptions answers GET /notifications/push/subscriptions:
// {"subscriptions": [{"endpoint", "created_at"}]}.
func (s *Server) subscriptions(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	subs, err := s.cfg.Inbox.Store.SubscriptionsOf(r.Context(), p.user)
	if err != nil {
		return err
	}
	out := make([]map[string]string, len(subs))
	for i, sub := range subs {
		out[i] = subscriptionJSON(sub)
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscriptions": out})
	return nil
}

// MaxPresenceUsers bounds the users of one presence lookup.
const MaxPresenceUsers = 100

// presence answers GET /api/presence?user_id=a&user_id=b (API key):
// {"a": {"online", "streams", "since" | "last_seen"}, …}.
func (s *Server) presence(w http.ResponseWriter, r *http.Request) error {
	if err := s.authPublisher(r); err != nil {
		return err
	}
	users := r.URL.Query()["user_id"]
	if len(users) == 0 || len(users) > MaxPresenceUsers {
		return belfry.Errorf(belfry.EINVALID, "give 1 to %d user_id parameters", MaxPresenceUsers)
	}
	for _, u := range users {
		if err := belfry.ValidateUserID(u); err != nil {
			return err
		}
	}
	if s.cfg.Presence == nil {
		return belfry.Errorf(belfry.EUNAVAILABLE, "presence is not tracked on this server")
	}
	ps, err := s.cfg.Presence.Lookup(r.Context(), users)
	if err != nil {
		return err
	}
	b := []byte{'{'}
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(p.UserID)
		b = append(b, k...)
		b = append(b, ':')
		b = belfry.AppendPresence(b, p)
	}
	writeRaw(w, http.StatusOK, append(b, '}', '\n'))
	return nil
}

// failedWebhooks answers GET /api/webhooks/failed?limit=&before= (API
// key): {"webhooks": [{"id", "type", "user_id", "notification_id",
// "created_at", "attempts", "last_error", "body"}], "next": id?} — the
// deliveries that gave up, newest first.
func (s *Server) failedWebhooks(w http.ResponseWriter, r *http.Request) error {
	if err := s.authPublisher(r); err != nil {
		return err
	}
	limit := belfry.DefaultPageSize
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > belfry.MaxPageSize {
			return belfry.Errorf(belfry.EINVALID, "limit must be between 1 and %d", belfry.MaxPageSize)
		}
		limit = n
	}
	before := r.URL.Query().Get("before")
	if len(before) > 64 {
		return belfry.Errorf(belfry.EINVALID, "before must be a webhook id")
	}
	jobs, err := s.cfg.Inbox.Store.FailedJobs(r.Context(), belfry.JobWebhook, before, limit+1)
	if err != nil {
		return err
	}
	out := struct {
		Webhooks []failedWebhook `json:"webhooks"`
		Next     string          `json:"next,omitempty"`
	}{Webhooks: []failedWebhook{}}
	if len(jobs) > limit {
		jobs = jobs[:limit]
		out.Next = jobs[limit-1].ID
	}
	for _, j := range jobs {
		out.Webhooks = append(out.Webhooks, failedWebhookOf(j))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type failedWebhook struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	UserID         string          `json:"user_id"`
	NotificationID int64           `json:"notification_id,omitempty"`
	CreatedAt      string          `json:"created_at"`
	Attempts       int             `json:"attempts"`
	LastError      string          `json:"last_error"`
	Body           json.RawMessage `json:"body"`
}

func failedWebhookOf(j belfry.Job) failedWebhook {
	var head struct {
		Type string `json:"type"`
	}
	body := json.RawMessage(j.Payload)
	if json.Unmarshal(j.Payload, &head) != nil {
		body = nil
	}
	return failedWebhook{ID: j.ID, Type: head.Type, UserID: j.UserID, NotificationID: j.NotificationID,
		CreatedAt: belfry.FormatTime(j.Created), Attempts: j.Attempts, LastError: j.LastError, Body: body}
}

// retryWebhook answers POST /api/webhooks/{id}/retry (API key): 202 and
// the webhook, due now with the same webhook-id; 404 unless it failed. A
// failed push delivery's id is retried the same way.
func (s *Server) retryWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.authPublisher(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == "" || len(id) > 64 {
		return belfry.Errorf(belfry.ENOTFOUND, "no such failed webhook")
	}
	j, err := s.cfg.Inbox.Store.Revive(r.Context(), id, belfry.Now(s.now()))
	if err != nil {
		return err
	}
	if s.cfg.Inbox.Reach != nil {
		s.cfg.Inbox.Reach.Poke()
	}
	writeJSON(w, http.StatusAccepted, failedWebhookOf(j))
	return nil
}

// PushTokenMinter returns the Reach.Token of a server with a JWT secret:
// tokens limited to one notification (MintNotificationToken).
func PushTokenMinter(secret []byte) func(string, int64, time.Duration) (string, error) {
	if len(secret) == 0 {
		return nil
	}
	return func(user string, id int64, ttl time.Duration) (string, error) {
		return MintNotificationToken(secret, user, id, ttl)
	}
}
