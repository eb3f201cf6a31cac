//go:build linux

package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestImage builds the Dockerfile with podman and runs the image: it must
// run as 65532 with the SQLite store in the /data volume, answer /healthz
// on its published port 8080, and turn healthy by its own HEALTHCHECK
// (belfry healthcheck). It needs root, podman and runc (apt-get install
// podman runc busybox-static; .ci/run installs them) and skips without.
//
// The builder stage is BELFRY_TEST_GO_IMAGE when set (an image with Go,
// as docker.io/library/golang:1.26-bookworm, that this machine can pull).
// Otherwise, as registries are often out of reach here, it is a local
// image of Debian's static busybox for the shell, with this machine's Go
// toolchain, module cache and build cache mounted in for the RUN steps:
// the same Dockerfile, only the builder differs.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("the image test runs rootful podman: root only")
	}
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed (apt-get install podman runc busybox-static): the image is not tested")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &podman{t: t, args: []string{"--root", filepath.Join(dir, "storage"), "--runroot", filepath.Join(dir, "run"),
		"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file"}}
	// crun refuses hybrid cgroup hierarchies (v1 controllers beside a v2
	// mount), which some VMs have; runc runs there.
	if _, err := exec.LookPath("runc"); err == nil {
		p.args = append(p.args, "--runtime", "runc")
	}

	build := []string{"build", "--format", "docker", "--network", "host",
		"--build-arg", "VERSION=v0.0.0-image-test", "--build-arg", "COMMIT=0123456789abcdef",
		"--build-arg", "DATE=2026-12-07T00:00:00Z", "-t", "localhost/belfry:image-test"}
	if img := os.Getenv("BELFRY_TEST_GO_IMAGE"); img != "" {
		build = append(build, "--build-arg", "GO_IMAGE="+img)
	} else {
		build = append(build, localBuilder(t, p, dir)...)
	}
	p.run(20*time.Minute, append(build, root)...)

	var cfg []struct {
		Config struct {
			User         string
			ExposedPorts map[string]any
			Volumes      map[string]any
			Entrypoint   []string
		}
		Healthcheck struct{ Test []string } // podman shows it beside Config
	}
	if err := json.Unmarshal([]byte(p.run(time.Minute, "image", "inspect", "localhost/belfry:image-test")), &cfg); err != nil || len(cfg) != 1 {
		t.Fatalf("image inspect: %v %v", err, cfg)
	}
	c, hc := cfg[0].Config, cfg[0].Healthcheck
	if c.User != "65532:65532" || c.ExposedPorts["8080/tcp"] == nil || c.Volumes["/data"] == nil ||
		strings.Join(c.Entrypoint, " ") != "/belfry serve --addr :8080" ||
		strings.Join(hc.Test, " ") != "CMD /belfry healthcheck" {
		t.Errorf("image config: %+v, health check %v", c, hc.Test)
	}

	// The engine's default limits may exceed what this process may set
	// (runc then fails): ask for this process's own.
	var nofile syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	name := "belfry-image-test"
	p.run(time.Minute, "run", "-d", "--name", name, "-p", "127.0.0.1::8080",
		"--ulimit", fmt.Sprintf("nofile=%d:%d", nofile.Cur, nofile.Max), "--ulimit", "nproc=4096:4096",
		"localhost/belfry:image-test", "--jwt-secret", testSecret, "--api-key", testAPIKey)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("podman", append(p.args, "logs", name)...).CombinedOutput()
			t.Logf("the container's logs:\n%s", out)
		}
		exec.Command("podman", append(p.args, "rm", "-f", "-t", "5", name)...).Run()
	})

	// HEALTHCHECK, run on demand: status 0 once belfry answers.
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := exec.Command("podman", append(p.args, "healthcheck", "run", name)...).Run()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the health check did not pass within 60s: %v", err)
		}
		time.Sleep(200 * time.Millisecond) // polling a process outside the test's control
	}
	if s := strings.TrimSpace(p.run(time.Minute, "inspect", "--format", "{{.State.Health.Status}}", name)); s != "healthy" {
		t.Errorf("health status %q", s)
	}

	hostPort := strings.TrimSpace(p.run(time.Minute, "port", name, "8080/tcp"))
	resp, err := http.Get("http://" + hostPort + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz on the published port: %s", resp.Status)
	}
	if out := p.run(time.Minute, "exec", name, "/belfry", "version"); !strings.HasPrefix(out,
		"belfry v0.0.0-image-test (commit 0123456789abcdef, date 2026-12-07T00:00:00Z,") {
		t.Errorf("belfry version in the image: %q", out)
	}

	// The store is in the /data volume, written by the image's user.
	src := strings.TrimSpace(p.run(time.Minute, "inspect", "--format",
		`{{range .Mounts}}{{if eq .Destination "/data"}}{{.Source}}{{end}}{{end}}`, name))
	fi, err := os.Stat(filepath.Join(src, "belfry.db"))
	if err != nil {
		t.Fatalf("the SQLite store in the /data volume: %v", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65532 || st.Gid != 65532 {
		t.Errorf("belfry.db is owned by %d:%d, not 65532:65532", st.Uid, st.Gid)
	}
}

// podman runs podman with the test's storage.
type podman struct {
	t    *testing.T
	args []string
}

// run runs one podman command and returns its stdout; it fails the test
// on a non-zero status.
func (p *podman) run(timeout time.Duration, args ...string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman", append(p.args, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		p.t.Fatalf("podman %s: %v\n%s\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// localBuilder makes the builder stage's image without a registry and
// returns the build flags that use it: Debian's static busybox (a shell
// for RUN), the CA certificates, and this machine's Go, module cache and
// build cache mounted at the golang image's paths.
func localBuilder(t *testing.T, p *podman, dir string) []string {
	t.Helper()
	const busybox = "/bin/busybox"
	f, err := elf.Open(busybox)
	if err != nil {
		t.Skipf("no static busybox for the builder stage (apt-get install busybox-static, or set BELFRY_TEST_GO_IMAGE): %v", err)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			f.Close()
			t.Skip("/bin/busybox is not static (apt-get install busybox-static, or set BELFRY_TEST_GO_IMAGE)")
		}
	}
	f.Close()
	goEnv := map[string]string{}
	out, err := exec.Command("go", "env", "GOROOT", "GOMODCACHE", "GOCACHE", "GOPROXY").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	vals := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, k := range []string{"GOROOT", "GOMODCACHE", "GOCACHE", "GOPROXY"} {
		goEnv[k] = vals[i]
	}

	ctxDir := filepath.Join(dir, "builder")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{busybox: "busybox", "/etc/ssl/certs/ca-certificates.crt": "ca-certificates.crt"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Skipf("the builder stage needs %s: %v", src, err)
		}
		if err := os.WriteFile(filepath.Join(ctxDir, dst), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	containerfile := `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -m 1777 /tmp"]
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV HOME=/root PATH=/usr/local/go/bin:/go/bin:/bin GOPATH=/go GOTOOLCHAIN=local GOPROXY=` + goEnv["GOPROXY"] + "\n"
	if err := os.WriteFile(filepath.Join(ctxDir, "Containerfile"), []byte(containerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	p.run(5*time.Minute, "build", "--network", "host", "-t", "localhost/belfry-image-test-go", ctxDir)
	return []string{"--build-arg", "GO_IMAGE=localhost/belfry-image-test-go",
		"-v", goEnv["GOROOT"] + ":/usr/local/go:ro",
		"-v", goEnv["GOMODCACHE"] + ":/go/pkg/mod",
		"-v", goEnv["GOCACHE"] + ":/root/.cache/go-build"}
}
