package mongodb

import (
	"context"
	"fmt"
	"sync"
	"testing"

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
