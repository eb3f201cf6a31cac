package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/client"
)

// asError returns err as a *client.Error, failing the test otherwise.
func asError(t *testing.T, err error) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *client.Error", err, err)
	}
	return e
}

// The contract's errors come back typed, and those that retrying cannot
// fix are not retried.
func TestErrors(t *testing.T) {
	e := newEnv(t, envOpts{})
	bad, err := client.New(e.url, "not-a-key", client.WithSleep(func(ctx context.Context, d time.Duration) error {
		t.Errorf("a %v wait after a 401", d)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Publish(ctxT(t), "alice", client.Message{Message: "m"})
	if ce := asError(t, err); ce.Status != http.StatusUnauthorized || ce.Code != belfry.EUNAUTHORIZED || ce.Message == "" {
		t.Fatalf("bad key: %+v", ce)
	}

	c := e.client("")
	_, err = c.Publish(ctxT(t), "alice", client.Message{Message: " "})
	if ce := asError(t, err); ce.Status != http.StatusBadRequest || ce.Code != belfry.EINVALID || ce.RetryAfter != 0 {
		t.Fatalf("empty message: %+v", ce)
	}
	_, err = c.Publish(ctxT(t), "alice", client.Message{Message: "m", Link: "javascript:alert(1)"})
	if ce := asError(t, err); ce.Status != http.StatusBadRequest || ce.Code != belfry.EINVALID {
		t.Fatalf("bad link: %+v", ce)
	}
	_, err = c.Publish(ctxT(t), "alice", client.Message{Message: "m", Data: []int{1}})
	if ce := asError(t, err); ce.Status != http.StatusBadRequest || ce.Code != belfry.EINVALID {
		t.Fatalf("data not an object: %+v", ce)
	}
	_, err = c.Publish(ctxT(t), "alice", client.Message{Message: "m", IdempotencyKey: "bad\nkey"})
	if err == nil {
		t.Fatal("a key with a newline: no error")
	}
	_, err = c.RetryWebhook(ctxT(t), "msg_nope")
	if ce := asError(t, err); ce.Status != http.StatusNotFound || ce.Code != belfry.ENOTFOUND || !client.IsNotFound(err) {
		t.Fatalf("retry of an unknown webhook: %+v", ce)
	}
	_, err = c.Presence(ctxT(t), "")
	if ce := asError(t, err); ce.Status != http.StatusBadRequest || ce.Code != belfry.EINVALID {
		t.Fatalf("presence of an empty id: %+v", ce)
	}
	if w := e.waits(); len(w) != 0 {
		t.Fatalf("errors that cannot change were retried: %v", w)
	}
	if client.IsNotFound(errors.New("x")) || client.IsNotFound(nil) {
		t.Fatal("IsNotFound of other errors")
	}
}

func TestNewRefusesBadArguments(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "ftp://h/", "http://h/?q=1", "http:///x"} {
		if _, err := client.New(u, "k"); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
	if _, err := client.New("http://h", ""); err == nil {
		t.Error("New without a key: no error")
	}
}
