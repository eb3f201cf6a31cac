package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// startDemo runs serve in demo mode on a SQLite file in dir and returns it
// once it listens.
func startDemo(t *testing.T, dir string) *server {
	t.Helper()
	return startMain(t, []string{"--addr", "127.0.0.1:0", "--store", "sqlite:" + filepath.Join(dir, "demo.db")})
}

// TestDemoCredentialsKept: two demo starts on one store share the
// credentials, kept in belfry-demo.json (mode 0600) beside the database,
// so a token of the first start is good for the second.
func TestDemoCredentialsKept(t *testing.T) {
	dir := t.TempDir()
	s1 := startDemo(t, dir)
	secret, key := s1.m.JWTSecret, s1.m.APIKeys[0]
	s1.shutdown(t)

	path := filepath.Join(dir, demoCredentialsName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	s2 := startDemo(t, dir)
	if s2.m.JWTSecret != secret || len(s2.m.APIKeys) != 1 || s2.m.APIKeys[0] != key {
		t.Fatalf("second demo start: secret %q key %v, want the first one's %q %q", s2.m.JWTSecret, s2.m.APIKeys, secret, key)
	}
	if s2.m.demoFile != path {
		t.Errorf("demo file %q, want %q", s2.m.demoFile, path)
	}
}

// TestDemoCredentialsIgnoredForReal: a start with real credentials neither
// reads an existing belfry-demo.json nor writes one.
func TestDemoCredentialsIgnoredForReal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, demoCredentialsName)
	planted := demoCredentials{JWTSecret: strings.Repeat("p", 40), APIKey: strings.Repeat("k", 20)}
	b, _ := json.Marshal(planted)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, dir)
	if s.m.JWTSecret != testSecret || s.m.APIKeys[0] != testAPIKey {
		t.Fatalf("a real start took the demo file's credentials: %q %v", s.m.JWTSecret, s.m.APIKeys)
	}
	s.shutdown(t)
	if got, _ := os.ReadFile(path); string(got) != string(b) {
		t.Fatalf("the demo file changed: %s", got)
	}

	other := t.TempDir()
	startServer(t, other).shutdown(t)
	if _, err := os.Stat(filepath.Join(other, demoCredentialsName)); !os.IsNotExist(err) {
		t.Fatalf("a real start wrote a demo file: %v", err)
	}
}

// TestDemoCredentialsBadFile: a damaged file fails the start and says how
// to recover.
func TestDemoCredentialsBadFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, demoCredentialsName), []byte(`{"jwt_secret":"short"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	m := NewMain()
	m.Stdout, m.Stderr = io.Discard, io.Discard
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--store", "sqlite:" + filepath.Join(dir, "demo.db")}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	err := m.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "delete the file") {
		t.Fatalf("Run with a damaged demo file: %v", err)
	}
}
