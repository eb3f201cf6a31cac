package webpush

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// loopbackSubscription is a subscription to a test server's /push with
// valid keys (RFC 8291, appendix A).
func loopbackSubscription(srv *httptest.Server) belfry.Subscription {
	return belfry.Subscription{
		Endpoint: srv.URL + "/push",
		P256DH:   "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
		Auth:     "BTBZMqHH6r4Tts7J_aSIgg",
	}
}

// TestPushTimeout: a push service that does not answer within
// Options.Timeout is EUNAVAILABLE, and so is a done context.
func TestPushTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	key, _ := GenerateKey()
	c, err := New(Options{Key: key, Subject: testSubject, Policy: Policy{AllowLoopback: true}, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Push(context.Background(), belfry.PushRequest{Subscription: loopbackSubscription(srv)})
	if belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Errorf("Push to a silent service: %v, want EUNAVAILABLE", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Push(ctx, belfry.PushRequest{Subscription: loopbackSubscription(srv)})
	if belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Errorf("Push with a done context: %v, want EUNAVAILABLE", err)
	}
}

// TestPushNoRedirect: a redirect is the answer, not followed; a long body
// is no trouble.
func TestPushNoRedirect(t *testing.T) {
	followed := make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/push", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(http.StatusTemporaryRedirect)
		w.Write([]byte(strings.Repeat("x", 64<<10)))
	})
	mux.HandleFunc("/elsewhere", func(http.ResponseWriter, *http.Request) { followed <- struct{}{} })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	key, _ := GenerateKey()
	c, err := New(Options{Key: key, Subject: testSubject, Policy: Policy{AllowLoopback: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d, err := c.Push(context.Background(), belfry.PushRequest{Subscription: loopbackSubscription(srv)})
	if err != nil || d.Status != http.StatusTemporaryRedirect {
		t.Fatalf("Push = %+v, %v; want the 307", d, err)
	}
	select {
	case <-followed:
		t.Error("the redirect was followed")
	default:
	}
}

// TestPushRefusesBeforeSending: requests the Client refuses never reach
// the service.
func TestPushRefusesBeforeSending(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a refused request reached the service")
	}))
	defer srv.Close()
	key, _ := GenerateKey()
	c, _ := New(Options{Key: key, Subject: testSubject, Policy: Policy{AllowLoopback: true}})
	defer c.Close()
	good := loopbackSubscription(srv)
	badKeys := good
	badKeys.Auth = "AAAA"
	strict, _ := New(Options{Key: key, Subject: testSubject}) // no loopback
	defer strict.Close()
	for name, tc := range map[string]struct {
		c *Client
		r belfry.PushRequest
	}{
		"keys":      {c, belfry.PushRequest{Subscription: badKeys}},
		"urgency":   {c, belfry.PushRequest{Subscription: good, Urgency: "now"}},
		"topic":     {c, belfry.PushRequest{Subscription: good, Topic: "no spaces"}},
		"ttl":       {c, belfry.PushRequest{Subscription: good, TTL: -time.Second}},
		"payload":   {c, belfry.PushRequest{Subscription: good, Payload: make([]byte, MaxPayload+1)}},
		"loopback":  {strict, belfry.PushRequest{Subscription: good}},
		"no scheme": {c, belfry.PushRequest{Subscription: belfry.Subscription{Endpoint: "localhost/push", P256DH: good.P256DH, Auth: good.Auth}}},
	} {
		if _, err := tc.c.Push(context.Background(), tc.r); belfry.ErrorCode(err) != belfry.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
}

func TestMaxPayloadIsTheRunnersBound(t *testing.T) {
	if MaxPayload != belfry.MaxPushPayload {
		t.Fatalf("webpush.MaxPayload %d, belfry.MaxPushPayload %d: the runner would send payloads the client refuses", MaxPayload, belfry.MaxPushPayload)
	}
}
