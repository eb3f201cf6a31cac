// Package pgtest gives tests of any package a PostgreSQL database of their
// own: a fresh schema in the database named by BELFRY_TEST_POSTGRES,
// dropped when the test ends, so test binaries share one server and run in
// parallel. It is test support only; no command imports it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BaseURL returns BELFRY_TEST_POSTGRES, or skips the test visibly.
func BaseURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("BELFRY_TEST_POSTGRES")
	if u == "" {
		tb.Skip("BELFRY_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return u
}

// Schema creates an empty schema named prefix plus a random suffix,
// dropped when the test ends, and returns BaseURL with search_path set to
// it. It skips when BaseURL does.
func Schema(tb testing.TB, prefix string) string {
	tb.Helper()
	base := BaseURL(tb)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	if err := exec(base, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		if err := exec(base, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithParam(tb, base, "search_path", schema)
}

// WithParam returns rawURL with one query parameter set.
func WithParam(tb testing.TB, rawURL, key, value string) string {
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

func exec(base, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}
