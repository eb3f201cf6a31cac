package mongodb

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// benchCreate measures Create throughput with publishers concurrent
// callers, each creating one notification per call for the user that
// userOf names; one b.Loop iteration is one call of every publisher.
// It runs once per writer count.
func benchCreate(b *testing.B, publishers int, userOf func(p int) string) {
	for _, writers := range []int{1, 2, 4} {
		b.Run(fmt.Sprint("writers=", writers), func(b *testing.B) {
			c := testConfig()
			c.Writers = writers
			s := openN(b, 1, c)[0]
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				var wg sync.WaitGroup
				for p := range publishers {
					wg.Go(func() {
						n := &belfry.Notification{UserID: userOf(p), Message: "benchmark notification"}
						if err := s.Create(ctx, []*belfry.Notification{n}); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(b.N*publishers)/b.Elapsed().Seconds(), "creates/s")
		})
	}
}

// 64 publishers, each writing to its own user.
func BenchmarkCreate64PublishersOwnUsers(b *testing.B) {
	benchCreate(b, 64, func(p int) string { return fmt.Sprint("bench-user-", p) })
}

// 64 publishers all writing to one user: every call contends for one
// user's ids.
func BenchmarkCreate64PublishersOneUser(b *testing.B) {
	benchCreate(b, 64, func(int) string { return "bench-hot-user" })
}

// One call publishing to 1,000 users (the largest publish allowed).
func BenchmarkCreate1000Users(b *testing.B) {
	s := openN(b, 1, testConfig())[0]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ns := make([]*belfry.Notification, belfry.MaxUsersPerCall)
		for i := range ns {
			ns[i] = &belfry.Notification{UserID: fmt.Sprint("bench-fan-", i), Message: "to everyone"}
		}
		if err := s.Create(ctx, ns); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*belfry.MaxUsersPerCall)/b.Elapsed().Seconds(), "creates/s")
}

// After, the replay query of a stream that resumes.
func BenchmarkAfter(b *testing.B) {
	s := openN(b, 1, testConfig())[0]
	ctx := context.Background()
	ns := make([]*belfry.Notification, 200)
	for i := range ns {
		ns[i] = &belfry.Notification{UserID: "reader", Message: "m"}
	}
	if err := s.Create(ctx, ns); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.After(ctx, "reader", 150, 100); err != nil {
			b.Fatal(err)
		}
	}
}

// Stats of a user with 200 notifications in four categories, half read:
// what every stream's sync and every state event costs.
func BenchmarkStats(b *testing.B) {
	s := openN(b, 1, testConfig())[0]
	ctx := context.Background()
	ns := make([]*belfry.Notification, 200)
	for i := range ns {
		ns[i] = &belfry.Notification{UserID: "counted", Message: "m", Category: fmt.Sprint("c", i%4)}
	}
	if err := s.Create(ctx, ns); err != nil {
		b.Fatal(err)
	}
	at := time.Now()
	for id := int64(1); id <= 100; id++ {
		if _, err := s.SetRead(ctx, "counted", id, &at); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := s.Stats(ctx, "counted"); err != nil {
			b.Fatal(err)
		}
	}
}

// Publish to 10 users with a new Idempotency-Key each call (the winner's
// path: claim, create, record), and the same call repeated (a replay).
func BenchmarkPublishKey(b *testing.B) {
	s := openN(b, 1, testConfig())[0]
	ctx := context.Background()
	call := func(key string) *belfry.Batch {
		bt := &belfry.Batch{Key: &belfry.IdempotencyKey{Name: key, Expires: time.Now().Add(time.Hour)}}
		for u := range 10 {
			bt.Notifications = append(bt.Notifications, &belfry.Notification{UserID: fmt.Sprint("key-user-", u), Message: "m"})
		}
		return bt
	}
	b.Run("new", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if err := s.Publish(ctx, call(fmt.Sprint("new-", i))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("replay", func(b *testing.B) {
		if err := s.Publish(ctx, call("same")); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			bt := call("same")
			if err := s.Publish(ctx, bt); err != nil || !bt.Replayed {
				b.Fatal(err, bt.Replayed)
			}
		}
	})
}

// After and Stats of one user among others: a query that scans the
// collection instead of using the per-user index gets slower with the
// other users' notifications, one that uses it does not. Compare others=0
// with others=20000 on a backend (FerretDB on SQLite or on PostgreSQL).
func BenchmarkReadAmongOthers(b *testing.B) {
	for _, others := range []int{0, 20_000} {
		b.Run(fmt.Sprint("others=", others), func(b *testing.B) {
			s := openN(b, 1, testConfig())[0]
			ctx := context.Background()
			ns := make([]*belfry.Notification, 200)
			for i := range ns {
				ns[i] = &belfry.Notification{UserID: "reader", Message: "m", Category: fmt.Sprint("c", i%4)}
			}
			if err := s.Create(ctx, ns); err != nil {
				b.Fatal(err)
			}
			for done := 0; done < others; done += belfry.MaxUsersPerCall {
				batch := make([]*belfry.Notification, min(belfry.MaxUsersPerCall, others-done))
				for i := range batch {
					batch[i] = &belfry.Notification{UserID: fmt.Sprint("other-", (done+i)%2000), Message: "m"}
				}
				if err := s.Create(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("after", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.After(ctx, "reader", 150, 100); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("stats", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Stats(ctx, "reader"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
