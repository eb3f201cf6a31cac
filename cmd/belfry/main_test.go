package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// execMainEnv makes the test binary behave as the belfry binary: the tests
// that need a real process (signals, exit status, stdout) run
// os.Args[0] with it set, which is faster than building the command.
const execMainEnv = "BELFRY_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(execMainEnv) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}

// process is a belfry command running as a child process.
type process struct {
	cmd    *exec.Cmd
	stdout *lineReader
	stderr *syncBuffer
	done   chan struct{}
	err    error // after done
}

// startProcess runs `belfry args...` as a child process with only the
// BELFRY_ variables of env (the test's own are not passed on).
func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = []string{execMainEnv + "=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.stdout = newLineReader(out)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("stderr of belfry %s:\n%s", strings.Join(args, " "), p.stderr.String())
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit status.
func (p *process) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("the process did not exit within %s", timeout)
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// lineReader collects the lines of a pipe as they come.
type lineReader struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{} // closed and replaced at every new line
	eof   bool
}

func newLineReader(r io.Reader) *lineReader {
	lr := &lineReader{more: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lr.mu.Lock()
			lr.lines = append(lr.lines, sc.Text())
			close(lr.more)
			lr.more = make(chan struct{})
			lr.mu.Unlock()
		}
		lr.mu.Lock()
		lr.eof = true
		close(lr.more)
		lr.mu.Unlock()
	}()
	return lr
}

// waitFor returns the first line for which match is true, waiting for it
// until timeout.
func (lr *lineReader) waitFor(t *testing.T, timeout time.Duration, what string, match func(string) bool) string {
	t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		lr.mu.Lock()
		lines, more, eof := lr.lines, lr.more, lr.eof
		lr.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if match(lines[seen]) {
				return lines[seen]
			}
		}
		if eof {
			t.Fatalf("output ended before %s; got:\n%s", what, strings.Join(lines, "\n"))
		}
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("no %s within %s; got:\n%s", what, timeout, strings.Join(lines, "\n"))
		}
	}
}

func (lr *lineReader) all() []string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return append([]string(nil), lr.lines...)
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines returns the complete lines written so far.
func (s *syncBuffer) lines() []string {
	text := s.String()
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		return strings.Split(text[:i], "\n")
	}
	return nil
}

// waitUntil polls cond until it is true or the deadline passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
}

// server is a Main running in this process.
type server struct {
	m      *Main
	url    string
	stderr *syncBuffer
	stop   context.CancelFunc
	done   chan error
}

const (
	testSecret = "test-secret-0123456789abcdef0123456789"
	testAPIKey = "test-api-key-0123456789"
)

// startServer runs `belfry serve` in process on 127.0.0.1:0 (unless args
// set --addr) with a SQLite file in dir, a fixed secret and API key.
func startServer(t *testing.T, dir string, args ...string) *server {
	t.Helper()
	base := []string{"--addr", "127.0.0.1:0", "--store", "sqlite:" + filepath.Join(dir, "belfry.db"),
		"--jwt-secret", testSecret, "--api-key", testAPIKey, "--retry", "50ms", "--log-level", "debug"}
	return startMain(t, append(base, args...))
}

// startMain runs `belfry serve args` in process, with no environment, and
// returns it once it listens.
func startMain(t *testing.T, args []string) *server {
	t.Helper()
	m := NewMain()
	s := &server{m: m, stderr: &syncBuffer{}, done: make(chan error, 1)}
	m.Stderr, m.Stdout = s.stderr, io.Discard
	if err := m.ParseFlags(args, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go func() { s.done <- m.Run(ctx) }()
	select {
	case <-m.Ready():
	case err := <-s.done:
		cancel()
		t.Fatalf("serve: %v\n%s", err, s.stderr.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	s.url = m.URL()
	t.Cleanup(func() { s.shutdown(t) })
	return s
}

// shutdown stops the server and checks that it returned nil; safe to call
// twice.
func (s *server) shutdown(t *testing.T) {
	t.Helper()
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve returned %v\n%s", err, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// runCmd runs one subcommand in process and returns its exit status and
// output.
func runCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}
