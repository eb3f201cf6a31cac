package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/postgres"
	"github.com/jackc/pgx/v5"
)

// baseURL returns BELFRY_TEST_POSTGRES, or skips the test visibly.
func baseURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("BELFRY_TEST_POSTGRES")
	if u == "" {
		tb.Skip("BELFRY_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return u
}

// freshSchema creates an empty schema, dropped when the test ends, and
// returns a URL whose search_path points at it: tests (and test binaries
// of other packages) can share the database and run in parallel.
func freshSchema(tb testing.TB) string {
	tb.Helper()
	base := baseURL(tb)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "belfry_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to %s: %v", base, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withParam(tb, base, "search_path", schema)
}

// withParam returns rawURL with one query parameter set.
func withParam(tb testing.TB, rawURL, key, value string) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatalf("BELFRY_TEST_POSTGRES must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
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
