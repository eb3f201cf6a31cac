package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var pprofRE = regexp.MustCompile(`msg="pprof listening" url=(\S+)`)

// TestPprofHidesCommandLine runs the real program with its secret and key
// on the command line and --pprof-addr: /debug/pprof/cmdline, which would
// print them, is 404, and neither shows in the profiler's pages.
func TestPprofHidesCommandLine(t *testing.T) {
	p := startProcess(t, nil, "serve", "--addr", "127.0.0.1:0", "--store", "sqlite:"+filepath.Join(t.TempDir(), "p.db"),
		"--jwt-secret", testSecret, "--api-key", testAPIKey, "--pprof-addr", "127.0.0.1:0")
	var base string
	waitUntil(t, 60*time.Second, "the pprof listen line", func() bool {
		if m := pprofRE.FindStringSubmatch(p.stderr.String()); m != nil {
			base = m[1]
			return true
		}
		return false
	})
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := get("cmdline"); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/cmdline: %d %q, want 404", code, body)
	}
	for _, path := range []string{"", "cmdline", "goroutine?debug=2", "symbol"} {
		code, body := get(path)
		if path == "" && code != 200 {
			t.Errorf("GET /debug/pprof/: %d", code)
		}
		if strings.Contains(body, testSecret) || strings.Contains(body, testAPIKey) {
			t.Errorf("GET /debug/pprof/%s shows the secret or the key", path)
		}
	}
}
