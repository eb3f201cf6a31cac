package postgres_test

import (
	"testing"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/storetest"
)

// TestStore runs the conformance suite, each subtest on a fresh schema.
func TestStore(t *testing.T) {
	baseURL(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) belfry.Store {
		return openStore(t, freshSchema(t))
	})
}

// TestStoreShared runs the suite for several handles on one database, as
// several belfry nodes have: each handle is its own Store with its own pool.
func TestStoreShared(t *testing.T) {
	baseURL(t)
	t.Parallel()
	storetest.RunShared(t, func(t *testing.T, n int) []belfry.Store {
		url := freshSchema(t)
		ss := make([]belfry.Store, n)
		for i := range ss {
			ss[i] = openStore(t, url)
		}
		return ss
	})
}
