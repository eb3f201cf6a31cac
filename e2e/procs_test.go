package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Fixed credentials of every node in these tests.
const (
	testSecret = "e2e-test-secret-0123456789abcdef0123456789"
	testAPIKey = "e2e-test-api-key"
)

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an event
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// node is one `belfry serve` process.
type node struct {
	name  string
	url   string
	cmd   *exec.Cmd
	log   string // its stderr
	alive atomic.Bool
	done  chan struct{} // closed when the process has exited
}

// startNode starts belfry serve on 127.0.0.1:0 with the test credentials
// and extra flags, and returns once it printed its listen line. The
// process is stopped (SIGTERM, then SIGKILL) when the test ends.
func startNode(t testing.TB, name string, extra ...string) *node {
	t.Helper()
	if testing.Short() {
		t.Skip("starts belfry processes: runs without -short")
	}
	n := &node{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	logf, err := os.Create(n.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--jwt-secret", testSecret,
		"--api-key", testAPIKey, "--heartbeat", "500ms", "--retry", "100ms",
		"--shutdown-timeout", "5s", "--log-level", "warn"}, extra...)
	n.cmd = exec.Command(belfryBin, args...)
	n.cmd.Stderr = logf
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "belfry listening on "); ok {
				urls <- u
			}
		}
	}()
	go func() {
		_ = n.cmd.Wait() // after stdout reached EOF
		n.alive.Store(false)
		close(n.done)
	}()
	t.Cleanup(func() {
		n.stop(t)
		if b, _ := os.ReadFile(n.log); strings.Contains(string(b), "WARNING: DATA RACE") {
			t.Errorf("node %s had a data race:\n%s", name, b)
		}
	})
	select {
	case n.url = <-urls:
	case <-n.done:
		t.Fatalf("node %s exited before listening: %s", name, n.tail())
	case <-time.After(60 * time.Second):
		t.Fatalf("node %s did not print its listen line: %s", name, n.tail())
	}
	n.alive.Store(true)
	return n
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill(t testing.TB) {
	n.alive.Store(false)
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s survived SIGKILL", n.name)
	}
}

func (n *node) stop(t testing.TB) {
	select {
	case <-n.done:
		return
	default:
	}
	n.alive.Store(false)
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(15 * time.Second):
		t.Errorf("node %s did not stop on SIGTERM; killing it", n.name)
		n.kill(t)
	}
}

// tail returns the end of the node's log, for failure messages.
func (n *node) tail() string {
	b, _ := os.ReadFile(n.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// ready fetches /readyz: its status and body.
func (n *node) ready() (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", n.url+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var sb strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&sb)
	return resp.StatusCode, sb.String()
}

// redisServer is a throwaway redis-server on its own port, which a test
// may stop and start again on the same port.
type redisServer struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// needRedis skips unless BELFRY_TEST_REDIS is set and redis-server is on
// the PATH.
func needRedis(t testing.TB) {
	t.Helper()
	if os.Getenv("BELFRY_TEST_REDIS") == "" {
		t.Skip("BELFRY_TEST_REDIS is not set (these tests start their own redis-server on a free port)")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on the PATH")
	}
}

func startRedis(t testing.TB) *redisServer {
	t.Helper()
	r := &redisServer{port: freePort(t), dir: t.TempDir()}
	r.start(t)
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisServer) start(t testing.TB) {
	t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(r.cmd, r.done)
	waitFor(t, 20*time.Second, "redis-server to answer PING", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			return false
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.HasPrefix(line, "+PONG")
	})
}

// stop kills the server (SIGKILL: what it had not delivered is gone).
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.cmd = nil
}

// pgCluster is a throwaway PostgreSQL cluster run as the postgres user.
// Tests stop and start it to take the database away from belfry.
type pgCluster struct {
	once    sync.Once
	err     error
	bin     string
	dir     string
	port    int
	running bool
	mu      sync.Mutex
	dbs     int
}

// needPostgres skips unless BELFRY_TEST_POSTGRES is set, and returns the
// package's throwaway cluster, started on first use.
func needPostgres(t testing.TB) *pgCluster {
	t.Helper()
	if os.Getenv("BELFRY_TEST_POSTGRES") == "" {
		t.Skip("BELFRY_TEST_POSTGRES is not set (these tests run their own throwaway PostgreSQL cluster)")
	}
	pgShared.once.Do(func() { pgShared.err = pgShared.init() })
	if pgShared.err != nil {
		t.Fatalf("throwaway PostgreSQL: %v", pgShared.err)
	}
	return &pgShared
}

