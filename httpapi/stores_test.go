package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/mongodb"
	"github.com/belfry/belfry/postgres"
	"github.com/jackc/pgx/v5"
)

// onEveryStore runs f on SQLite, and on PostgreSQL and MongoDB when their
// test variables are set (BELFRY_TEST_POSTGRES, BELFRY_TEST_MONGODB): the
// API's answers and events must not depend on the store.
func onEveryStore(t *testing.T, f func(t *testing.T, o envOpts)) {
	t.Run("sqlite", func(t *testing.T) { f(t, envOpts{}) })
	t.Run("postgres", func(t *testing.T) {
		u := os.Getenv("BELFRY_TEST_POSTGRES")
		if u == "" {
			t.Skip("BELFRY_TEST_POSTGRES is not set")
		}
		f(t, envOpts{store: func(t testing.TB) belfry.Store {
			// Each test gets a schema of its own: the tests reuse user ids.
			schema := "httpapi_" + randomHex(6)
			admin, err := pgx.Connect(t.Context(), u)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := admin.Exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
				admin.Close(context.Background())
			})
			s, err := postgres.Open(t.Context(), withQuery(u, "search_path", schema))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}})
	})
	t.Run("mongodb", func(t *testing.T) {
		u := os.Getenv("BELFRY_TEST_MONGODB")
		if u == "" {
			t.Skip("BELFRY_TEST_MONGODB is not set")
		}
		f(t, envOpts{store: func(t testing.TB) belfry.Store {
			p, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			p.Path = "/httpapi_" + randomHex(6) // a database of its own
			s, err := mongodb.Open(t.Context(), p.String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}})
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func withQuery(raw, k, v string) string {
	p, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := p.Query()
	q.Set(k, v)
	p.RawQuery = q.Encode()
	return p.String()
}
