package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// change reads the next event, which must be the state event name, as a
// belfry.StateChange (its JSON is the event's data).
func (s *sseStream) change(t *testing.T, name string) belfry.StateChange {
	t.Helper()
	ev := s.event(t)
	if ev.name != name || ev.hasID {
		t.Fatalf("want %s without id, got %+v", name, ev)
	}
	var c belfry.StateChange
	if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
		t.Fatalf("%s: %v in %s", name, err, ev.data)
	}
	return c
}

// syncStats reads the next event, which must be a sync, as belfry.Stats.
func (s *sseStream) syncStats(t *testing.T) belfry.Stats {
	t.Helper()
	ev := s.event(t)
	if ev.name != "sync" || ev.hasID {
		t.Fatalf("want a sync, got %+v", ev)
	}
	var st belfry.Stats
	if err := json.Unmarshal([]byte(ev.data), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

type countsBody struct {
	LastID     *int64                   `json:"last_id"`
	Unread     int                      `json:"unread"`
	Unseen     int                      `json:"unseen"`
	ByCategory map[string]belfry.Counts `json:"by_category"`
}

// counts asks GET /notifications/counts and checks it against want.
func (e *env) wantCounts(t *testing.T, user, step string, unread, unseen int, byCat map[string]belfry.Counts) {
	t.Helper()
	r := e.user(user, "GET", "/notifications/counts")
	var c countsBody
	if r.status != 200 || json.Unmarshal(r.body, &c) != nil || c.LastID == nil {
		t.Fatalf("%s: counts %d %s", step, r.status, r.body)
	}
	if c.Unread != unread || c.Unseen != unseen || !maps.Equal(c.ByCategory, byCat) {
		t.Fatalf("%s: counts %s, want unread %d unseen %d by_category %v", step, r.body, unread, unseen, byCat)
	}
}

// wantEventCounts checks the counts a state event carries, in every tab.
func wantEventCounts(t *testing.T, step string, c belfry.StateChange, unread, unseen int, byCat map[string]belfry.Counts) {
	t.Helper()
	if c.Unread != unread || c.Unseen != unseen || !maps.Equal(c.ByCategory, byCat) {
		t.Fatalf("%s: event counts %+v, want unread %d unseen %d by_category %v", step, c.Stats, unread, unseen, byCat)
	}
}

func (e *env) publishJSON(t *testing.T, body string, opts ...reqOpt) reply {
	t.Helper()
	return e.do("POST", "/api/notifications", append([]reqOpt{withBearer(testAPIKey), withJSON(body)}, opts...)...)
}

type cc = map[string]belfry.Counts

// TestInboxAcrossTabs walks the inbox's state changes with two streams of
// one user open, checking the counts in both tabs and on the API after
// every step.
func TestInboxAcrossTabs(t *testing.T) { onEveryStore(t, testInboxAcrossTabs) }

func testInboxAcrossTabs(t *testing.T, o envOpts) {
	e := newEnv(t, o)
	const u = "inbox-user"
	tabs := []*sseStream{e.openStream(t, "", withBearer(e.token(u))), e.openStream(t, "", withBearer(e.token(u)))}
	for _, s := range tabs {
		if st := s.syncStats(t); st.Unread != 0 || st.Unseen != 0 || st.LastID != 0 || len(st.ByCategory) != 0 {
			t.Fatalf("first sync %+v", st)
		}
	}
	for i, cat := range []string{"billing", "billing", "comments", ""} {
		body := fmt.Sprintf(`{"user_id":%q,"message":"m%d","category":%q,"avatar":"/a.png",
			"actions":[{"id":"approve","label":"Approve","url":"/ok"},{"id":"reject","label":"Reject"}]}`, u, i, cat)
		if cat == "" {
			body = fmt.Sprintf(`{"user_id":%q,"message":"plain"}`, u)
		}
		if r := e.publishJSON(t, body); r.status != http.StatusCreated {
			t.Fatalf("publish: %d %s", r.status, r.body)
		}
	}
	for _, s := range tabs {
		s.expectIDs(t, u, 1, 4)
	}
	e.wantCounts(t, u, "published", 4, 4, cc{"billing": {Unread: 2, Unseen: 2}, "comments": {Unread: 1, Unseen: 1}})

	step := func(name, method, path, body string, status int, event string) belfry.StateChange {
		t.Helper()
		opts := []reqOpt{}
		if body != "" {
			opts = append(opts, withJSON(body))
		}
		if r := e.user(u, method, path, opts...); r.status != status {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		c := tabs[0].change(t, event)
		if c2 := tabs[1].change(t, event); c2.ID != c.ID || c2.Unread != c.Unread || c2.Unseen != c.Unseen {
			t.Fatalf("%s: the tabs disagree: %+v and %+v", name, c, c2)
		}
		return c
	}

	c := step("seen", "POST", "/notifications/seen", `{"up_to_id":3}`, 200, "seen-state")
	if !c.All || c.UpTo != 3 || c.SeenAt == nil {
		t.Fatalf("seen-state %+v", c)
	}
	wantEventCounts(t, "seen", c, 4, 1, cc{"billing": {Unread: 2}, "comments": {Unread: 1}})
	e.wantCounts(t, u, "seen", 4, 1, cc{"billing": {Unread: 2}, "comments": {Unread: 1}})
	// Seen again: nothing changes, and no stream is told (the next event
	// the tabs get is the read below).
	if r := e.user(u, "POST", "/notifications/seen", withJSON(`{"up_to_id":3}`)); r.status != 200 ||
		!strings.HasPrefix(string(r.body), `{"updated":0,`) {
		t.Fatalf("seen again: %d %s", r.status, r.body)
	}

	c = step("read 1", "POST", "/notifications/1/read", "", 200, "read-state")
	wantEventCounts(t, "read 1", c, 3, 1, cc{"billing": {Unread: 1}, "comments": {Unread: 1}})

	c = step("archive 2", "POST", "/notifications/2/archive", "", 200, "archive-state")
	if c.ID != 2 || !c.Archived || c.ArchivedAt == nil {
		t.Fatalf("archive-state %+v", c)
	}
	wantEventCounts(t, "archive 2", c, 2, 1, cc{"comments": {Unread: 1}})
	if r := e.user(u, "GET", "/notifications?status=archived"); r.status != 200 || !strings.Contains(string(r.body), `"id":2,`) ||
		strings.Contains(string(r.body), `"id":1,`) {
		t.Fatalf("archived list: %s", r.body)
	}
	if r := e.user(u, "GET", "/notifications"); strings.Contains(string(r.body), `"id":2,`) {
		t.Fatalf("the inbox lists an archived notification: %s", r.body)
	}

	c = step("unarchive 2", "POST", "/notifications/2/unarchive", "", 200, "archive-state")
	wantEventCounts(t, "unarchive 2", c, 3, 1, cc{"billing": {Unread: 1}, "comments": {Unread: 1}})

	c = step("act", "POST", "/notifications/3/actions/approve", "", 200, "action-state")
	if c.ID != 3 || c.Action != "approve" || c.ActedAt == nil || c.ReadAt == nil || !c.Read {
		t.Fatalf("action-state %+v", c)
	}
	wantEventCounts(t, "act", c, 2, 1, cc{"billing": {Unread: 1}})
	if r := e.user(u, "POST", "/notifications/3/actions/approve"); r.status != 200 {
		t.Fatalf("the same action again: %d %s", r.status, r.body)
	}
	tabs[0].change(t, "action-state") // told again, nothing changed
	tabs[1].change(t, "action-state")
	if r := e.user(u, "POST", "/notifications/3/actions/reject"); r.status != http.StatusConflict || r.errorCode(t) != belfry.ECONFLICT {
		t.Fatalf("another action: %d %s", r.status, r.body)
	}
	if r := e.user(u, "POST", "/notifications/3/actions/nope"); r.status != http.StatusNotFound {
		t.Fatalf("unknown action: %d %s", r.status, r.body)
	}

	// read-all with a filter changes exactly the selected ones.
	c = step("read-all billing", "POST", "/notifications/read-all", `{"category":"billing"}`, 200, "read-state")
	if !c.All || c.UpTo != 4 || c.Filter == nil || c.Filter.Category == nil || *c.Filter.Category != "billing" {
		t.Fatalf("read-all state %+v", c)
	}
	wantEventCounts(t, "read-all billing", c, 1, 1, cc{})
	e.wantCounts(t, u, "read-all billing", 1, 1, cc{})

	// archive-all of the read ones leaves the unread one (4) in the inbox.
	c = step("archive-all read", "POST", "/notifications/archive-all", `{"read":true}`, 200, "archive-state")
	wantEventCounts(t, "archive-all read", c, 1, 1, cc{})
	var inbox []belfry.Notification
	if r := e.user(u, "GET", "/notifications"); json.Unmarshal(r.body, &inbox) != nil || len(inbox) != 1 || inbox[0].ID != 4 {
		t.Fatalf("inbox after archive-all: %s", r.body)
	}
	var all []belfry.Notification
	if r := e.user(u, "GET", "/notifications?status=all&limit=100"); json.Unmarshal(r.body, &all) != nil || len(all) != 4 {
		t.Fatalf("all: %s", r.body)
	}

	c = step("delete", "DELETE", "/notifications/4", "", http.StatusNoContent, "notification-deleted")
	if c.ID != 4 || c.Reason != belfry.ReasonDeleted {
		t.Fatalf("notification-deleted %+v", c)
	}
	wantEventCounts(t, "delete", c, 0, 0, cc{})

	// Another user's id is not found, and changes nothing.
	for _, path := range []string{"/notifications/1/archive", "/notifications/1/unarchive", "/notifications/1/actions/approve"} {
		if r := e.user("someone-else", "POST", path); r.status != http.StatusNotFound {
			t.Fatalf("%s as another user: %d %s", path, r.status, r.body)
		}
	}
}

// Bad input gets a 4xx with a stable code and changes nothing.
func TestInboxBadInput(t *testing.T) { onEveryStore(t, testInboxBadInput) }

func testInboxBadInput(t *testing.T, o envOpts) {
	e := newEnv(t, o)
	const u = "bad-input"
	e.publish(u, "one")
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name, method, path, body string
		publisher                bool
		status                   int
	}{
		{"filter category type", "POST", "/notifications/read-all", `{"category":7}`, false, 400},
		{"filter read type", "POST", "/notifications/archive-all", `{"read":"yes"}`, false, 400},
		{"filter up_to type", "POST", "/notifications/read-all", `{"up_to_id":"3"}`, false, 400},
		{"filter empty category", "POST", "/notifications/archive-all", `{"category":""}`, false, 400},
		{"unknown filter", "POST", "/notifications/read-all", `{"status":"all"}`, false, 400},
		{"seen negative", "POST", "/notifications/seen", `{"up_to_id":-1}`, false, 400},
		{"empty category preference", "PUT", "/notifications/preferences", `{"categories":{"":{"in_app":false}}}`, false, 400},
		{"preference type", "PUT", "/notifications/preferences", `{"default":{"in_app":"no"}}`, false, 400},
		{"expires in the past", "POST", "/api/notifications", `{"user_id":"bad-input","message":"m","expires_at":"` + past + `"}`, true, 400},
		{"expires and ttl", "POST", "/api/notifications", `{"user_id":"bad-input","message":"m","ttl":60,"expires_at":"2099-01-01T00:00:00Z"}`, true, 400},
		{"ttl zero", "POST", "/api/notifications", `{"user_id":"bad-input","message":"m","ttl":0}`, true, 400},
		{"too many actions", "POST", "/api/notifications", `{"user_id":"bad-input","message":"m","actions":[{"id":"a","label":"A"},{"id":"b","label":"B"},{"id":"c","label":"C"},{"id":"d","label":"D"}]}`, true, 400},
		{"javascript avatar", "POST", "/api/notifications", `{"user_id":"bad-input","message":"m","avatar":"javascript:x"}`, true, 400},
		{"bad list status", "GET", "/notifications?status=trash", "", false, 400},
		{"bad list seen", "GET", "/notifications?seen=maybe", "", false, 400},
		{"retract unknown", "DELETE", "/api/users/bad-input/notifications/99", "", true, 404},
	} {
		opts := []reqOpt{}
		if tc.body != "" {
			opts = append(opts, withJSON(tc.body))
		}
		var r reply
		if tc.publisher {
			r = e.do(tc.method, tc.path, append(opts, withBearer(testAPIKey))...)
		} else {
			r = e.user(u, tc.method, tc.path, opts...)
		}
		if r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
			continue
		}
		r.errorCode(t)
	}
	if r := e.do("POST", "/api/notifications", withBearer(testAPIKey), withJSON(`{"user_id":"bad-input","message":"m"}`),
		withHeader("Idempotency-Key", strings.Repeat("k", 256))); r.status != 400 {
		t.Errorf("a long Idempotency-Key: %d %s", r.status, r.body)
	}
	e.wantCounts(t, u, "after bad input", 1, 1, cc{})
	if r := e.user(u, "GET", "/notifications/preferences"); strings.TrimSpace(string(r.body)) !=
		`{"default":{"in_app":true,"push":true,"webhook":true},"categories":{}}` {
		t.Errorf("preferences after bad input: %s", r.body)
	}
}

// Preferences: a user with a category off gets nothing stored for it, and
// the answer lists them as skipped.
func TestPreferencesSkipPublish(t *testing.T) { onEveryStore(t, testPreferencesSkipPublish) }

func testPreferencesSkipPublish(t *testing.T, o envOpts) {
	e := newEnv(t, o)
	r := e.user("pref-a", "PUT", "/notifications/preferences", withJSON(`{"categories":{"marketing":{"in_app":false}}}`))
	if r.status != 200 || !strings.Contains(string(r.body), `"marketing":{"in_app":false,"push":true,"webhook":true}`) {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	// The app's view of the same preferences, and a change from the app.
	if r = e.do("GET", "/api/users/pref-a/preferences", withBearer(testAPIKey)); r.status != 200 ||
		!strings.Contains(string(r.body), `"marketing":{"in_app":false`) {
		t.Fatalf("app get: %d %s", r.status, r.body)
	}
	if r = e.do("PUT", "/api/users/pref-b/preferences", withBearer(testAPIKey),
		withJSON(`{"default":{"in_app":false}}`)); r.status != 200 {
		t.Fatalf("app put: %d %s", r.status, r.body)
	}
	if r = e.user("pref-a", "GET", "/api/users/pref-a/preferences"); r.status != http.StatusForbidden {
		t.Fatalf("a user token on the app's endpoint: %d", r.status)
	}

	r = e.publishJSON(t, `{"user_id":"pref-a","message":"sale","category":"marketing"}`)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"skipped":["pref-a"]}` {
		t.Fatalf("skipped single: %d %s", r.status, r.body)
	}
	r = e.publishJSON(t, `{"user_ids":["pref-a","pref-b","pref-c"],"message":"sale","category":"marketing"}`)
	var ns []belfry.Notification
	if r.status != 201 || json.Unmarshal(r.body, &ns) != nil || len(ns) != 1 || ns[0].UserID != "pref-c" {
		t.Fatalf("skipped many: %d %s", r.status, r.body)
	}
	if h := r.header.Get("Belfry-Skipped"); h != `["pref-a","pref-b"]` {
		t.Fatalf("Belfry-Skipped = %q", h)
	}
	// A user id outside ASCII is \u-escaped in the header, and reads back.
	e.user("prëf-ü", "PUT", "/notifications/preferences", withJSON(`{"default":{"in_app":false}}`))
	r = e.publishJSON(t, `{"user_ids":["prëf-ü","pref-c"],"message":"m"}`)
	var skipped []string
	if h := r.header.Get("Belfry-Skipped"); h != `["pr\u00ebf-\u00fc"]` || json.Unmarshal([]byte(h), &skipped) != nil ||
		len(skipped) != 1 || skipped[0] != "prëf-ü" {
		t.Fatalf("Belfry-Skipped = %q", h)
	}
	// Other categories still reach pref-a; pref-b has everything off.
	r = e.publishJSON(t, `{"user_ids":["pref-a","pref-b"],"message":"invoice","category":"billing"}`)
	if r.status != 201 || r.header.Get("Belfry-Skipped") != `["pref-b"]` {
		t.Fatalf("billing: %d %s %q", r.status, r.body, r.header.Get("Belfry-Skipped"))
	}
	e.wantCounts(t, "pref-a", "pref-a", 1, 1, cc{"billing": {Unread: 1, Unseen: 1}})
	e.wantCounts(t, "prëf-ü", "prëf-ü", 0, 0, cc{})
	e.wantCounts(t, "pref-b", "pref-b", 0, 0, cc{})
	// The skipped publish consumed no id: pref-a's first notification is 1.
	if r = e.user("pref-a", "GET", "/notifications"); !strings.Contains(string(r.body), `"id":1,`) {
		t.Fatalf("pref-a's list: %s", r.body)
	}
}

// Idempotency-Key: a repeat answers the first call's body; a different
// body conflicts; many identical calls at once on separate connections
// create one set.
func TestIdempotentPublish(t *testing.T) { onEveryStore(t, testIdempotentPublish) }

func testIdempotentPublish(t *testing.T, o envOpts) {
	e := newEnv(t, o)
	body := `{"user_ids":["idem-a","idem-b"],"message":"once","ttl":3600}`
	first := e.publishJSON(t, body, withHeader("Idempotency-Key", "job-1"))
	if first.status != 201 || first.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	again := e.publishJSON(t, body, withHeader("Idempotency-Key", "job-1"))
	if again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Fatalf("again: %d %q\n%s\nwant\n%s", again.status, again.header.Get("Idempotent-Replayed"), again.body, first.body)
	}
	if r := e.publishJSON(t, `{"user_ids":["idem-a"],"message":"other"}`, withHeader("Idempotency-Key", "job-1")); r.status != 409 ||
		r.errorCode(t) != belfry.EIDEMCONFLICT {
		t.Fatalf("another body: %d %s", r.status, r.body)
	}
	e.wantCounts(t, "idem-a", "after repeats", 1, 1, cc{})

	// Concurrent identical requests, each on a connection of its own.
	const n = 24
	answers := make([]reply, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	single := `{"user_id":"idem-c","message":"race"}`
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i] = e.doNoFatal("POST", "/api/notifications", withBearer(testAPIKey), withJSON(single),
				withHeader("Idempotency-Key", "race-1"), func(r *http.Request) { r.Close = true })
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for i, a := range answers {
		switch {
		case a.status == 201:
			created++
		case a.status == 200 && a.header.Get("Idempotent-Replayed") == "true":
		default:
			t.Fatalf("answer %d: %d %s", i, a.status, a.body)
		}
		if string(a.body) != string(answers[0].body) {
			t.Fatalf("answers differ:\n%s\n%s", a.body, answers[0].body)
		}
	}
	if created != 1 {
		t.Fatalf("%d answers were 201, want 1", created)
	}
	e.wantCounts(t, "idem-c", "after the race", 1, 1, cc{})
}

// Retraction and expiry reach open streams with their reason, and an
// expired notification is never listed or counted.
func TestRetractAndExpire(t *testing.T) { onEveryStore(t, testRetractAndExpire) }

func testRetractAndExpire(t *testing.T, o envOpts) {
	e := newEnv(t, o)
	const u = "gone"
	s := e.openStream(t, "", withBearer(e.token(u)))
	s.syncStats(t)
	e.publish(u, "keep")
	r := e.publishJSON(t, `{"user_id":"gone","message":"soon gone","ttl":1,"category":"flash"}`)
	if r.status != 201 {
		t.Fatalf("publish with ttl: %d %s", r.status, r.body)
	}
	s.expectIDs(t, u, 1, 2)
	if r = e.do("DELETE", "/api/users/gone/notifications/1", withBearer(testAPIKey)); r.status != http.StatusNoContent {
		t.Fatalf("retract: %d %s", r.status, r.body)
	}
	if c := s.change(t, "notification-deleted"); c.ID != 1 || c.Reason != belfry.ReasonRetracted || c.Unread != 1 {
		t.Fatalf("retracted: %+v", c)
	}
	if r = e.user(u, "DELETE", "/api/users/gone/notifications/2"); r.status != http.StatusForbidden {
		t.Fatalf("a user retracting: %d", r.status)
	}

	ret := &belfry.Retention{Inbox: e.inbox, ExpireEvery: 20 * time.Millisecond, RetainEvery: time.Hour}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { ret.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	c := s.change(t, "notification-deleted")
	if c.ID != 2 || c.Reason != belfry.ReasonExpired || c.Unread != 0 || len(c.ByCategory) != 0 {
		t.Fatalf("expired: %+v", c)
	}
	e.wantCounts(t, u, "expired", 0, 0, cc{})
	if r = e.user(u, "GET", "/notifications?status=all"); strings.TrimSpace(string(r.body)) != "[]" {
		t.Fatalf("list after expiry: %s", r.body)
	}
}

// Retention trims a user's oldest notifications past the maximum, and the
// user's open streams learn it with the counts after.
func TestRetentionTellsStreams(t *testing.T) {
	e := newEnv(t, envOpts{})
	const u = "trimmed"
	s := e.openStream(t, "", withBearer(e.token(u)))
	s.syncStats(t)
	for range 5 {
		e.publish(u, "m")
	}
	s.expectIDs(t, u, 1, 5)
	e.user(u, "POST", "/notifications/4/read")
	s.change(t, "read-state")
	ret := &belfry.Retention{Inbox: e.inbox, MaxPerUser: 3, Batch: 1}
	n, err := ret.Pass(t.Context(), true)
	if err != nil || n != 2 {
		t.Fatalf("Pass = %d, %v; want 2 deleted", n, err)
	}
	for _, id := range []int64{1, 2} {
		c := s.change(t, "notification-deleted")
		if c.ID != id || c.Reason != belfry.ReasonRetention {
			t.Fatalf("deleted %+v, want id %d for retention", c, id)
		}
	}
	e.wantCounts(t, u, "after the trim", 2, 2, cc{})
	if n, err := ret.Pass(t.Context(), true); err != nil || n != 0 {
		t.Fatalf("a second pass = %d, %v; want nothing", n, err)
	}
}

// Concurrent state changes of one user: the last event each tab gets
// carries the latest counts (this node publishes a user's events in the
// order of their snapshots).
func TestConcurrentChangesEndOnTheLatestCounts(t *testing.T) {
	e := newEnv(t, envOpts{})
	const u = "racing"
	s := e.openStream(t, "", withBearer(e.token(u)))
	s.syncStats(t)
	for range 4 {
		e.publish(u, "m")
	}
	s.expectIDs(t, u, 1, 4)
	const changes = 200
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range changes / 8 {
				path := fmt.Sprintf("/notifications/%d/read", 1+(g+i)%4)
				if (g+i)%3 == 0 {
					path = fmt.Sprintf("/notifications/%d/unread", 1+(g*7+i)%4)
				}
				if r := e.doNoFatal("POST", path, withBearer(e.token(u))); r.status != 200 {
					t.Errorf("%s: %d %s", path, r.status, r.body)
				}
			}
		})
	}
	wg.Wait()
	var last belfry.StateChange
	for range changes {
		last = s.change(t, "read-state")
	}
	var want countsBody
	r := e.user(u, "GET", "/notifications/counts")
	if err := json.Unmarshal(r.body, &want); err != nil {
		t.Fatal(err)
	}
	if last.Unread != want.Unread || last.Unseen != want.Unseen {
		t.Fatalf("the last event says unread %d unseen %d; the store says %s", last.Unread, last.Unseen, r.body)
	}
}

// The next page of a filtered list keeps the filters.
func TestListNextPageKeepsFilters(t *testing.T) {
	e := newEnv(t, envOpts{})
	const u = "pager"
	for i, cat := range []string{"billing", "other", "billing", "other", "billing"} {
		if r := e.publishJSON(t, fmt.Sprintf(`{"user_id":%q,"message":"m%d","category":%q}`, u, i, cat)); r.status != 201 {
			t.Fatalf("publish: %d %s", r.status, r.body)
		}
	}
	e.user(u, "POST", "/notifications/3/archive")
	r := e.user(u, "GET", "/notifications?category=billing&status=all&seen=false&limit=2")
	link := r.header.Get("Link")
	for _, want := range []string{"category=billing", "status=all", "seen=false", "limit=2", "before=3"} {
		if !strings.Contains(link, want) {
			t.Fatalf("Link %q lacks %s", link, want)
		}
	}
	next := strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
	var page []belfry.Notification
	if r = e.user(u, "GET", next); json.Unmarshal(r.body, &page) != nil || len(page) != 1 || page[0].ID != 1 {
		t.Fatalf("next page %s: %s", next, r.body)
	}
	if r.header.Get("Link") != "" {
		t.Fatalf("a last page with a Link: %q", r.header.Get("Link"))
	}
}
