package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The systemd unit and its environment file, checked against the program
// they start: deploy/belfry.service must pass systemd-analyze verify, its
// limits must agree with belfry's, and its command line with the example
// environment must start a server (once the placeholders are replaced).

const (
	unitFile       = "../../deploy/belfry.service"
	unitEnvExample = "../../deploy/belfry.env.example"
	// unitBinary is where the unit expects belfry.
	unitBinary = "/usr/local/bin/belfry"
)

// unitSettings returns the settings of section in a unit file, each key
// with its values in order. Comments and blank lines are skipped; the unit
// has no continuation lines.
func unitSettings(t *testing.T, text, section string) map[string][]string {
	t.Helper()
	settings := map[string][]string{}
	current := ""
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			current = strings.Trim(line, "[]")
		case current == section:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("unit line %q has no =", line)
			}
			settings[k] = append(settings[k], v)
		}
	}
	return settings
}

// unitValue returns the one value of key, failing the test if there is
// not exactly one.
func unitValue(t *testing.T, s map[string][]string, key string) string {
	t.Helper()
	if len(s[key]) != 1 {
		t.Fatalf("%s= is set %d times in the unit, want once", key, len(s[key]))
	}
	return s[key][0]
}

func readUnit(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit, with
// ExecStart pointed at an executable that exists (verify refuses a missing
// one): this test's own binary, which is belfry's main package. It also
// logs the exposure score of systemd-analyze security, without judging it.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian package systemd): deploy/belfry.service is not verified")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	text := readUnit(t)
	if !strings.Contains(text, "\nExecStart="+unitBinary+" ") {
		t.Fatalf("ExecStart does not start %s", unitBinary)
	}
	local := strings.ReplaceAll(text, "\nExecStart="+unitBinary+" ", "\nExecStart="+exe+" ")
	dir := t.TempDir()

	verify := func(name, unit string) (string, error) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	// A clean unit verifies without a word; a warning (an unknown or
	// misspelt key is only "ignoring") counts as a failure.
	if out, err := verify("belfry.service", local); err != nil || out != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The check above can fail: a misspelt key is reported.
	bad := strings.Replace(local, "\nLockPersonality=", "\nLockPersonalty=", 1)
	if out, _ := verify("belfry-bad.service", bad); !strings.Contains(out, "LockPersonalty") {
		t.Fatalf("systemd-analyze verify did not report a misspelt key: %q", out)
	}

	out, err := exec.Command(analyze, "security", "--offline=true", "--no-pager",
		filepath.Join(dir, "belfry.service")).CombinedOutput()
	if err != nil {
		t.Logf("systemd-analyze security (not judged): %v\n%s", err, out)
		return
	}
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "Overall exposure level") {
			t.Logf("systemd-analyze security: %s", strings.TrimSpace(line))
		}
	}
}

// TestSystemdUnitLimits checks the unit's settings that must agree with
// belfry: the state directory holds the SQLite store, the descriptor
// limit gives the --max-streams its comment promises, and systemd waits
// longer than the graceful shutdown before it kills.
func TestSystemdUnitLimits(t *testing.T) {
	text := readUnit(t)
	s := unitSettings(t, text, "Service")

	if got := unitValue(t, s, "DynamicUser"); got != "yes" {
		t.Errorf("DynamicUser=%s, want yes", got)
	}
	state := "/var/lib/" + unitValue(t, s, "StateDirectory")
	args := strings.Fields(unitValue(t, s, "ExecStart"))
	if len(args) < 2 || args[0] != unitBinary || args[1] != "serve" {
		t.Fatalf("ExecStart=%s, want %s serve …", strings.Join(args, " "), unitBinary)
	}
	m := NewMain()
	if err := m.ParseFlags(args[2:], func(string) string { return "" }); err != nil {
		t.Fatalf("ExecStart's flags: %v", err)
	}
	// Without its secrets, belfry starts in demo mode: the environment
	// file must be required, not optional ("-" prefix).
	if !m.DemoMode {
		t.Error("the unit's command line alone does not start demo mode: secrets in ExecStart?")
	}
	if env := unitValue(t, s, "EnvironmentFile"); strings.HasPrefix(env, "-") {
		t.Errorf("EnvironmentFile=%s is optional: without it belfry would start in demo mode", env)
	}
	if !strings.HasPrefix(m.Store, "sqlite:"+state+"/") {
		t.Errorf("--store %s is not in the state directory %s", m.Store, state)
	}

	limit, err := strconv.ParseUint(unitValue(t, s, "LimitNOFILE"), 10, 64)
	if err != nil {
		t.Fatalf("LimitNOFILE: %v", err)
	}
	streams := withCommas(maxStreamsFor(limit))
	t.Logf("LimitNOFILE=%d gives --max-streams %s", limit, streams)
	if !strings.Contains(text, streams+" streams for "+withCommas(int(limit))) {
		t.Errorf("the unit's comment does not say that LimitNOFILE=%d gives %s streams", limit, streams)
	}
	if limit < 65536 {
		t.Errorf("LimitNOFILE=%d holds fewer streams than a shell's default would be raised to", limit)
	}

	stop, err := time.ParseDuration(unitValue(t, s, "TimeoutStopSec"))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	if stop <= NewMain().ShutdownTimeout {
		t.Errorf("TimeoutStopSec=%s does not exceed --shutdown-timeout's default %s", stop, NewMain().ShutdownTimeout)
	}
	if got := unitValue(t, s, "KillSignal"); got != "SIGTERM" {
		t.Errorf("KillSignal=%s: belfry's graceful shutdown starts on SIGTERM", got)
	}
}

