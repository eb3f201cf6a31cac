// Package client is a Go client for belfry's publisher API (docs/API.md):
// publish to one user or many, retract, a user's preferences, presence,
// the failed webhooks and their retry, and minting user tokens.
//
// Every call retries what is safe to retry: 429 and 503 answers always
// (belfry changed nothing), other 5xx answers and network errors when the
// call is idempotent. A publish is made idempotent by its Idempotency-Key:
// the caller's, or one the client makes per call and keeps across its own
// retries, so a retried publish never creates a duplicate. Waits grow
// exponentially with jitter, never shorter than the server's Retry-After,
// and are bounded by the RetryPolicy and the call's context.
//
// Errors from the server are *Error values (use errors.As) with the
// contract's stable codes, which are belfry's E* constants
// (belfry.ENOTFOUND, belfry.ERATELIMIT, …).
//
// The package imports the root belfry package for the shared types
// (belfry.Notification, belfry.Preferences, …) and no store or broker
// driver.
package client
