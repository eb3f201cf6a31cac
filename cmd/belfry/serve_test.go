package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/sse"
)

var listeningRE = regexp.MustCompile(`^belfry listening on (http://127\.0\.0\.1:\d+)$`)

// TestServeDemoMode runs the real program with no secret: it must print
// the generated secret and API key, a curl that publishes to alice and a
// token for alice, all of which must work against the server; SIGTERM
// then ends it with status 0.
func TestServeDemoMode(t *testing.T) {
	dir := t.TempDir()
	p := startProcess(t, nil, "serve", "--addr", "127.0.0.1:0", "--store", "sqlite:"+filepath.Join(dir, "demo.db"))
	url := listeningRE.FindStringSubmatch(p.stdout.waitFor(t, 60*time.Second, "the listen line", listeningRE.MatchString))[1]
	p.stdout.waitFor(t, 10*time.Second, "the production warning", func(l string) bool {
		return strings.Contains(l, "DEMO MODE - NOT FOR PRODUCTION")
	})
	secret := strings.TrimSpace(strings.TrimPrefix(p.stdout.waitFor(t, 10*time.Second, "the secret",
		func(l string) bool { return strings.HasPrefix(l, "JWT secret:") }), "JWT secret:"))
	key := strings.TrimSpace(strings.TrimPrefix(p.stdout.waitFor(t, 10*time.Second, "the API key",
		func(l string) bool { return strings.HasPrefix(l, "API key:") }), "API key:"))
	if len(secret) < 32 || key == "" {
		t.Fatalf("secret %q, key %q", secret, key)
	}
	p.stdout.waitFor(t, 10*time.Second, "the curl", func(l string) bool {
		return strings.Contains(l, "curl -sS -X POST "+url+"/api/notifications")
	})
	p.stdout.waitFor(t, 10*time.Second, "the curl's key", func(l string) bool {
		return strings.Contains(l, "Authorization: Bearer "+key)
	})
	p.stdout.waitFor(t, 10*time.Second, "the curl's body", func(l string) bool {
		return strings.Contains(l, `"user_id":"alice"`)
	})
	_, token, _ := strings.Cut(p.stdout.waitFor(t, 10*time.Second, "the stream command",
		func(l string) bool { return strings.Contains(l, "belfry tail --url "+url+" --token ") }), " --token ")
	p.stdout.waitFor(t, 10*time.Second, "the demo page", func(l string) bool {
		return strings.HasPrefix(l, "Demo page:") && strings.Contains(l, url+"/")
	})

	// The printed credentials work: open alice's stream with the token,
	// publish with the key (as the curl does), and see it arrive.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events := openStream(t, ctx, url, token, "")
	waitEvent(t, events, "sync")
	code, out, errOut := runCmd(t, nil, "send", "--url", url, "--api-key", key, "--user", "alice", "--message", "Hello from belfry")
	if code != 0 {
		t.Fatalf("send: %d %s %s", code, out, errOut)
	}
	ev := waitEvent(t, events, "new-notification")
	if !strings.Contains(ev.Data, `"message":"Hello from belfry"`) || !strings.Contains(ev.Data, `"user_id":"alice"`) {
		t.Fatalf("event %+v", ev)
	}

	// A graceful stop with the stream open: it ends, and the exit is 0.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGTERM", code)
	}
	waitStreamEnd(t, events)
}

// TestServeGracefulShutdownWithStreams stops an in-process server holding
// open streams: Run must return nil, and every stream must end (so its
// client reconnects) instead of hanging.
func TestServeGracefulShutdownWithStreams(t *testing.T) {
	for _, lean := range []string{"--lean=true", "--lean=false"} {
		t.Run(lean, func(t *testing.T) { testGracefulShutdown(t, lean) })
	}
}

func testGracefulShutdown(t *testing.T, lean string) {
	s := startServer(t, t.TempDir(), lean)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var streams []<-chan sseResult
	for _, u := range []string{"alice", "alice", "bob"} {
		ev := openStream(t, ctx, s.url, mustToken(t, u), "")
		waitEvent(t, ev, "sync")
		streams = append(streams, ev)
	}
	s.shutdown(t)
	for _, ev := range streams {
		waitStreamEnd(t, ev)
	}
	if _, err := http.Get(s.url + "/healthz"); err == nil {
		t.Fatal("the server still accepts connections after shutdown")
	}
}

