package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/redisbus"
	"github.com/belfry/belfry/webhook"
	"github.com/belfry/belfry/webpush"
)

// ReachFlags are serve's Web Push and webhook settings (docs/reach.md).
type ReachFlags struct {
	// VAPIDKeyFile holds the VAPID key pair, created if missing. Push is
	// on when it is set, or in demo mode (then belfry-vapid.pem beside the
	// SQLite database). Every node of a deployment uses the same file.
	VAPIDKeyFile string
	VAPIDSubject string // mailto: or https: contact for the push services; required with push
	// PushAllowHosts are the push services subscriptions may name
	// (webpush.Policy.Hosts); default webpush.DefaultHosts.
	PushAllowHosts []string
	// PushAllowLoopback allows http:// loopback endpoints: tests only,
	// refused in demo mode.
	PushAllowLoopback bool
	PushDefault       string        // never, offline or always; default offline
	PushDelay         time.Duration // offline pushes wait this long; default 30 s
	PushTTL           time.Duration // a push's TTL and retry window; default 24 h
	PublicURL         string        // belfry's public base URL, for the service worker

	WebhookURL       string        // the app's webhook endpoint; "" turns webhooks off
	WebhookSecrets   []string      // whsec_… secrets, the current one first
	EscalateAfter    time.Duration // notification.unseen after this; default 15 min; 0: never
	PresenceDebounce time.Duration // user.online/offline hold this long first; default 10 s
}

func defaultReachFlags() ReachFlags {
	return ReachFlags{PushDefault: string(belfry.PushOffline), PushDelay: 30 * time.Second,
		PushTTL: 24 * time.Hour, EscalateAfter: 15 * time.Minute, PresenceDebounce: 10 * time.Second}
}

// define adds the flags to fs; lists are filled by finish from the
// listFlag values it returns.
func (f *ReachFlags) define(fs *flag.FlagSet) (hosts, secrets *listFlag) {
	fs.StringVar(&f.VAPIDKeyFile, "vapid-key-file", f.VAPIDKeyFile, "`file` of the VAPID key pair that signs Web Push requests, created (mode 0600) if missing; setting it turns Web Push on. Every node uses the same file")
	fs.StringVar(&f.VAPIDSubject, "vapid-subject", f.VAPIDSubject, "mailto: or https: `URL` where push services can reach you (required with --vapid-key-file)")
	h := listFlag(f.PushAllowHosts)
	fs.Var(&h, "push-allow-host", "push service `host` a subscription may name (exact, or *.suffix; repeatable; default the browsers' services)")
	fs.BoolVar(&f.PushAllowLoopback, "push-allow-loopback", f.PushAllowLoopback, "TESTS ONLY: also allow http:// push endpoints on loopback (refused in demo mode)")
	fs.StringVar(&f.PushDefault, "push-default", f.PushDefault, "`mode` of a publish without \"push\": never, offline (after --push-delay, if unseen and the user has no open stream) or always")
	fs.DurationVar(&f.PushDelay, "push-delay", f.PushDelay, "how long an offline push waits for the user to see the notification")
	fs.DurationVar(&f.PushTTL, "push-ttl", f.PushTTL, "TTL of a push at the push service, and how long a failing push is retried")
	fs.StringVar(&f.PublicURL, "public-url", f.PublicURL, "belfry's public base `URL` (https://belfry.example.com), given to the service worker in each push (default: the worker's own origin)")
	fs.StringVar(&f.WebhookURL, "webhook-url", f.WebhookURL, "the app's webhook `URL`: escalations, actions, reads and presence are posted there, signed (Standard Webhooks)")
	s := listFlag(f.WebhookSecrets)
	fs.Var(&s, "webhook-secret", "whsec_… `secret` that signs webhooks (repeatable to rotate: the current one first); required with --webhook-url")
	fs.DurationVar(&f.EscalateAfter, "escalate-after", f.EscalateAfter, "send notification.unseen when a notification is still unseen this long after it was created (0: never)")
	fs.DurationVar(&f.PresenceDebounce, "presence-debounce", f.PresenceDebounce, "user.online and user.offline are sent once a change has held this long (a page reload sends none)")
	return &h, &s
}

