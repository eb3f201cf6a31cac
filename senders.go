package belfry

import (
	"context"
	"time"
)

// PushMode says when a notification is pushed to the user's devices.
type PushMode string

const (
	PushNever   PushMode = "never"
	PushOffline PushMode = "offline" // after the push delay, if still unseen and the user has no open stream
	PushAlways  PushMode = "always"  // at once
)

// ValidPushMode reports whether m is one of the modes ("" is not).
func ValidPushMode(m PushMode) bool {
	return m == PushNever || m == PushOffline || m == PushAlways
}

// MaxPushPayload is the largest push payload: with aes128gcm's header and
// padding delimiter the request body is then 4,096 bytes, what every push
// service must accept (RFC 8291 §4).
const MaxPushPayload = 3993

// PushRequest is one Web Push request (RFC 8030) to one subscription.
type PushRequest struct {
	Subscription Subscription
	Payload      []byte        // plaintext; the sender encrypts it (RFC 8291, aes128gcm)
	TTL          time.Duration // the TTL header, in whole seconds
	Urgency      string        // very-low, low, normal or high
	Topic        string        // at most 32 base64url characters
}

// Delivery is a peer's answer to one push or webhook request.
type Delivery struct {
	Status     int           // the HTTP status
	RetryAfter time.Duration // from Retry-After; 0 when absent
}

// PushSender sends Web Push requests; webpush.Client is the one.
type PushSender interface {
	// Push encrypts r.Payload for the subscription, signs a VAPID JWT for
	// the endpoint's origin and sends it. A peer that answered, whatever
	// the status, is not an error. Errors: EINVALID (a subscription whose
	// keys or endpoint are unusable, or a payload too large to encrypt),
	// EUNAVAILABLE (no answer: the network, a timeout).
	Push(ctx context.Context, r PushRequest) (Delivery, error)
}

// WebhookSender delivers signed webhooks (Standard Webhooks);
// webhook.Client is the one.
type WebhookSender interface {
	// Deliver posts body to the app, signed, with the headers webhook-id
	// (id), webhook-timestamp (at) and webhook-signature. A peer that
	// answered, whatever the status, is not an error. Errors: EUNAVAILABLE
	// (no answer).
	Deliver(ctx context.Context, id string, at time.Time, body []byte) (Delivery, error)
}
