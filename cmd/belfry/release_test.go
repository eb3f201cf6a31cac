package main

import (
	"context"
	"debug/elf"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestRelease builds the linux/amd64 release binary with `make release`
// (one platform, to keep CI short) and runs it as a machine without Go
// would: an environment with nothing but a PATH of an empty directory.
// The binary must be static, listed in SHA256SUMS, stamped with the
// version, commit and date, and serve /healthz from a SQLite file.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release binary: skipped with -short")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("runs the linux/amd64 binary: this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	for _, tool := range []string{"make", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	mk := exec.CommandContext(ctx, "make", "-C", root, "release", "PLATFORMS=linux/amd64", "DIST="+dist)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}

	// What the Makefile stamps: git's view of this checkout, or "dev".
	wantVersion, wantCommit := "dev", "unknown"
	if out, err := exec.Command("git", "-C", root, "describe", "--tags", "--always", "--dirty").Output(); err == nil {
		wantVersion = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		wantCommit = strings.TrimSpace(string(out))
	}

	bin := filepath.Join(dist, "belfry-linux-amd64")
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(sums)), "  belfry-linux-amd64") {
		t.Errorf("SHA256SUMS: %q", sums)
	}
	check := exec.Command("sha256sum", "-c", "SHA256SUMS")
	check.Dir = dist
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a dynamic loader (PT_INTERP): not static")
		}
	}
	f.Close()

	// No Go on the PATH, no GOROOT, no HOME: a clean machine.
	empty := t.TempDir()
	env := []string{"PATH=" + empty, "HOME=" + empty}
	version := exec.Command(bin, "version")
	version.Env = env
	out, err := version.Output()
	if err != nil {
		t.Fatalf("belfry version: %v", err)
	}
	if !strings.HasPrefix(string(out), "belfry "+wantVersion+" (commit "+wantCommit+", date 20") {
		t.Errorf("belfry version: %q, want version %s and commit %s", out, wantVersion, wantCommit)
	}

	serve := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--store", "sqlite:"+filepath.Join(empty, "belfry.db"),
		"--jwt-secret", testSecret, "--api-key", testAPIKey)
	serve.Env = env
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	serve.Stderr = stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { serve.Wait(); close(done) }()
	defer func() {
		serve.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("serve's stderr:\n%s", stderr.String())
		}
	}()
	lines := newLineReader(stdout)
	url := listeningRE.FindStringSubmatch(lines.waitFor(t, 60*time.Second, "the listen line", listeningRE.MatchString))[1]
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %s", resp.Status)
	}

	// The binary's own health check, as the container image runs it.
	hc := exec.Command(bin, "healthcheck", "--url", url, "--ready")
	hc.Env = env
	if out, err := hc.CombinedOutput(); err != nil {
		t.Errorf("belfry healthcheck --ready: %v\n%s", err, out)
	}
}