// TestServeFromEnvironment: every flag can come from BELFRY_<NAME>, and
// the command line wins over the environment.
func TestServeFromEnvironment(t *testing.T) {
	env := map[string]string{
		"BELFRY_ADDR":            "127.0.0.1:9999",
		"BELFRY_STORE":           "sqlite:/tmp/env.db",
		"BELFRY_BROKER":          "memory",
		"BELFRY_JWT_SECRET":      "env-secret-0123456789abcdef0123456789",
		"BELFRY_API_KEY":         "key-one-0123456789, key-two-0123456789",
		"BELFRY_HEARTBEAT":       "7s",
		"BELFRY_QUEUE_SIZE":      "17",
		"BELFRY_LEAN":            "false",
		"BELFRY_TRIM_MEMORY":     "false",
		"BELFRY_AUTH_FAIL_RATE":  "0.5",
		"BELFRY_TRUSTED_PROXY":   "127.0.0.1, 10.0.0.0/8",
		"BELFRY_PUBLISH_RATE":    "100",
		"BELFRY_H2C":             "1",
		"BELFRY_LOG_LEVEL":       "debug",
		"BELFRY_WRITE_TIMEOUT":   "3s",
		"BELFRY_ALLOW_ORIGIN":    "https://app.example.com,http://localhost:5173",
		"BELFRY_COMMIT_INTERVAL": "2ms",
	}
	m := NewMain()
	m.Stderr = io.Discard
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--heartbeat", "9s"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if m.Addr != "127.0.0.1:0" || m.Heartbeat != 9*time.Second {
		t.Errorf("the flag did not win: addr %q heartbeat %s", m.Addr, m.Heartbeat)
	}
	if m.Store != "sqlite:/tmp/env.db" || m.JWTSecret != env["BELFRY_JWT_SECRET"] ||
		!slices.Equal(m.APIKeys, []string{"key-one-0123456789", "key-two-0123456789"}) || m.QueueSize != 17 || m.Lean || m.TrimMemory || !m.H2C ||
		m.AuthFailRate != 0.5 || m.PublishRate != 100 || !slices.Equal(m.TrustedProxies, []string{"127.0.0.1", "10.0.0.0/8"}) ||
		m.LogLevel != "debug" || m.WriteTimeout != 3*time.Second || m.CommitInterval != 2*time.Millisecond ||
		!slices.Equal(m.AllowOrigins, []string{"https://app.example.com", "http://localhost:5173"}) {
		t.Errorf("not set from the environment: %+v", m)
	}
	if m.DemoMode {
		t.Error("demo mode although a secret and keys are set")
	}

	// Every flag of serve has a variable, named by the rule.
	m = NewMain()
	bad := map[string]string{"BELFRY_QUEUE_SIZE": "many"}
	err := m.ParseFlags(nil, func(k string) string { return bad[k] })
	if err == nil || !strings.Contains(err.Error(), "BELFRY_QUEUE_SIZE") {
		t.Errorf("a bad variable gives %v, want an error naming it", err)
	}

	// In a real process too: the server listens where BELFRY_ADDR says.
	dir := t.TempDir()
	p := startProcess(t, []string{"BELFRY_ADDR=127.0.0.1:0", "BELFRY_STORE=sqlite:" + filepath.Join(dir, "e.db"),
		"BELFRY_JWT_SECRET=" + testSecret, "BELFRY_API_KEY=" + testAPIKey, "BELFRY_COMMIT_INTERVAL=1ms"}, "serve")
	url := listeningRE.FindStringSubmatch(p.stdout.waitFor(t, 60*time.Second, "the listen line", listeningRE.MatchString))[1]
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	if slices.ContainsFunc(p.stdout.all(), func(l string) bool { return strings.Contains(l, "DEMO MODE") }) {
		t.Error("demo mode with a secret from the environment")
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGINT", code)
	}
}