// check validates the flags; demo says whether serve runs in demo mode.
func (f *ReachFlags) check(demo bool) error {
	if !belfry.ValidPushMode(belfry.PushMode(f.PushDefault)) {
		return fmt.Errorf("--push-default must be never, offline or always, not %q", f.PushDefault)
	}
	if f.PushDelay < 0 || f.PushTTL <= 0 || f.EscalateAfter < 0 || f.PresenceDebounce <= 0 {
		return errors.New("--push-delay and --escalate-after must be 0 or more; --push-ttl and --presence-debounce positive")
	}
	if f.PushTTL > 28*24*time.Hour {
		return errors.New("--push-ttl must be at most 28 days (push services keep a message no longer)")
	}
	if f.PushAllowLoopback && demo {
		return errors.New("--push-allow-loopback is for tests and is refused in demo mode")
	}
	if f.VAPIDKeyFile != "" && !demo {
		if err := checkSubject(f.VAPIDSubject); err != nil {
			return err
		}
	}
	if f.PublicURL != "" {
		u, err := url.Parse(f.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("--public-url must be an http(s) base URL without a path, not %q", f.PublicURL)
		}
		f.PublicURL = strings.TrimSuffix(f.PublicURL, "/")
	}
	if (f.WebhookURL == "") != (len(f.WebhookSecrets) == 0) {
		return errors.New("--webhook-url and --webhook-secret go together (make a secret with: belfry webhook-secret)")
	}
	if f.WebhookURL != "" {
		if _, err := webhook.New(f.WebhookURL, f.WebhookSecrets...); err != nil {
			return fmt.Errorf("--webhook-url/--webhook-secret: %s", belfry.ErrorMessage(err))
		}
	}
	return nil
}

func checkSubject(s string) error {
	u, err := url.Parse(s)
	if s == "" || err != nil || (u.Scheme != "mailto" && u.Scheme != "https") {
		return errors.New("--vapid-subject must be a mailto: or https: URL where push services can reach you (e.g. mailto:ops@example.com)")
	}
	return nil
}

// reachParts are what serve builds from ReachFlags.
type reachParts struct {
	reach    *belfry.Reach
	pushKey  string                      // "" when push is off
	endpoint func(endpoint string) error // the subscription check
}

// buildReach sets Web Push and webhooks up: the VAPID key (created if
// missing), the push policy and the webhook client.
func (m *Main) buildReach(store belfry.Store, presence belfry.Presence, log *slog.Logger) (*reachParts, error) {
	f := &m.Reach
	r := &belfry.Reach{Store: store, Presence: presence, PushDefault: belfry.PushMode(f.PushDefault),
		PushDelay: f.PushDelay, PushTTL: f.PushTTL, EscalateAfter: f.EscalateAfter,
		PresenceDebounce: f.PresenceDebounce, API: f.PublicURL, Logger: log,
		Token: httpapi.PushTokenMinter([]byte(m.JWTSecret))}
	if f.EscalateAfter == 0 {
		r.EscalateAfter = -1
	}
	if f.PushDelay == 0 {
		r.PushDelay = time.Nanosecond // "at once", after the commit
	}
	parts := &reachParts{reach: r}
	keyFile, subject := f.VAPIDKeyFile, f.VAPIDSubject
	if keyFile == "" && m.DemoMode {
		keyFile = demoVAPIDFile(m.Store)
	}
	if subject == "" && m.DemoMode {
		subject = "mailto:demo@localhost"
	}
	if keyFile != "" {
		key, created, err := webpush.LoadOrCreateKey(keyFile)
		if err != nil {
			return nil, fmt.Errorf("--vapid-key-file: %w", err)
		}
		if created {
			log.Info("created a VAPID key pair; give every node this file", "file", keyFile)
		}
		policy := webpush.Policy{Hosts: f.PushAllowHosts, AllowLoopback: f.PushAllowLoopback}
		c, err := webpush.New(webpush.Options{Key: key, Subject: subject, Policy: policy})
		if err != nil {
			return nil, fmt.Errorf("web push: %w", err)
		}
		r.Push = c
		parts.pushKey = key.PublicKey()
		parts.endpoint = policy.CheckEndpoint
	}
	if f.WebhookURL != "" {
		c, err := webhook.New(f.WebhookURL, f.WebhookSecrets...)
		if err != nil {
			return nil, fmt.Errorf("--webhook-url: %w", err)
		}
		r.Webhook = c
	}
	return parts, nil
}

// demoVAPIDFile is demo mode's key file, in demoDir.
func demoVAPIDFile(store string) string {
	return filepath.Join(demoDir(store), "belfry-vapid.pem")
}

// openPresence returns the presence that matches the broker: Redis-wide
// with a Redis broker (keys under the --redis-prefix, or "belfry:"), this
// node's own with the memory broker. leave tells the other nodes this one
// is going (after its streams ended); closing releases its connections.
func openPresence(ctx context.Context, brokerURL, prefix string, log *slog.Logger) (p belfry.Presence, leave func(context.Context), closer func(), err error) {
	switch schemeOf(brokerURL) {
	case "redis", "rediss", "unix":
		rp, err := redisbus.OpenPresence(ctx, brokerURL, redisbus.PresenceOptions{Prefix: prefix, Logger: log})
		if err != nil {
			return nil, nil, nil, err
		}
		leave := func(ctx context.Context) {
			if err := rp.Leave(ctx); err != nil {
				log.Warn("presence: could not tell the other nodes this one left; they notice within the presence timeout", "err", err)
			}
		}
		return rp, leave, func() { _ = rp.Close() }, nil
	}
	return memory.NewPresence(memory.PresenceOptions{}), func(context.Context) {}, func() {}, nil
}
