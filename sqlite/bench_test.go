package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/internal/cputime"
	"github.com/belfry/belfry/sqlite"
)

// BenchmarkCreate measures durable creates, one notification per call, from
// 1 and from 64 concurrent publishers (each writing to its own share of
// 1000 users). notifications/s is what group commit buys.
func BenchmarkCreate(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		for _, publishers := range []int{1, 64} {
			b.Run(fmt.Sprintf("sync=%s/publishers=%d", sync, publishers), func(b *testing.B) {
				s, err := sqlite.OpenConfig(b.Context(), sqlite.Config{
					Path: filepath.Join(b.TempDir(), "bench.db"), Synchronous: sync})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				ctx := b.Context()
				cpu0 := cputime.Process()
				if publishers == 1 {
					i := 0
					for b.Loop() {
						create(b, ctx, s, fmt.Sprint("user-", i%1000))
						i++
					}
				} else {
					b.SetParallelism((publishers + 1) / 2) // × GOMAXPROCS (2 here) goroutines
					b.RunParallel(func(pb *testing.PB) {
						i := 0
						for pb.Next() {
							create(b, ctx, s, fmt.Sprint("user-", i%1000))
							i++
						}
					})
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notifications/s")
				b.ReportMetric(float64((cputime.Process()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

func create(b *testing.B, ctx context.Context, s *sqlite.Store, user string) {
	err := s.Create(ctx, []*belfry.Notification{{UserID: user, Message: "Your invoice #42 is ready",
		Link: "/invoices/42", Data: []byte(`{"invoice":42}`)}})
	if err != nil {
		b.Error(err)
	}
}

// BenchmarkPublish is BenchmarkCreate's 64 durable publishers through
// Publish: with no preferences set (one index probe per commit), with a
// tenth of the 1000 users having the category turned off (their
// preferences read in the writer, their notifications skipped), with
// an idempotency key per call (one record written per call), and with two
// outbox jobs per call (a push job for users with a subscription, which
// none has: one probe; and an escalation: one row).
func BenchmarkPublish(b *testing.B) {
	for _, mode := range []string{"plain", "prefs", "keyed", "jobs"} {
		b.Run(mode, func(b *testing.B) {
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := b.Context()
			if mode == "prefs" {
				f := false
				for i := 0; i < 1000; i += 10 {
					p := belfry.PreferencesPatch{Categories: map[string]*belfry.ChannelsPatch{"billing": {InApp: &f}}}
					if _, err := s.SetPreferences(ctx, fmt.Sprint("user-", i), p); err != nil {
						b.Fatal(err)
					}
				}
			}
			var calls atomic.Int64
			cpu0 := cputime.Process()
			b.SetParallelism(32) // × GOMAXPROCS (2 here) goroutines
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					batch := &belfry.Batch{Notifications: []*belfry.Notification{{UserID: fmt.Sprint("user-", i%1000),
						Message: "Your invoice #42 is ready", Category: "billing", Link: "/invoices/42",
						Data: []byte(`{"invoice":42}`)}}}
					switch mode {
					case "keyed":
						k := calls.Add(1)
						batch.Key = &belfry.IdempotencyKey{Name: fmt.Sprint("key-", k), Expires: time.Now().Add(time.Hour)}
					case "jobs":
						// What a publish with push and escalation asks: a push
						// job for users with a subscription (none here) and
						// an escalation.
						k := calls.Add(1)
						now := time.Now()
						batch.Jobs = []belfry.Job{
							{ID: fmt.Sprint("push-", k), Kind: belfry.JobPush, UserID: batch.Notifications[0].UserID,
								OnlyIfSubscribed: true, Due: now, Payload: []byte("offline")},
							{ID: fmt.Sprint("esc-", k), Kind: belfry.JobEscalate, UserID: batch.Notifications[0].UserID,
								Due: now.Add(10 * time.Minute)}}
					}
					if err := s.Publish(ctx, batch); err != nil {
						b.Error(err)
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
			b.ReportMetric(float64((cputime.Process()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkRead measures the read paths at a user with 100,000
// notifications (a fifth of them unread) in a database of 200,000.
func BenchmarkRead(b *testing.B) {
	ctx := b.Context()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const rows = 100_000
	for k := 0; k < rows; k += belfry.MaxUsersPerCall {
		ns := make([]*belfry.Notification, 0, 2*belfry.MaxUsersPerCall)
		for i := range belfry.MaxUsersPerCall {
			ns = append(ns, &belfry.Notification{UserID: "big", Message: fmt.Sprint("message ", k+i)},
				&belfry.Notification{UserID: fmt.Sprint("user-", i), Message: "other"})
		}
		if err := s.Create(ctx, ns); err != nil {
			b.Fatal(err)
		}
	}
	// Read all but the newest fifth, and every fifth of those left unread.
	at := belfry.Now(ns0(ctx, b, s).CreatedAt)
	if _, err := s.ReadAll(ctx, "big", belfry.Filter{UpTo: rows * 4 / 5}, at); err != nil {
		b.Fatal(err)
	}
	for id := int64(rows / 10); id < rows*4/5; id += 5 {
		if _, err := s.SetRead(ctx, "big", id, nil); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("After100", func(b *testing.B) {
		i := int64(0)
		for b.Loop() {
			from := (i * 7919) % (rows - 100)
			ns, err := s.After(ctx, "big", from, 100)
			if err != nil || len(ns) != 100 {
				b.Fatal(len(ns), err)
			}
			i++
		}
	})
	b.Run("List10", func(b *testing.B) {
		for b.Loop() {
			if ns, err := s.List(ctx, "big", belfry.ListQuery{Limit: 10}); err != nil || len(ns) != 10 {
				b.Fatal(len(ns), err)
			}
		}
	})
	b.Run("List10Before", func(b *testing.B) {
		for b.Loop() {
			if ns, err := s.List(ctx, "big", belfry.ListQuery{Limit: 10, Before: rows / 2}); err != nil || len(ns) != 10 {
				b.Fatal(len(ns), err)
			}
		}
	})
	b.Run("List10UnreadBefore", func(b *testing.B) {
		for b.Loop() {
			q := belfry.ListQuery{Limit: 10, Before: rows / 2, UnreadOnly: true}
			if ns, err := s.List(ctx, "big", q); err != nil || len(ns) != 10 {
				b.Fatal(len(ns), err)
			}
		}
	})
	b.Run("Stats", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Stats(ctx, "big"); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A retention pass with a per-user maximum nobody exceeds: the scan
	// that counts every user's rows (200,000), and nothing deleted.
	b.Run("PurgeMaxPerUser", func(b *testing.B) {
		for b.Loop() {
			q := belfry.PurgeQuery{Now: time.Now(), MaxPerUser: rows + 1, Limit: 500}
			if rs, err := s.Purge(ctx, q); err != nil || len(rs) != 0 {
				b.Fatal(len(rs), err)
			}
		}
	})
}

func ns0(ctx context.Context, b *testing.B, s *sqlite.Store) *belfry.Notification {
	ns, err := s.After(ctx, "big", 0, 1)
	if err != nil || len(ns) != 1 {
		b.Fatal(len(ns), err)
	}
	return ns[0]
}

// BenchmarkCreateBatch is the store's share of bench's 100-per-request
// case: 64 concurrent callers, each creating 100 notifications per call
// for consecutive users among 10,000 (call k names users 100k..100k+99),
// durable (synchronous FULL). One op is one call; notifications/s and
// cpu-ns/notification are per notification. The cost depends on how many
// rows each user already has (see the package doc, Page size), so it runs
// on an empty store and on one prefilled with 50 rows per user (500,000
// rows, written before the timer starts).
func BenchmarkCreateBatch(b *testing.B) {
	for _, prefill := range []int{0, 50} {
		b.Run(fmt.Sprintf("prefill=%d", prefill), func(b *testing.B) { createBatch(b, prefill) })
	}
}

func createBatch(b *testing.B, prefill int) {
	const users, batch, callers = 10_000, 100, 64
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	calls := func(k int) []*belfry.Notification {
		ns := make([]*belfry.Notification, batch)
		for j := range ns {
			ns[j] = &belfry.Notification{UserID: fmt.Sprint("user-", (k*batch+j)%users),
				Message: "Your invoice #42 is ready", Link: "/invoices/42", Data: []byte(`{"invoice":42}`)}
		}
		return ns
	}
	for k := range prefill * users / batch {
		if err := s.Create(ctx, calls(k)); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.ResetTimer()
	cpu0 := cputime.Process()
	b.SetParallelism((callers + 1) / 2) // × GOMAXPROCS (2 here) goroutines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Create(ctx, calls(int(next.Add(1)-1))); err != nil {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "notifications/s")
	b.ReportMetric(float64((cputime.Process()-cpu0).Nanoseconds())/float64(b.N*batch), "cpu-ns/notification")
}
