package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandFor: under go run the banner's commands start with go run;
// a belfry on the PATH is called by its name, any other by its path.
func TestCommandFor(t *testing.T) {
	tmp := filepath.Join(string(filepath.Separator), "tmp")
	dir := t.TempDir()
	exe := filepath.Join(dir, "belfry")
	if err := os.WriteFile(exe, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "belfry")
	if err := os.WriteFile(other, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		exe, onPath, want string
	}{
		{filepath.Join(tmp, "go-build3190813785", "b001", "exe", "belfry"), "", "go run ./cmd/belfry"},
		{filepath.Join(tmp, "go-build1", "b001", "exe", "belfry"), other, "go run ./cmd/belfry"},
		{exe, exe, "belfry"},
		{exe, "", exe},
		{exe, other, exe},
		{filepath.Join(tmp, "belfry"), "", filepath.Join(tmp, "belfry")},
		{filepath.Join(tmp, "x", "go-build1", "belfry"), "", filepath.Join(tmp, "x", "go-build1", "belfry")},
		{filepath.Join(tmp+"2", "go-build1", "belfry"), "", filepath.Join(tmp+"2", "go-build1", "belfry")},
	} {
		if got := commandFor(c.exe, tmp, c.onPath, "./cmd/belfry"); got != c.want {
			t.Errorf("commandFor(%q, onPath %q) = %q, want %q", c.exe, c.onPath, got, c.want)
		}
	}
}

// TestDemoBannerCommand: the banner's tail command starts with how this
// program is run.
func TestDemoBannerCommand(t *testing.T) {
	m := NewMain()
	m.Stderr = io.Discard
	if err := m.ParseFlags(nil, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	m.Stdout = &out
	m.self = "go run ./cmd/belfry"
	m.printDemo("http://127.0.0.1:8080")
	if !strings.Contains(out.String(), "\n  go run ./cmd/belfry tail --url http://127.0.0.1:8080 --token ") {
		t.Fatalf("the banner does not run tail as started:\n%s", out.String())
	}
}
