package postgres_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/internal/pgtest"
	"github.com/belfry/belfry/postgres"
)

// baseURL, freshSchema and withParam are the shared pgtest helpers under
// the names this package's tests use.
func baseURL(tb testing.TB) string { return pgtest.BaseURL(tb) }

func freshSchema(tb testing.TB) string { return pgtest.Schema(tb, "belfry_test_") }

func withParam(tb testing.TB, rawURL, key, value string) string {
	return pgtest.WithParam(tb, rawURL, key, value)
}

// openStore opens a Store on url, closed when the test ends.
func openStore(tb testing.TB, url string) *postgres.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, url)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// note returns a notification to create for user.
func note(user, msg string) *belfry.Notification {
	return &belfry.Notification{UserID: user, Message: msg}
}

// wantCode fails the test unless err has the code.
func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := belfry.ErrorCode(err); got != code {
		tb.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// migrationCount returns the number of migration files, the schema
// versions a migrated database holds.
func migrationCount(tb testing.TB) int {
	tb.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no migrations found: %v", err)
	}
	return len(files)
}
