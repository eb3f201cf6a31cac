package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
)

// idemAnswer is one publish answer with an Idempotency-Key.
type idemAnswer struct {
	status   int
	replayed bool
	body     string
}

// publishKeyed sends the same body with the same key count times at once,
// each on a connection of its own, spread over the nodes.
func publishKeyed(t *testing.T, nodes []*node, key, body string, count int) []idemAnswer {
	t.Helper()
	out := make([]idemAnswer, count)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range count {
		wg.Go(func() {
			<-start
			n := nodes[i%len(nodes)]
			req, _ := http.NewRequest("POST", n.url+"/api/notifications", bytes.NewReader([]byte(body)))
			req.Header.Set("Authorization", "Bearer "+testAPIKey)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", key)
			req.Close = true
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("publish on %s: %v", n.name, err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			out[i] = idemAnswer{resp.StatusCode, resp.Header.Get("Idempotent-Replayed") == "true", string(b)}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// checkOneSet: exactly one answer created (201), every other one replayed
// it (200, Idempotent-Replayed) with the same body, and each user holds
// one notification.
func checkOneSet(t *testing.T, answers []idemAnswer, wantCreated int, reader *node, users ...string) string {
	t.Helper()
	created := 0
	for i, a := range answers {
		switch {
		case a.status == http.StatusCreated && !a.replayed:
			created++
		case a.status == http.StatusOK && a.replayed:
		default:
			t.Fatalf("answer %d: %d replayed=%v %s", i, a.status, a.replayed, a.body)
		}
		if a.body != answers[0].body {
			t.Fatalf("answers differ:\n%s\n%s", a.body, answers[0].body)
		}
	}
	if created != wantCreated {
		t.Fatalf("%d answers created notifications, want %d", created, wantCreated)
	}
	for _, u := range users {
		if got := listAll(t, reader, u); len(got) != 1 {
			t.Fatalf("%s holds %d notifications, want 1: %+v", u, len(got), got)
		}
	}
	return answers[0].body
}

// TestIdempotencyAcrossNodesAndRestarts: many concurrent identical
// publishes with one key, spread over the nodes, create one set; after
// every node restarted, the same key still answers the first call's body.
func TestIdempotencyAcrossNodesAndRestarts(t *testing.T) {
	body := `{"user_ids":["idem-1","idem-2","idem-3"],"message":"exactly once","category":"billing"}`
	run := func(t *testing.T, start func(name string) *node, nodes int) {
		var ns []*node
		for i := range nodes {
			ns = append(ns, start(fmt.Sprint("node", i)))
		}
		first := checkOneSet(t, publishKeyed(t, ns, "order-42-paid", body, 24), 1, ns[0], "idem-1", "idem-2", "idem-3")
		for _, n := range ns {
			n.stop(t)
		}
		again := start("restarted")
		if got := checkOneSet(t, publishKeyed(t, []*node{again}, "order-42-paid", body, 4), 0, again,
			"idem-1", "idem-2", "idem-3"); got != first {
			t.Fatalf("after the restart:\n%s\nwant\n%s", got, first)
		}
		other := `{"user_ids":["idem-1"],"message":"another body"}`
		if a := publishKeyed(t, []*node{again}, "order-42-paid", other, 1)[0]; a.status != http.StatusConflict {
			t.Fatalf("another body with the key: %d %s", a.status, a.body)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		db := "sqlite:" + filepath.Join(t.TempDir(), "belfry.db")
		run(t, func(name string) *node { return startNode(t, name, "--store", db) }, 1)
	})
	t.Run("postgres", func(t *testing.T) {
		store := needPostgres(t).newDatabase(t)
		run(t, func(name string) *node { return startNode(t, name, "--store", store) }, 3)
	})
	t.Run("mongodb", func(t *testing.T) {
		f := startFerret(t, needFerretDB(t))
		run(t, func(name string) *node { return startNode(t, name, "--store", f.url("idem")) }, 3)
	})
}
