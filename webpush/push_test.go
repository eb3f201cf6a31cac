package webpush

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// newTestClient returns a Client for the loopback receiver, whose clock
// stands still at now.
func newTestClient(t *testing.T, now time.Time) (*Client, *Key) {
	t.Helper()
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{
		Key:     key,
		Subject: testSubject,
		Policy:  Policy{AllowLoopback: true},
		Now:     func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, key
}

// checkReport fails the test for anything the receiver found wrong, and
// checks what every request must carry.
func checkReport(t *testing.T, rep report, r *receiver, key *Key) {
	t.Helper()
	for _, e := range rep.Errors {
		t.Errorf("the receiver found: %s", e)
	}
	if rep.K != key.PublicKey() {
		t.Errorf("k = %q, want the Key's public key %q", rep.K, key.PublicKey())
	}
	if rep.Claims.Aud != r.origin || rep.Claims.Sub != testSubject {
		t.Errorf("claims aud %q sub %q, want %q %q", rep.Claims.Aud, rep.Claims.Sub, r.origin, testSubject)
	}
	if rep.Header.Alg != "ES256" || rep.Header.Typ != "JWT" {
		t.Errorf("JWT header %+v", rep.Header)
	}
	if rep.RS != 4096 || rep.Idlen != 65 {
		t.Errorf("rs %d idlen %d, want 4096 65", rep.RS, rep.Idlen)
	}
}

// TestPushNode sends requests to a Node receiver that decrypts them with
// http_ece and verifies their VAPID JWT with Node's crypto.
func TestPushNode(t *testing.T) {
	r := startReceiver(t)
	now := time.Now().Truncate(time.Second)
	c, key := newTestClient(t, now)
	ctx := context.Background()

	t.Run("headers and payload", func(t *testing.T) {
		payload := []byte(`{"id":12,"user_id":"alice","title":"Invoice paid","body":"the message"}`)
		d, err := c.Push(ctx, belfry.PushRequest{
			Subscription: r.subscription(201, ""),
			Payload:      payload,
			TTL:          3600*time.Second + 900*time.Millisecond,
			Urgency:      "high",
			Topic:        "inbox-7_A",
		})
		if err != nil || d != (belfry.Delivery{Status: 201}) {
			t.Fatalf("Push = %+v, %v; want 201", d, err)
		}
		rep := r.next(t)
		checkReport(t, rep, r, key)
		if !bytes.Equal(rep.Plaintext, payload) {
			t.Errorf("http_ece decrypted %q, want %q", rep.Plaintext, payload)
		}
		if rep.TTL != "3600" || rep.Urgency != "high" || rep.Topic != "inbox-7_A" {
			t.Errorf("TTL %q Urgency %q Topic %q, want 3600 high inbox-7_A", rep.TTL, rep.Urgency, rep.Topic)
		}
		if rep.Claims.Exp != now.Add(12*time.Hour).Unix() {
			t.Errorf("exp %d, want now+12h %d", rep.Claims.Exp, now.Add(12*time.Hour).Unix())
		}
	})

	t.Run("no urgency, no topic, empty payload, standard base64 keys", func(t *testing.T) {
		s := r.subscription(201, "")
		s.P256DH = toStdBase64(t, s.P256DH)
		s.Auth = toStdBase64(t, s.Auth)
		d, err := c.Push(ctx, belfry.PushRequest{Subscription: s})
		if err != nil || d.Status != 201 {
			t.Fatalf("Push = %+v, %v; want 201", d, err)
		}
		rep := r.next(t)
		checkReport(t, rep, r, key)
		if len(rep.Plaintext) != 0 || rep.TTL != "0" || rep.Urgency != "" || rep.Topic != "" {
			t.Errorf("plaintext %q TTL %q Urgency %q Topic %q; want empty, 0, none, none",
				rep.Plaintext, rep.TTL, rep.Urgency, rep.Topic)
		}
	})

	t.Run("the largest payload, then one byte more", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), MaxPayload)
		d, err := c.Push(ctx, belfry.PushRequest{Subscription: r.subscription(201, ""), Payload: big, TTL: time.Minute})
		if err != nil || d.Status != 201 {
			t.Fatalf("Push of %d bytes = %+v, %v; want 201", len(big), d, err)
		}
		rep := r.next(t)
		checkReport(t, rep, r, key)
		if !bytes.Equal(rep.Plaintext, big) || rep.BodyLen != 4096 {
			t.Errorf("decrypted %d bytes in a body of %d, want %d in 4096", len(rep.Plaintext), rep.BodyLen, len(big))
		}

		_, err = c.Push(ctx, belfry.PushRequest{Subscription: r.subscription(201, ""), Payload: append(big, 'y'), TTL: time.Minute})
		if belfry.ErrorCode(err) != belfry.EINVALID {
			t.Fatalf("Push of %d bytes: %v, want EINVALID", len(big)+1, err)
		}
		// Nothing was sent: the next request the receiver sees is this one.
		if _, err := c.Push(ctx, belfry.PushRequest{Subscription: r.subscription(202, ""), Payload: []byte("after")}); err != nil {
			t.Fatal(err)
		}
		if rep := r.next(t); rep.Status != 202 || string(rep.Plaintext) != "after" {
			t.Errorf("the receiver saw %s %q, want the request after the refused one", rep.Path, rep.Plaintext)
		}
	})

	t.Run("statuses", func(t *testing.T) {
		for _, tc := range []struct {
			status     int
			retryAfter string
			want       time.Duration
		}{
			{404, "", 0},
			{410, "", 0},
			{413, "", 0},
			{429, "120", 120 * time.Second},
			{429, now.Add(90 * time.Second).UTC().Format(http.TimeFormat), 90 * time.Second},
			{500, "", 0},
			{503, "7", 7 * time.Second},
		} {
			d, err := c.Push(ctx, belfry.PushRequest{Subscription: r.subscription(tc.status, tc.retryAfter), Payload: []byte("hi")})
			want := belfry.Delivery{Status: tc.status, RetryAfter: tc.want}
			if err != nil || d != want {
				t.Errorf("Push to a %d with Retry-After %q = %+v, %v; want %+v", tc.status, tc.retryAfter, d, err, want)
			}
			rep := r.next(t)
			checkReport(t, rep, r, key)
			if string(rep.Plaintext) != "hi" {
				t.Errorf("decrypted %q, want hi", rep.Plaintext)
			}
		}
	})
}

func toStdBase64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	std := base64.StdEncoding.EncodeToString(b)
	if !strings.ContainsAny(std, "+/=") {
		t.Logf("%s has no character that differs in standard base64", std)
	}
	return std
}
