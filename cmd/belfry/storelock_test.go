package main

import (
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/belfry/belfry/sqlite"
)

// TestSecondServeOnOneSQLiteFile: a second serve on the SQLite file of a
// running one is refused with a message that says why; once the first
// stops, a new one starts. Opening the database without serving (as
// tools and tests do) is not stopped by the lock.
func TestSecondServeOnOneSQLiteFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock on Windows: a second serve is not detected there")
	}
	dir := t.TempDir()
	first := startServer(t, dir)

	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "belfry.db"))
	if err != nil {
		t.Fatalf("opening the database beside a running serve: %v", err)
	}
	st.Close()

	m := NewMain()
	m.Stdout, m.Stderr = io.Discard, io.Discard
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--store", "sqlite:" + filepath.Join(dir, "belfry.db"),
		"--jwt-secret", testSecret, "--api-key", testAPIKey}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	err = m.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "another belfry serve") || !strings.Contains(err.Error(), "belfry.db") ||
		!strings.Contains(err.Error(), "miss the other's streams") {
		t.Fatalf("second serve on one file: %v", err)
	}
	// Another file in the same directory is fine.
	startMain(t, []string{"--addr", "127.0.0.1:0", "--store", "sqlite:" + filepath.Join(dir, "other.db"),
		"--jwt-secret", testSecret, "--api-key", testAPIKey}).shutdown(t)

	first.shutdown(t)
	startServer(t, dir).shutdown(t)
}
