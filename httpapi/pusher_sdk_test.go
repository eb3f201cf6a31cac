package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/internal/peers"
)

// TestPusherNodeSDK points Pusher's official Node server SDK (npm pusher)
// at belfry, as Laravel's broadcaster would be: a
// BroadcastNotificationCreated payload for private-App.Models.User.42
// lands in user 42's inbox and live stream once, however often it is
// sent; a batch stores its notification and acknowledges the rest; a
// wrong secret and a clock 700 s off are refused and store nothing.
func TestPusherNodeSDK(t *testing.T) {
	e := newPusherEnv(t, envOpts{})
	sdk := peers.StartPusher(t, e.url, pusherApp, pusherKey, pusherSecret)
	s := e.openStream(t, "", withBearer(e.token("42")))
	defer s.close()
	s.sync(t)

	const ch = "private-App.Models.User.42"
	payload := map[string]any{"id": "0b7c9a52-6f0e-4d8e-9a1c-2f3e4d5c6b7a",
		"type": `App\Notifications\InvoicePaid`, "message": "Facture n°7 payée", "title": "Paid",
		"link": "https://app.example.com/invoices/7", "invoice_id": 7}
	a := sdk.Trigger([]string{ch}, httpapi.PusherNotificationEvent, payload, nil)
	if a.Status != http.StatusOK || a.Body != "{}\n" {
		t.Fatalf("trigger: %+v", a)
	}
	n := s.notification(t)
	if n.UserID != "42" || n.Message != "Facture n°7 payée" || n.Title != "Paid" || n.Link != "https://app.example.com/invoices/7" {
		t.Fatalf("stream got %+v", n)
	}
	var d map[string]any
	if err := json.Unmarshal(n.Data, &d); err != nil || d["invoice_id"] != 7.0 || d["id"] != payload["id"] {
		t.Fatalf("data %s (%v)", n.Data, err)
	}

	// The same notification again (a retried broadcast job): nothing new.
	if a := sdk.Trigger([]string{ch}, httpapi.PusherNotificationEvent, payload, map[string]string{"socket_id": "123.456"}); a.Status != http.StatusOK {
		t.Fatalf("repeat: %+v", a)
	}
	if ns := e.inboxOf(t, "42"); len(ns) != 1 {
		t.Fatalf("after the repeat, user 42 has %d notifications", len(ns))
	}

	// A batch: a notification for 42 and an event that is no notification.
	a = sdk.TriggerBatch([]peers.PusherEvent{
		{Channel: ch, Name: httpapi.PusherNotificationEvent,
			Data: map[string]any{"id": "second", "type": `App\Notifications\OrderShipped`}},
		{Channel: "presence-chat", Name: "message.sent", Data: map[string]any{"text": "hi"}},
	})
	if a.Status != http.StatusOK || a.Body != `{"batch":[{},{}]}`+"\n" {
		t.Fatalf("batch: %+v", a)
	}
	// The stream's next notification is the batch's, not the repeat.
	if n := s.notification(t); n.Message != "Order shipped" {
		t.Fatalf("stream got %+v after the batch", n)
	}

	// Refusals: nothing stored.
	wrong := peers.StartPusher(t, e.url, pusherApp, pusherKey, "not-the-secret-0123456789")
	refused := map[string]any{"id": "refused", "message": "must not be stored"}
	if a := wrong.Trigger([]string{ch}, httpapi.PusherNotificationEvent, refused, nil); a.Status != http.StatusUnauthorized ||
		!strings.Contains(a.Body, "auth_signature") {
		t.Fatalf("wrong secret: %+v", a)
	}
	e.clockSkew.Store(int64(700 * time.Second))
	if a := sdk.Trigger([]string{ch}, httpapi.PusherNotificationEvent, refused, nil); a.Status != http.StatusUnauthorized ||
		!strings.Contains(a.Body, "auth_timestamp") {
		t.Fatalf("clock 700 s ahead: %+v", a)
	}
	e.clockSkew.Store(0)
	big := map[string]any{"id": "big", "message": strings.Repeat("x", 10241)}
	if a := sdk.Trigger([]string{ch}, httpapi.PusherNotificationEvent, big, nil); a.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("data over 10 KB: %+v", a)
	}
	if ns := e.inboxOf(t, "42"); len(ns) != 2 {
		t.Fatalf("user 42 has %d notifications, want 2", len(ns))
	}
	wantCounts(t, e, map[string]float64{"stored": 2, "duplicate": 1, "ignored": 1})
}
