package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestServeRefusesDemoWithCredentials: --demo (its /demo/token hands a
// token for any user to anyone) is refused at start next to a real
// secret, key or --auth-url, from the flags or the environment.
func TestServeRefusesDemoWithCredentials(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
	}{
		{args: []string{"--demo", "--jwt-secret", testSecret, "--api-key", testAPIKey}},
		{args: []string{"--demo", "--api-key", testAPIKey}},
		{args: []string{"--demo", "--jwt-secret", testSecret}},
		{args: []string{"--demo", "--auth-url", "http://127.0.0.1:1/api/user", "--api-key", testAPIKey}},
		{env: map[string]string{"BELFRY_DEMO": "true", "BELFRY_JWT_SECRET": testSecret, "BELFRY_API_KEY": testAPIKey}},
	} {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--store", "sqlite:" + t.TempDir() + "/d.db"}, c.args...)
		code, _, errOut := runCmd(t, c.env, args...)
		if code != exitUsage || !strings.Contains(errOut, "--demo") || !strings.Contains(errOut, "refused") {
			t.Errorf("serve %v (env %v): exit %d, stderr %q; want --demo refused", c.args, c.env, code, errOut)
		}
		if strings.Contains(errOut, testSecret) || strings.Contains(errOut, testAPIKey) {
			t.Errorf("the refusal shows a secret: %q", errOut)
		}
	}
}

// TestServeDemoModeListensOnLoopback: demo mode listens on 127.0.0.1:8080
// unless an address was given (flag or environment), and its banner says
// how to listen elsewhere; a real configuration keeps :8080.
func TestServeDemoModeListensOnLoopback(t *testing.T) {
	for _, c := range []struct {
		args     []string
		env      map[string]string
		addr     string
		loopback bool
	}{
		{addr: "127.0.0.1:8080", loopback: true},
		{args: []string{"--demo"}, addr: "127.0.0.1:8080", loopback: true},
		{args: []string{"--addr", ":8080"}, addr: ":8080"},
		{env: map[string]string{"BELFRY_ADDR": ":9090"}, addr: ":9090"},
		{args: []string{"--jwt-secret", testSecret, "--api-key", testAPIKey}, addr: ":8080"},
	} {
		m := NewMain()
		m.Stderr = io.Discard
		if err := m.ParseFlags(c.args, func(k string) string { return c.env[k] }); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if m.Addr != c.addr {
			t.Errorf("args %v env %v: listens on %q, want %q", c.args, c.env, m.Addr, c.addr)
		}
		if !m.DemoMode {
			continue
		}
		var out bytes.Buffer
		m.Stdout = &out
		m.printDemo("http://" + m.Addr)
		says := strings.Contains(out.String(), "127.0.0.1 only") && strings.Contains(out.String(), "--addr :8080")
		if says != c.loopback {
			t.Errorf("args %v env %v: the banner tells how to listen elsewhere: %v, want %v:\n%s",
				c.args, c.env, says, c.loopback, out.String())
		}
	}
}
