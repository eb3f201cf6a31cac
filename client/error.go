package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/belfry/belfry/internal/retryafter"
)

// Error is an error answer of the server: the HTTP status and the
// contract's {"error": {"code", "message"}} body. Code is one of belfry's
// E* constants (belfry.EINVALID, belfry.ENOTFOUND, belfry.ERATELIMIT…), or
// "" when the answer did not carry belfry's error body (a proxy's 502 page,
// for example); Message is then the start of the body, or the status text.
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the answer's Retry-After (429 and 503 carry one): how
	// long the server asked to wait before trying again; 0 when absent.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("belfry: %d %s", e.Status, e.Message)
	}
	return fmt.Sprintf("belfry: %d %s: %s", e.Status, e.Code, e.Message)
}

// IsNotFound reports whether err is a 404 answer: no such notification
// for that user, no such failed webhook.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// maxErrorText bounds the text of a non-belfry error body kept in Message.
const maxErrorText = 200

// errorOf builds the *Error of an answer with a status of 400 or more.
// now is the client's clock, for a Retry-After given as an HTTP date.
func errorOf(status int, h http.Header, body []byte, now time.Time) *Error {
	e := &Error{Status: status, RetryAfter: retryafter.Parse(h.Get("Retry-After"), now)}
	var b struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) == nil && b.Error != nil && b.Error.Code != "" {
		e.Code, e.Message = b.Error.Code, b.Error.Message
		return e
	}
	text := strings.TrimSpace(string(body))
	if len(text) > maxErrorText {
		text = text[:maxErrorText] + "…"
	}
	if text == "" {
		text = http.StatusText(status)
	}
	e.Message = text
	return e
}

// retryableStatus reports whether an answer with this status may be tried
// again: 429 and 503 for every call (belfry refused before changing
// anything), the other 5xx but 501 only for idempotent calls.
func retryableStatus(status int, idempotent bool) bool {
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return true
	case status >= 500 && status != http.StatusNotImplemented:
		return idempotent
	}
	return false
}