// pgBinDir returns BELFRY_TEST_PG_BIN or the newest installed version's bin.
func pgBinDir() (string, error) {
	if d := os.Getenv("BELFRY_TEST_PG_BIN"); d != "" {
		return d, nil
	}
	vs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(vs) == 0 {
		return "", errors.New("no /usr/lib/postgresql/*/bin/initdb; set BELFRY_TEST_PG_BIN")
	}
	sort.Slice(vs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(vs[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(vs[j]))))
		return vi < vj
	})
	return filepath.Dir(vs[len(vs)-1]), nil
}

// asPostgres runs a PostgreSQL program as the postgres user when we are
// root (PostgreSQL refuses to run as root), as ourselves otherwise.
func asPostgres(prog string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", prog}, args...)...)
	}
	return exec.Command(prog, args...)
}

func (c *pgCluster) init() error {
	bin, err := pgBinDir()
	if err != nil {
		return err
	}
	c.bin = bin
	dir, err := os.MkdirTemp("", "belfry-e2e-pg-")
	if err != nil {
		return err
	}
	c.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	// --no-sync: the cluster is thrown away; initdb takes ~4s instead of more.
	out, err := asPostgres(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"),
		"-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %v: %s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return c.start()
}

// start starts the cluster and waits until it accepts connections.
func (c *pgCluster) start() error {
	out, err := asPostgres(filepath.Join(c.bin, "pg_ctl"), "-D", filepath.Join(c.dir, "data"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.dir),
		"-l", filepath.Join(c.dir, "log"), "-w", "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	c.running = true
	return nil
}

// halt stops the cluster (fast mode: connections are cut).
func (c *pgCluster) halt() error {
	out, err := asPostgres(filepath.Join(c.bin, "pg_ctl"), "-D", filepath.Join(c.dir, "data"),
		"-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	c.running = false
	return nil
}

// stop stops the cluster if it runs and removes it.
func (c *pgCluster) stop() {
	if c.dir == "" {
		return
	}
	if c.running {
		_ = c.halt()
	}
	os.RemoveAll(c.dir)
}

// newDatabase creates a fresh database and returns its URL.
func (c *pgCluster) newDatabase(t testing.TB) string {
	t.Helper()
	c.mu.Lock()
	c.dbs++
	name := fmt.Sprintf("e2e_%d", c.dbs)
	c.mu.Unlock()
	out, err := asPostgres(filepath.Join(c.bin, "psql"), "-h", "127.0.0.1", "-p", strconv.Itoa(c.port),
		"-U", "postgres", "-d", "postgres", "-c", "CREATE DATABASE "+name).CombinedOutput()
	if err != nil {
		t.Fatalf("create database: %v: %s", err, out)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// ferretServer is a throwaway FerretDB (tools/ferretdb) on a fixed port
// with its own data directory, killed and started again by tests.
type ferretServer struct {
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// needFerretDB skips unless BELFRY_TEST_FERRETDB_BIN names the built
// tools/ferretdb launcher.
func needFerretDB(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("BELFRY_TEST_FERRETDB_BIN")
	if bin == "" {
		t.Skip("BELFRY_TEST_FERRETDB_BIN is not set (the built tools/ferretdb launcher: cd tools/ferretdb && go build -o $TMP/ferretdb .)")
	}
	return bin
}

func startFerret(t testing.TB, bin string) *ferretServer {
	t.Helper()
	f := &ferretServer{bin: bin, port: freePort(t), dir: t.TempDir()}
	f.start(t)
	t.Cleanup(f.stop)
	return f
}

// url names the database db on the server.
func (f *ferretServer) url(db string) string {
	return fmt.Sprintf("mongodb://127.0.0.1:%d/%s", f.port, db)
}

func (f *ferretServer) start(t testing.TB) {
	t.Helper()
	f.cmd = exec.Command(f.bin, "-listen", fmt.Sprintf("127.0.0.1:%d", f.port), "-dir", f.dir)
	f.cmd.Stderr = os.Stderr
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(f.cmd, f.done)
	waitFor(t, 30*time.Second, "FerretDB to listen", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", f.port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// stop kills the server (its SQLite files survive a process crash).
func (f *ferretServer) stop() {
	if f.cmd == nil {
		return
	}
	_ = f.cmd.Process.Signal(syscall.SIGKILL)
	<-f.done
	f.cmd = nil
}
