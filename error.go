package belfry

import (
	"errors"
	"fmt"
)

// Error codes. They are stable: clients and the HTTP layer rely on them, and
// httpapi maps each to exactly one HTTP status.
const (
	EINVALID      = "invalid_request"        // 400: bad input, nothing changed
	EUNAUTHORIZED = "unauthorized"           // 401: no credential, or a bad one
	EFORBIDDEN    = "forbidden"              // 403: the wrong kind of credential
	ENOTFOUND     = "not_found"              // 404: no such thing for this user
	EMETHOD       = "method_not_allowed"     // 405
	ECONFLICT     = "conflict"               // 409
	ETOOLARGE     = "payload_too_large"      // 413
	EMEDIATYPE    = "unsupported_media_type" // 415
	ERATELIMIT    = "rate_limited"           // 429
	EUNAVAILABLE  = "unavailable"            // 503: store or broker unreachable
	EINTERNAL     = "internal"               // 500: a bug
)

// Error codes of the stream limits (see hub.Config). A client waits, at
// least the answer's Retry-After, and tries again.
const (
	// ETOOMANYSTREAMS (429): the user already holds as many streams on
	// this node as it allows one user (hub.Config.MaxStreamsPerUser).
	ETOOMANYSTREAMS = "too_many_streams"
	// ESERVERFULL (503): the node holds as many streams as it allows
	// (hub.Config.MaxStreams); another node, or this one later, has room.
	ESERVERFULL = "server_full"
)

// EIDEMCONFLICT (409): an Idempotency-Key was used before with another
// request body.
const EIDEMCONFLICT = "idempotency_conflict"

// Error is belfry's one error type. Code is one of the E* constants; Message
// is safe to show to the caller.
type Error struct {
	Code    string
	Message string
	// Err is the underlying cause, for logs only (never sent to a client).
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("belfry %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("belfry %s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Unavailable wraps a driver error as EUNAVAILABLE, keeping the cause for logs.
func Unavailable(what string, err error) *Error {
	return &Error{Code: EUNAVAILABLE, Message: what + " is unavailable", Err: err}
}

// ErrorCode returns the code of err: the code of the first *Error in its
// chain, "" for nil, and EINTERNAL for anything else.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err. Errors that are not
// an *Error are bugs; their text is not shown.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
