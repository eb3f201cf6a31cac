package httpapi

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/belfry/belfry"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Pusher HTTP API compatibility: an app that broadcasts with a Pusher
// server SDK (Laravel's BROADCAST_DRIVER=pusher) points it at belfry, and
// the notifications it broadcasts to its users' private channels land in
// their inboxes. See docs/pusher.md.

// Defaults and limits of the Pusher endpoints, as Pusher documents them.
const (
	// DefaultPusherUserChannel is PusherConfig.UserChannel's default:
	// the private channel Laravel broadcasts a notifiable User's
	// notifications on.
	DefaultPusherUserChannel = "private-App.Models.User.{id}"
	// DefaultPusherMaxData is PusherConfig.MaxDataBytes's default:
	// Pusher's 10 KB limit on an event's data.
	DefaultPusherMaxData = 10 << 10
	// PusherNotificationEvent is the event Laravel's broadcast
	// notification channel triggers; it is the only one stored.
	PusherNotificationEvent = `Illuminate\Notifications\Events\BroadcastNotificationCreated`

	pusherMaxName          = 200 // characters in an event name
	pusherMaxChannel       = 164 // characters in a channel name
	pusherMaxChannels      = 100 // channels of one event
	pusherMaxBatch         = 10  // events of one batch
	pusherMaxTimestampSkew = 600 // seconds between auth_timestamp and the server's clock
	// pusherMaxNotificationID bounds the payload's id, so that the
	// idempotency key built from it (pusherKeyName) stays within
	// MaxIdempotencyKey.
	pusherMaxNotificationID = 64
)

// PusherConfig turns on the Pusher HTTP API endpoints, POST
// /apps/{app_id}/events and POST /apps/{app_id}/batch_events. AppID, Key
// and Secret are required; the zero values of the others take the
// defaults noted.
type PusherConfig struct {
	AppID  string // the app id of the path: 1 to 64 letters, digits, '-', '_' or '.'
	Key    string // auth_key of the signed requests
	Secret string // the HMAC-SHA256 key of auth_signature: 16 bytes or more
	// UserChannel is the channel of one user, with "{id}" where the user
	// id goes (exactly once); the rest follows Pusher's channel name
	// rules. Default DefaultPusherUserChannel.
	UserChannel string
	// MaxDataBytes bounds an event's data (413 over it). Default
	// DefaultPusherMaxData, Pusher's.
	MaxDataBytes int
}

// Validate checks the configuration, the defaults filled in first.
// Errors: EINVALID.
func (c *PusherConfig) Validate() error {
	c.defaults()
	switch {
	case !validPusherAppID(c.AppID):
		return belfry.Errorf(belfry.EINVALID, "the Pusher app id must be 1 to 64 letters, digits, '-', '_' or '.'")
	case c.Key == "" || strings.ContainsAny(c.Key, "&= \t\r\n"):
		return belfry.Errorf(belfry.EINVALID, "the Pusher key must be set, without '&', '=' or spaces")
	case len(c.Secret) < 16:
		return belfry.Errorf(belfry.EINVALID, "the Pusher secret must be at least 16 bytes")
	case c.MaxDataBytes < 0 || c.MaxDataBytes > belfry.MaxDataBytes:
		return belfry.Errorf(belfry.EINVALID, "the Pusher data limit must be at most %d bytes", belfry.MaxDataBytes)
	}
	prefix, suffix, ok := strings.Cut(c.UserChannel, "{id}")
	if !ok || strings.Contains(suffix, "{id}") ||
		!validChannelChars(prefix) || !validChannelChars(suffix) ||
		len(prefix)+len(suffix) >= pusherMaxChannel {
		return belfry.Errorf(belfry.EINVALID,
			"the Pusher user channel must hold {id} once, the rest letters, digits and _ - = @ , . ; (such as %s)", DefaultPusherUserChannel)
	}
	return nil
}

func (c *PusherConfig) defaults() {
	if c.UserChannel == "" {
		c.UserChannel = DefaultPusherUserChannel
	}
	if c.MaxDataBytes == 0 {
		c.MaxDataBytes = DefaultPusherMaxData
	}
}

func validPusherAppID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validChannelChars reports whether s holds only the characters Pusher
// allows in a channel name: letters, digits and _ - = @ , . ;
func validChannelChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_-=@,.;", c) >= 0) {
			return false
		}
	}
	return true
}

// pusherAPI is the state of the Pusher endpoints.
type pusherAPI struct {
	cfg            PusherConfig
	prefix, suffix string        // of the user channel, around {id}
	lim            *rate.Limiter // the key's publish limit; nil: none
	// events counts each event once per channel it names, by result:
	// stored (a notification was created), duplicate (its id was stored
	// before for that user), skipped (the user's preferences turn its
	// category off) or ignored (not a notification, or not a user's
	// channel).
	events *prometheus.CounterVec
}

// Results of pusherAPI.events.
const (
	pusherStored    = "stored"
	pusherDuplicate = "duplicate"
	pusherSkipped   = "skipped"
	pusherIgnored   = "ignored"
)

func newPusherAPI(c PusherConfig, cfg *Config, reg prometheus.Registerer) (*pusherAPI, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := &pusherAPI{cfg: c}
	p.prefix, p.suffix, _ = strings.Cut(c.UserChannel, "{id}")
	// The Pusher key is a publisher like an API key: a bucket of its own
	// at the API keys' rate.
	var k [sha256.Size]byte
	if l := newPublishLimits([][sha256.Size]byte{k}, cfg.PublishRate, cfg.PublishBurst); l != nil {
		p.lim = l[k]
	}
	p.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "belfry_pusher_events_total",
		Help: "Events received on the Pusher HTTP API, once per channel, by result: stored, duplicate (its notification id was stored before), skipped (the user's preferences) or ignored (not a notification, or not a user's channel).",
	}, []string{"result"})
	for _, r := range []string{pusherStored, pusherDuplicate, pusherSkipped, pusherIgnored} {
		p.events.WithLabelValues(r)
	}
	if err := reg.Register(p.events); err != nil {
		return nil, &belfry.Error{Code: belfry.EINVALID, Message: "httpapi: registering metrics", Err: err}
	}
	return p, nil
}