func TestServeRefusesHalfConfiguredAuth(t *testing.T) {
	for _, args := range [][]string{{"--jwt-secret", testSecret}, {"--api-key", "k"}, {"--tls-cert", "c.pem"}, {"--store", "nosuch:x"}} {
		code, _, errOut := runCmd(t, nil, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
		if code == 0 {
			t.Errorf("serve %v: exit 0, want an error", args)
		}
		if errOut == "" {
			t.Errorf("serve %v: no message", args)
		}
	}
}

// A --redis-prefix that could not keep deployments apart (one that does
// not end with ':') is refused at start, before anything is opened.
func TestServeRefusesBadRedisPrefix(t *testing.T) {
	for _, p := range []string{"app", "app:t2", strings.Repeat("a", 80) + ":"} {
		code, _, errOut := runCmd(t, nil, "serve", "--addr", "127.0.0.1:0", "--jwt-secret", testSecret,
			"--api-key", testAPIKey, "--broker", "redis://127.0.0.1:1/0", "--redis-prefix", p)
		if code == 0 || !strings.Contains(errOut, "--redis-prefix") {
			t.Errorf("--redis-prefix %q: exit %d, stderr %q; want it refused", p, code, errOut)
		}
	}
}

// --commit-interval is the SQLite store's; with another store it is an
// error at start, not a setting silently ignored.
func TestServeCommitIntervalOnlyForSQLite(t *testing.T) {
	code, _, errOut := runCmd(t, nil, "serve", "--addr", "127.0.0.1:0", "--jwt-secret", testSecret, "--api-key", testAPIKey,
		"--store", "postgres://postgres@127.0.0.1:1/none", "--commit-interval", "1ms")
	if code == 0 || !strings.Contains(errOut, "--commit-interval applies to the sqlite store only") {
		t.Errorf("exit %d, stderr %q; want the store refused for --commit-interval", code, errOut)
	}
	code, _, errOut = runCmd(t, nil, "serve", "--addr", "127.0.0.1:0", "--jwt-secret", testSecret, "--api-key", testAPIKey,
		"--store", "sqlite:"+filepath.Join(t.TempDir(), "n.db"), "--commit-interval", "-1ms")
	if code == 0 || !strings.Contains(errOut, "negative") {
		t.Errorf("exit %d, stderr %q; want a negative interval refused", code, errOut)
	}
}

func TestSubcommands(t *testing.T) {
	if code, _, _ := runCmd(t, nil, "bench", "--no-such-flag"); code != 2 {
		t.Errorf("bench with a bad flag: exit %d", code)
	}
	if code, out, _ := runCmd(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "belfry ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, out, _ := runCmd(t, nil, "help"); code != 0 || !strings.Contains(out, "belfry serve") {
		t.Errorf("help: %d %q", code, out)
	}
	if code, _, _ := runCmd(t, nil, "nosuch"); code != 2 {
		t.Errorf("unknown command: %d", code)
	}
	if code, _, _ := runCmd(t, nil); code != 2 {
		t.Errorf("no command: %d", code)
	}
	if code, _, _ := runCmd(t, nil, "token", "--user", "alice"); code != 2 {
		t.Errorf("token without secret: %d", code)
	}
}

// sseResult is one event of a stream opened by openStream, or its end.
type sseResult struct {
	Event, Data string
	err         error
}

// openStream opens a user's stream and delivers its events on the channel
// until the stream ends (a last result with err set).
func openStream(t *testing.T, ctx context.Context, url, token, lastID string) <-chan sseResult {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %v", readAPIError(resp))
	}
	ch := make(chan sseResult, 100)
	go func() {
		defer resp.Body.Close()
		p := sse.NewReader(resp.Body)
		for {
			ev, err := p.Next()
			ch <- sseResult{Event: string(ev.Type), Data: string(ev.Data), err: err}
			if err != nil {
				close(ch)
				return
			}
		}
	}()
	return ch
}

func waitEvent(t *testing.T, ch <-chan sseResult, event string) sseResult {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case r, ok := <-ch:
			if !ok || r.err != nil {
				t.Fatalf("the stream ended before a %s event: %v", event, r.err)
			}
			if r.Event == event {
				return r
			}
		case <-timeout:
			t.Fatalf("no %s event", event)
		}
	}
}

func waitStreamEnd(t *testing.T, ch <-chan sseResult) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case r, ok := <-ch:
			if !ok || r.err != nil {
				return
			}
		case <-timeout:
			t.Fatal("the stream did not end")
		}
	}
}

func mustToken(t *testing.T, user string) string {
	t.Helper()
	code, out, errOut := runCmd(t, nil, "token", "--secret", testSecret, "--user", user)
	if code != 0 {
		t.Fatalf("token: %s", errOut)
	}
	return strings.TrimSpace(out)
}