// withCommas formats n as the docs do: 943719 → 943,719.
func withCommas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// envExample reads the example environment file: the variables it sets,
// and the names of those it shows commented out.
func envExample(t *testing.T) (set map[string]string, commented []string) {
	t.Helper()
	f, err := os.Open(unitEnvExample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set = map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutPrefix(line, "#BELFRY_"); ok {
			name, _, _ = strings.Cut(name, "=")
			commented = append(commented, "BELFRY_"+name)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q has no =", unitEnvExample, line)
		}
		set[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return set, commented
}

// serveVariables returns the environment variables of belfry serve's
// flags, read from its usage text.
func serveVariables(t *testing.T) map[string]bool {
	t.Helper()
	m := NewMain()
	var usage syncBuffer
	m.Stderr = &usage
	if err := m.ParseFlags([]string{"-h"}, func(string) string { return "" }); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve -h: %v", err)
	}
	vars := map[string]bool{}
	for _, match := range regexp.MustCompile(`\[(BELFRY_[A-Z0-9_]+)\]`).FindAllStringSubmatch(usage.String(), -1) {
		vars[match[1]] = true
	}
	if !vars["BELFRY_JWT_SECRET"] {
		t.Fatalf("no BELFRY_JWT_SECRET in the usage of serve:\n%s", usage.String())
	}
	return vars
}

// TestSystemdEnvExample starts belfry as the unit does, with the example
// environment file: refused as it is (its secrets are placeholders), then
// serving once they are replaced. Every variable the file names, set or
// commented out, must be one of serve's.
func TestSystemdEnvExample(t *testing.T) {
	set, commented := envExample(t)
	known := serveVariables(t)
	for _, name := range commented {
		if !known[name] {
			t.Errorf("%s names %s, which no flag of belfry serve reads", unitEnvExample, name)
		}
	}
	for name := range set {
		if !known[name] {
			t.Errorf("%s sets %s, which no flag of belfry serve reads", unitEnvExample, name)
		}
	}
	if set["BELFRY_STORE"] != "" {
		t.Errorf("%s sets BELFRY_STORE, which the unit's --store overrides", unitEnvExample)
	}

	s := unitSettings(t, readUnit(t), "Service")
	args := strings.Fields(unitValue(t, s, "ExecStart"))[2:]
	// The unit's store, moved to a temporary state directory, and a free
	// port: the command line wins over BELFRY_ADDR.
	dir := t.TempDir()
	for i, a := range args {
		if strings.HasPrefix(a, "sqlite:/var/lib/belfry/") {
			args[i] = "sqlite:" + filepath.Join(dir, strings.TrimPrefix(a, "sqlite:/var/lib/belfry/"))
		}
	}
	args = append(args, "--addr", "127.0.0.1:0")
	getenv := func(env map[string]string) func(string) string {
		return func(k string) string { return env[k] }
	}

	m := NewMain()
	err := m.ParseFlags(args, getenv(set))
	if err == nil || !strings.Contains(err.Error(), "--jwt-secret") {
		t.Fatalf("the example's placeholder secret was not refused: %v", err)
	}
	filled := map[string]string{}
	for k, v := range set {
		filled[k] = v
	}
	filled["BELFRY_JWT_SECRET"] = testSecret
	if m := NewMain(); m.ParseFlags(args, getenv(filled)) == nil {
		t.Fatal("the example's placeholder API key was not refused")
	}
	filled["BELFRY_API_KEY"] = testAPIKey

	m = NewMain()
	var stderr syncBuffer
	m.Stderr = &stderr
	if err := m.ParseFlags(args, getenv(filled)); err != nil {
		t.Fatal(err)
	}
	if m.DemoMode {
		t.Fatal("the filled-in example starts demo mode")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-m.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	resp, err := http.Get(m.URL() + "/healthz")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %d", resp.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := os.Stat(filepath.Join(dir, "belfry.db")); err != nil {
		t.Errorf("the store is not in the state directory: %v", err)
	}
}