// userOf returns the user whose channel ch is, if it is one.
func (p *pusherAPI) userOf(ch string) (string, bool) {
	if len(ch) <= len(p.prefix)+len(p.suffix) || !strings.HasPrefix(ch, p.prefix) || !strings.HasSuffix(ch, p.suffix) {
		return "", false
	}
	return ch[len(p.prefix) : len(ch)-len(p.suffix)], true
}

// pusherRoutes registers the Pusher endpoints when they are configured;
// otherwise their paths answer 404 like any unknown path.
func (s *Server) pusherRoutes() {
	if s.pusher == nil {
		return
	}
	s.mux.Handle("POST /apps/{app_id}/events", s.handlePusher(s.pusherEvents))
	s.mux.Handle("POST /apps/{app_id}/batch_events", s.handlePusher(s.pusherBatch))
}

// pusherEvents answers POST /apps/{app_id}/events: 200 {} once the
// event's notifications are stored.
func (s *Server) pusherEvents(w http.ResponseWriter, r *http.Request) error {
	body, err := s.pusherRequest(w, r)
	if err != nil {
		return err
	}
	var in pusherEventIn
	if err := decodePusher(body, &in); err != nil {
		return err
	}
	ev, err := s.pusher.check(&in, false)
	if err != nil {
		return err
	}
	if err := s.pusherStore(r, []*pusherEvent{ev}); err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, []byte("{}\n"))
	return nil
}

// pusherBatch answers POST /apps/{app_id}/batch_events: 200
// {"batch":[{},…]}, one {} per event, once every event's notifications
// are stored. The whole batch is checked before anything is stored.
func (s *Server) pusherBatch(w http.ResponseWriter, r *http.Request) error {
	body, err := s.pusherRequest(w, r)
	if err != nil {
		return err
	}
	var in struct {
		Batch []pusherEventIn `json:"batch"`
	}
	if err := decodePusher(body, &in); err != nil {
		return err
	}
	if len(in.Batch) == 0 || len(in.Batch) > pusherMaxBatch {
		return belfry.Errorf(belfry.EINVALID, "batch must hold 1 to %d events", pusherMaxBatch)
	}
	evs := make([]*pusherEvent, len(in.Batch))
	for i := range in.Batch {
		ev, err := s.pusher.check(&in.Batch[i], true)
		if err != nil {
			return &belfry.Error{Code: belfry.ErrorCode(err),
				Message: "batch[" + strconv.Itoa(i) + "]: " + belfry.ErrorMessage(err)}
		}
		evs[i] = ev
	}
	if err := s.pusherStore(r, evs); err != nil {
		return err
	}
	out := make([]byte, 0, 12+3*len(evs))
	out = append(out, `{"batch":[`...)
	for i := range evs {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, "{}"...)
	}
	writeRaw(w, http.StatusOK, append(out, "]}\n"...))
	return nil
}

// pusherStore publishes the notifications of checked events, one
// Inbox.Publish per user and event (see pusherEvent.notes), and counts
// every event and channel. A store failure part way leaves the earlier
// notifications stored: the SDK's retry replays them (same ids) and
// stores the rest.
func (s *Server) pusherStore(r *http.Request, evs []*pusherEvent) error {
	ignored := 0
	for _, ev := range evs {
		ignored += ev.ignored
		for _, n := range ev.notes {
			result, err := s.pusherPublish(r, n)
			if err != nil {
				return err
			}
			s.pusher.events.WithLabelValues(result).Inc()
		}
	}
	s.pusher.events.WithLabelValues(pusherIgnored).Add(float64(ignored))
	return nil
}

// pusherPublish stores one notification and says how it went.
// Errors: those of Inbox.Publish but EIDEMCONFLICT.
func (s *Server) pusherPublish(r *http.Request, n pusherNote) (string, error) {
	d := n.draft
	var key *belfry.IdempotencyKey
	if n.keyName != "" {
		key = &belfry.IdempotencyKey{Name: n.keyName, Hash: n.hash, Expires: s.now().Add(s.cfg.IdempotencyWindow)}
	}
	p, err := s.inbox.Publish(r.Context(), d, key)
	switch {
	case belfry.ErrorCode(err) == belfry.EIDEMCONFLICT:
		// The same notification id for the same user with other fields:
		// Laravel rendered the notification again (a retried queue job
		// whose toArray reads the clock, say). It is the same
		// notification, stored already; failing would only have the app
		// retry forever.
		s.log.Info("pusher: notification id stored before with other fields; kept the first",
			"user", d.UserIDs[0], "key", n.keyName)
		return pusherDuplicate, nil
	case err != nil:
		return "", err
	case p.Replayed:
		return pusherDuplicate, nil
	case len(p.Notifications) == 0:
		return pusherSkipped, nil
	}
	return pusherStored, nil
}

// decodePusher reads a Pusher request body: one JSON object, valid
// UTF-8. Unknown fields are ignored (info, and what later API versions
// add). Errors: EINVALID.
func decodePusher(body []byte, v any) error {
	err := json.Unmarshal(body, v)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.Field != "":
		return belfry.Errorf(belfry.EINVALID, "%s has the wrong type", te.Field)
	}
	return belfry.Errorf(belfry.EINVALID, "the body must be a JSON object")
}