func decodeNotification(t *testing.T, data string) (id int64, user, message string) {
	t.Helper()
	var n struct {
		ID      int64  `json:"id"`
		UserID  string `json:"user_id"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(data), &n); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	return n.ID, n.UserID, n.Message
}

// TestBench runs a small `belfry bench` against the server: the command
// is wired to package bench, and a clean run (nothing lost, nothing twice)
// exits 0.
func TestBench(t *testing.T) {
	s := startServer(t, t.TempDir(), "--log-level", "warn")
	code, out, errOut := runCmd(t, nil, "bench", "--scenario", "targeted", "--url", s.url,
		"--jwt-secret", testSecret, "--api-key", testAPIKey, "--streams", "20",
		"--publishes", "40", "--publishers", "4", "--procs", "1", "--timeout", "25s")
	if code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("bench output:\n%s", out)
}

// TestServeAuthURL: with --auth-url, a user with the app's session cookie
// and no token is resolved by asking the app.
func TestServeAuthURL(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err != nil || c.Value != "alice-session" {
			http.Error(w, `{"message":"Unauthenticated."}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"data":{"id":42,"name":"Alice"}}`))
	}))
	defer app.Close()
	s := startServer(t, t.TempDir(), "--auth-url", app.URL+"/api/user", "--auth-user-field", "data.id",
		"--auth-cookie", "session", "--auth-url-concurrency", "2")
	send(t, s.url, "42", "for user 42")
	for cookie, want := range map[string]int{"alice-session": 200, "stolen": 401} {
		req, _ := http.NewRequest(http.MethodGet, s.url+"/notifications/unread-count", nil)
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("cookie %s: %d %s, want %d", cookie, resp.StatusCode, body, want)
		}
		if want == 200 && strings.TrimSpace(string(body)) != `{"unread":1}` {
			t.Fatalf("unread count %s", body)
		}
	}

	// The two from the environment too; bad values are refused at start.
	m := NewMain()
	env := map[string]string{"BELFRY_AUTH_COOKIE": "myapp_session", "BELFRY_AUTH_URL_CONCURRENCY": "3"}
	if err := m.ParseFlags(nil, func(k string) string { return env[k] }); err != nil || m.AuthCookie != "myapp_session" || m.AuthConcurrency != 3 {
		t.Errorf("from the environment: %v, cookie %q, concurrency %d", err, m.AuthCookie, m.AuthConcurrency)
	}
	for _, args := range [][]string{{"--auth-url-concurrency", "0"}, {"--auth-cookie", "bad name"}} {
		code, _, errOut := runCmd(t, nil, append([]string{"serve", "--addr", "127.0.0.1:0", "--api-key", testAPIKey,
			"--store", "sqlite:" + filepath.Join(t.TempDir(), "a.db"), "--auth-url", app.URL + "/api/user"}, args...)...)
		if code == 0 || !strings.Contains(errOut, strings.TrimPrefix(args[0], "--")) {
			t.Errorf("serve %v: exit %d, stderr %q; want it refused", args, code, errOut)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://belfry:s3cret@db:5432/belfry": "postgres://belfry:xxxxx@db:5432/belfry",
		"redis://:pw@redis:6379/0":                "redis://:xxxxx@redis:6379/0",
		"postgres://belfry@db/belfry":             "postgres://belfry@db/belfry",
		"sqlite:belfry.db":                        "sqlite:belfry.db",
		// pgx also takes the password as a query parameter.
		"postgres://belfry@db/belfry?sslmode=disable&password=s3cret": "postgres://belfry@db/belfry?sslmode=disable&password=xxxxx",
		"postgres://b:pw@db/b?sslpassword=k3y&x=1":                    "postgres://b:xxxxx@db/b?sslpassword=xxxxx&x=1",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// On the command line --auth-cache-ttl 0 turns the cache off; the
// library's zero value would mean its default instead.
func TestAuthCacheTTLZeroMeansNoCache(t *testing.T) {
	for flag, want := range map[time.Duration]time.Duration{0: -1, -time.Second: -1, 5 * time.Second: 5 * time.Second} {
		if got := authCacheTTL(flag); got != want {
			t.Errorf("--auth-cache-ttl %s gives TTL %s, want %s", flag, got, want)
		}
	}
}
