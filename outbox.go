package belfry

import (
	"context"
	"time"
)

// JobKind says what an outbox job does when it is due.
type JobKind string

const (
	// JobPush decides, when due, whether notification NotificationID is
	// pushed (its push mode, its state, the user's preference and
	// presence), and if so settles into one JobPushSend per subscription.
	// Payload: the push mode ("offline" or "always").
	JobPush JobKind = "push"
	// JobPushSend is one Web Push request to one subscription. Payload:
	// PushSendPayload as JSON.
	JobPushSend JobKind = "push-send"
	// JobEscalate checks, when due, whether notification NotificationID is
	// still unseen, unread, unarchived and unexpired with the category's
	// webhook switch on, and if so settles into a JobWebhook
	// (notification.unseen).
	JobEscalate JobKind = "escalate"
	// JobWebhook is one webhook delivery. ID is its webhook-id, the same
	// on every attempt. Payload: the body, exactly as signed and sent.
	JobWebhook JobKind = "webhook"
)

// Job is one row of the outbox: scheduled work that must survive a crash.
// The store treats Payload as opaque bytes.
type Job struct {
	ID             string  // unique; stable across attempts (the webhook-id of a JobWebhook)
	Kind           JobKind //
	UserID         string  // the user it concerns
	NotificationID int64   // the notification it concerns; 0 when none
	// Index is used in Batch.Jobs only: the index in Batch.Notifications
	// of the notification the job belongs to. The store sets
	// NotificationID from it and drops the job when that notification is
	// not stored (skipped, or the batch replayed).
	Index int
	// OnlyIfSubscribed, in Batch.Jobs and Enqueue: store the job only if
	// the user has at least one push subscription (set on JobPush, so that
	// users without a device cost no row).
	OnlyIfSubscribed bool

	Created   time.Time // when it was enqueued
	Due       time.Time // when it may run next
	Attempts  int       // attempts that ended in a retry or a failure
	Payload   []byte    //
	Failed    bool      // it gave up; kept for FailedJobs and Revive
	LastError string    // the last attempt's error, for operators (≤ 500 bytes)
	// Claim is set by Outbox.Claim: the token that Settle must present.
	// Empty on a job not claimed.
	Claim string
}

// PushSendPayload is a JobPushSend's payload.
type PushSendPayload struct {
	Endpoint string `json:"endpoint"` // the subscription's endpoint
	Small    bool   `json:"small,omitempty"`
	Expires  string `json:"expires"` // RFC 3339: give up then (the push TTL after the first attempt)
}

// Settlement ends the attempt of a claimed job. Exactly one of Done, Retry
// (not zero) and Fail applies.
type Settlement struct {
	ID, Claim string
	Done      bool      // delete the job
	Retry     time.Time // keep it pending, due then, Attempts+1
	Fail      bool      // mark it failed, Attempts+1
	LastError string    // with Retry or Fail
	// Payload, when not nil, replaces the job's payload (with Retry).
	Payload []byte
	// Next are enqueued in the same transaction (with Done: what the job
	// turned into).
	Next []Job
}

// Outbox holds the jobs of Web Push and webhooks. Every Store implements
// it, in the store's database, so a job is as durable as a notification.
//
// Claims are leases: Claim hands a due job to one caller for lease; if its
// Settle does not come in time (the node died), the job is due again and
// another Claim takes it. A job is therefore run at least once, and, in the
// normal case, by exactly one node.
type Outbox interface {
	// Enqueue stores the jobs (Claim empty, Failed false). A job whose ID
	// is already stored is left as it is. Errors: EUNAVAILABLE.
	Enqueue(ctx context.Context, jobs []Job) error

	// Claim leases up to limit jobs that are not failed, with Due <= now
	// and no lease or an expired one, soonest Due first: each gets a new
	// Claim token, held until now+lease. Two Claims never return the same
	// job while a lease on it holds. Errors: EUNAVAILABLE.
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Job, error)

	// Settle ends a claimed job's attempt (see Settlement), atomically with
	// enqueuing s.Next. When the job is gone or its Claim is no longer
	// s.Claim (the lease expired and another node claimed it), nothing
	// changes and the error is ECONFLICT. Errors: ECONFLICT, EUNAVAILABLE.
	Settle(ctx context.Context, s Settlement) error

	// FailedJobs returns up to limit failed jobs of the kind, newest
	// Created first, with ID below before when before is not "" (a page
	// cursor: ids sort by creation). Errors: EUNAVAILABLE.
	FailedJobs(ctx context.Context, kind JobKind, before string, limit int) ([]Job, error)

	// Revive makes a failed job pending again: due at now, Attempts 0, no
	// lease, same ID. Errors: ENOTFOUND (no such failed job), EUNAVAILABLE.
	Revive(ctx context.Context, id string, now time.Time) (Job, error)
}

// MaxSubscriptions bounds a user's push subscriptions.
const MaxSubscriptions = 20

// Subscription is a browser's PushSubscription: where and how to push.
type Subscription struct {
	Endpoint string    `json:"endpoint"` // https URL of the push service
	P256DH   string    `json:"p256dh"`   // the browser's ECDH P-256 public key, base64url (65 bytes uncompressed)
	Auth     string    `json:"auth"`     // the auth secret, base64url (16 bytes)
	Created  time.Time `json:"created_at"`
}

// Subscriptions are the users' push subscriptions. Every Store implements
// it. An endpoint belongs to one user at a time.
type Subscriptions interface {
	// Subscribe stores s for the user. A subscription with the same
	// endpoint is replaced, whoever's it was (the browser moved to another
	// user). Errors: ELIMIT when the user already has MaxSubscriptions
	// others, EUNAVAILABLE.
	Subscribe(ctx context.Context, userID string, s Subscription) error
	// Unsubscribe removes the user's subscription with this endpoint.
	// Errors: ENOTFOUND, EUNAVAILABLE.
	Unsubscribe(ctx context.Context, userID, endpoint string) error
	// SubscriptionsOf returns the user's subscriptions, oldest first.
	// Errors: EUNAVAILABLE.
	SubscriptionsOf(ctx context.Context, userID string) ([]Subscription, error)
}

// ELIMIT (409): a per-user limit other than streams is reached (push
// subscriptions).
const ELIMIT = "limit_reached"
