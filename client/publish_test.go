package client_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/client"
)

// Every field of the publish body reaches the server and comes back.
func TestPublishOne(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client("")
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	p, err := c.Publish(ctxT(t), "alice", client.Message{
		Message: "Your export is ready", Title: "Export", Link: "/exports/9", Category: "exports",
		Data: map[string]int{"export_id": 9}, Avatar: "https://cdn.example.com/u/7.png",
		Actions:   []belfry.Action{{ID: "open", Label: "Open", URL: "/exports/9"}, {ID: "dismiss", Label: "Dismiss"}},
		ExpiresAt: exp, Push: belfry.PushNever,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notifications) != 1 || p.Replayed || len(p.Skipped) != 0 || p.IdempotencyKey == "" {
		t.Fatalf("published %+v", p)
	}
	n := p.Notifications[0]
	if n.ID != 1 || n.UserID != "alice" || n.Message != "Your export is ready" || n.Title != "Export" ||
		n.Link != "/exports/9" || n.Category != "exports" || string(n.Data) != `{"export_id":9}` ||
		n.Avatar != "https://cdn.example.com/u/7.png" || len(n.Actions) != 2 || n.Actions[0].URL != "/exports/9" ||
		n.ExpiresAt == nil || !n.ExpiresAt.Equal(exp) || n.CreatedAt.IsZero() {
		t.Fatalf("notification %+v", n)
	}

	// ttl instead of expires_at, and user ids that need escaping.
	p, err = c.Publish(ctxT(t), "user/7 é", client.Message{Message: "m", TTL: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	n = p.Notifications[0]
	// The ttl is rounded up to 2 s from the publish's start; the store
	// stamps created_at a few milliseconds later.
	if n.UserID != "user/7 é" || n.ExpiresAt == nil || n.ExpiresAt.Sub(n.CreatedAt) > 2*time.Second ||
		n.ExpiresAt.Sub(n.CreatedAt) < 1900*time.Millisecond {
		t.Fatalf("ttl notification %+v (expires %v)", n, n.ExpiresAt)
	}
	if err := c.Retract(ctxT(t), "user/7 é", n.ID); err != nil {
		t.Fatalf("retract of an escaped user id: %v", err)
	}
}

func TestPublishMany(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client("")
	p, err := c.PublishMany(ctxT(t), []string{"42", "bob", "42", "carol"}, client.Message{Message: "Maintenance tonight"})
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, n := range p.Notifications {
		users = append(users, n.UserID)
		if n.ID != 1 || n.Message != "Maintenance tonight" {
			t.Errorf("notification %+v", n)
		}
	}
	if fmt.Sprint(users) != "[42 bob carol]" || p.Replayed || len(p.Skipped) != 0 {
		t.Fatalf("published %+v", p)
	}
	if _, err := c.PublishMany(ctxT(t), nil, client.Message{Message: "m"}); err == nil {
		t.Fatal("PublishMany to nobody: no error")
	}
}

// Users whose preferences turn the category off are skipped: a one-user
// publish answers 200 {"skipped":[…]}, a many-user one names them in
// Belfry-Skipped.
func TestPublishSkipped(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client("")
	off := false
	for _, u := range []string{"bob", "zoë"} {
		if _, err := c.SetPreferences(ctxT(t), u, belfry.PreferencesPatch{
			Categories: map[string]*belfry.ChannelsPatch{"marketing": {InApp: &off}}}); err != nil {
			t.Fatal(err)
		}
	}
	m := client.Message{Message: "Sale!", Category: "marketing"}
	p, err := c.PublishMany(ctxT(t), []string{"alice", "bob", "zoë"}, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notifications) != 1 || p.Notifications[0].UserID != "alice" || fmt.Sprint(p.Skipped) != "[bob zoë]" {
		t.Fatalf("many: %+v", p)
	}
	p, err = c.Publish(ctxT(t), "bob", m)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notifications) != 0 || fmt.Sprint(p.Skipped) != "[bob]" || p.Replayed {
		t.Fatalf("one: %+v", p)
	}
	p, err = c.PublishMany(ctxT(t), []string{"bob", "zoë"}, m)
	if err != nil || len(p.Notifications) != 0 || fmt.Sprint(p.Skipped) != "[bob zoë]" {
		t.Fatalf("all skipped: %+v, %v", p, err)
	}
	if e.count("bob") != 0 || e.count("alice") != 1 {
		t.Fatalf("stored: bob %d, alice %d", e.count("bob"), e.count("alice"))
	}
}

// The caller's key makes a repeat a replay; without one, each call is
// new.
func TestPublishIdempotencyKey(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client("")
	m := client.Message{Message: "Invoice paid", IdempotencyKey: "job-7"}
	first, err := c.Publish(ctxT(t), "alice", m)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Publish(ctxT(t), "alice", m)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.IdempotencyKey != "job-7" || again.Notifications[0].ID != first.Notifications[0].ID ||
		!again.Notifications[0].CreatedAt.Equal(first.Notifications[0].CreatedAt) {
		t.Fatalf("repeat: %+v, first %+v", again, first)
	}
	// Another message with the same key is a conflict.
	m.Message = "Invoice refunded"
	_, err = c.Publish(ctxT(t), "alice", m)
	if e := asError(t, err); e.Status != 409 || e.Code != belfry.EIDEMCONFLICT {
		t.Fatalf("another body, same key: %+v", e)
	}
	// Client-made keys differ per call.
	a, err := c.Publish(ctxT(t), "alice", client.Message{Message: "x"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Publish(ctxT(t), "alice", client.Message{Message: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if a.IdempotencyKey == b.IdempotencyKey || a.Replayed || b.Replayed || e.count("alice") != 3 {
		t.Fatalf("two calls: keys %q %q, replayed %v %v, %d stored", a.IdempotencyKey, b.IdempotencyKey, a.Replayed, b.Replayed, e.count("alice"))
	}
}

func TestRetract(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client("")
	p, err := c.Publish(ctxT(t), "alice", client.Message{Message: "oops"})
	if err != nil {
		t.Fatal(err)
	}
	id := p.Notifications[0].ID
	if err := c.Retract(ctxT(t), "bob", id); !client.IsNotFound(err) {
		t.Fatalf("retract of another user's id: %v", err)
	}
	if err := c.Retract(ctxT(t), "alice", id); err != nil {
		t.Fatal(err)
	}
	if e.count("alice") != 0 {
		t.Fatal("still there after the retract")
	}
	err = c.Retract(ctxT(t), "alice", id)
	if !client.IsNotFound(err) || asError(t, err).Code != belfry.ENOTFOUND {
		t.Fatalf("retract again: %v", err)
	}
	resp := e.userGet("alice", "/notifications")
	defer resp.Body.Close()
	var list []json.RawMessage
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || json.Unmarshal(b, &list) != nil || len(list) != 0 {
		t.Fatalf("the user's list after the retract: %d %s", resp.StatusCode, b)
	}
	if len(e.waits()) != 0 {
		t.Fatalf("a 404 was retried: %v", e.waits())
	}
}

func TestPreferences(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client("")
	p, err := c.Preferences(ctxT(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if p.Default != belfry.AllOn || len(p.Categories) != 0 {
		t.Fatalf("defaults %+v", p)
	}
	off := false
	p, err = c.SetPreferences(ctxT(t), "alice", belfry.PreferencesPatch{
		Default:    &belfry.ChannelsPatch{Push: &off},
		Categories: map[string]*belfry.ChannelsPatch{"marketing": {InApp: &off}, "billing": {Webhook: &off}}})
	if err != nil {
		t.Fatal(err)
	}
	want := belfry.Preferences{Default: belfry.Channels{InApp: true, Webhook: true},
		Categories: map[string]belfry.Channels{
			"marketing": {Webhook: true},            // from the new default: push off
			"billing":   {InApp: true, Push: false}, // webhook off
		}}
	got, err := c.Preferences(ctxT(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []*belfry.Preferences{p, got} {
		if q.Default != want.Default || len(q.Categories) != 2 || q.Categories["marketing"] != want.Categories["marketing"] ||
			q.Categories["billing"] != want.Categories["billing"] {
			t.Fatalf("preferences %+v, want %+v", q, want)
		}
	}
	// A nil category removes it.
	p, err = c.SetPreferences(ctxT(t), "alice", belfry.PreferencesPatch{Categories: map[string]*belfry.ChannelsPatch{"billing": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(mapKeys(p.Categories)); fmt.Sprint(keys) != "[marketing]" {
		t.Fatalf("after removing billing: %+v", p)
	}
	_, err = c.SetPreferences(ctxT(t), "alice", belfry.PreferencesPatch{Categories: map[string]*belfry.ChannelsPatch{"": {InApp: &off}}})
	if e := asError(t, err); e.Status != 400 || e.Code != belfry.EINVALID {
		t.Fatalf("empty category: %+v", e)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
