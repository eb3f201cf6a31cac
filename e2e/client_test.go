package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// token signs a user token with the test secret.
func token(t testing.TB, user string) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: user,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}).
		SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// cluster is the test's set of nodes; clients pick live ones at random.
type cluster struct {
	nodes []*node
}

// live returns a random live node, or nil if none is.
func (c *cluster) live() *node {
	var alive []*node
	for _, n := range c.nodes {
		if n.alive.Load() {
			alive = append(alive, n)
		}
	}
	if len(alive) == 0 {
		return nil
	}
	return alive[rand.IntN(len(alive))]
}

func (c *cluster) liveNodes() []*node {
	var alive []*node
	for _, n := range c.nodes {
		if n.alive.Load() {
			alive = append(alive, n)
		}
	}
	return alive
}

// sseClient is a lean SSE reader: it records the id of every
// new-notification event, and on any error reconnects to a random live
// node with Last-Event-ID, as a browser's EventSource does.
type sseClient struct {
	user  string
	token string
	c     *cluster
	first *node
	// arrived, when set, gets every id as it is received (never blocking
	// the reader: a full channel drops it).
	arrived chan int64

	mu       sync.Mutex
	ids      []int64 // every id received, in arrival order
	connects int     // successful (200) connections
	synced   bool    // a sync event arrived on the current connection
	on       *node   // node of the current connection, nil between them
	errs     []string
	badOpens []string // answers to opening the stream other than 200 or 503 unavailable
}

func newSSEClient(t testing.TB, c *cluster, user string, first *node) *sseClient {
	return &sseClient{user: user, token: token(t, user), c: c, first: first}
}

// snapshot returns a copy of the ids, the connection count, and whether
// the current connection is synced.
func (s *sseClient) snapshot() (ids []int64, connects int, synced bool, on *node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.ids...), s.connects, s.synced, s.on
}

func (s *sseClient) lastID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ids) == 0 {
		return 0
	}
	return s.ids[len(s.ids)-1]
}

// run reads until ctx ends, reconnecting after every error.
func (s *sseClient) run(ctx context.Context) {
	n := s.first
	for ctx.Err() == nil {
		if n == nil || !n.alive.Load() {
			n = s.c.live()
		}
		if n != nil {
			err := s.once(ctx, n)
			s.mu.Lock()
			s.on, s.synced = nil, false
			if err != nil && ctx.Err() == nil && len(s.errs) < 100 {
				s.errs = append(s.errs, n.name+": "+err.Error())
			}
			s.mu.Unlock()
		}
		n = nil
		// A client's reconnect delay (the server's retry: is 100ms).
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(50+rand.IntN(100)) * time.Millisecond):
		}
	}
}

// once reads one connection to n until it fails or ctx ends.
func (s *sseClient) once(ctx context.Context, n *node) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", n.url+"/notifications/stream", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Last-Event-ID", strconv.FormatInt(s.lastID(), 10))
	// A silent connection (no heartbeat for 5s; they come every 500ms) is
	// taken for dead, as a client with a read timeout would.
	watchdog := time.AfterFunc(10*time.Second, cancel)
	defer watchdog.Stop()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), `"code":"unavailable"`) {
			s.mu.Lock()
			s.badOpens = append(s.badOpens, fmt.Sprintf("%s: %d %s", n.name, resp.StatusCode, b))
			s.mu.Unlock()
		}
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	s.mu.Lock()
	s.connects++
	s.on = n
	s.mu.Unlock()
	r := bufio.NewReader(resp.Body)
	var event, id, data string
	for {
		watchdog.Reset(5 * time.Second)
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line != "" {
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				event = value
			case "id":
				id = value
			case "data":
				data += value
			}
			continue
		}
		switch event {
		case "sync":
			s.mu.Lock()
			s.synced = true
			s.mu.Unlock()
		case "new-notification":
			var nt struct {
				ID     int64  `json:"id"`
				UserID string `json:"user_id"`
			}
			if err := json.Unmarshal([]byte(data), &nt); err != nil {
				return fmt.Errorf("event data %q: %v", data, err)
			}
			if strconv.FormatInt(nt.ID, 10) != id || nt.UserID != s.user {
				return fmt.Errorf("event id: line %q, data %q", id, data)
			}
			s.mu.Lock()
			s.ids = append(s.ids, nt.ID)
			s.mu.Unlock()
			select {
			case s.arrived <- nt.ID:
			default:
			}
		}
		event, id, data = "", "", ""
	}
}

// publishResult is what one POST /api/notifications got.
type publishResult struct {
	status int              // 0: no answer (connection failed)
	code   string           // the error code of a non-201 answer
	ids    map[string]int64 // user → id, on 201
	err    error
}

// publish posts one notification for users (user_ids when more than one).
func publish(ctx context.Context, n *node, users []string, msg string) publishResult {
	body := map[string]any{"message": msg, "link": "/l/" + msg, "data": map[string]string{"m": msg}}
	if len(users) == 1 {
		body["user_id"] = users[0]
	} else {
		body["user_ids"] = users
	}
	b, _ := json.Marshal(body)
	// Generous: a MongoDB store answers 503 only after its write timeout,
	// and then some (see the report of the MongoDB test).
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", n.url+"/api/notifications", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return publishResult{err: err}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	res := publishResult{status: resp.StatusCode, err: err}
	if resp.StatusCode != http.StatusCreated {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.Unmarshal(rb, &e)
		res.code = e.Error.Code
		if res.code == "" {
			res.code = "(no error code) " + string(rb)
		}
		return res
	}
	var ns []notification
	if len(users) == 1 {
		var one notification
		res.err = json.Unmarshal(rb, &one)
		ns = append(ns, one)
	} else {
		res.err = json.Unmarshal(rb, &ns)
	}
	res.ids = map[string]int64{}
	for _, nt := range ns {
		res.ids[nt.UserID] = nt.ID
	}
	return res
}

// notification is the part of the JSON the tests look at.
type notification struct {
	ID      int64             `json:"id"`
	UserID  string            `json:"user_id"`
	Message string            `json:"message"`
	Link    string            `json:"link"`
	Data    map[string]string `json:"data"`
}

// listAll reads every notification of user through GET /notifications,
// oldest first.
func listAll(t testing.TB, n *node, user string) []notification {
	t.Helper()
	tok := token(t, user)
	var all []notification
	before := int64(0)
	for {
		u := n.url + "/notifications?limit=100"
		if before > 0 {
			u += "&before=" + strconv.FormatInt(before, 10)
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page []notification
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("list %s: status %d, %v", user, resp.StatusCode, err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		before = page[len(page)-1].ID
	}
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all
}
