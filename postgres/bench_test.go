package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/postgres"
)

// BenchmarkCreate measures durable single-notification creates with 1 and
// 64 concurrent publishers, spread over 1,000 users or all to one user.
// Each op is one Create; creates/s is reported too.
func BenchmarkCreate(b *testing.B) {
	for _, pubs := range []int{1, 64} {
		for _, users := range []int{1000, 1} {
			b.Run(fmt.Sprintf("publishers=%d/users=%d", pubs, users), func(b *testing.B) {
				benchCreate(b, openStore(b, freshSchema(b)), pubs, users)
			})
		}
	}
}

// BenchmarkCreateWriters compares numbers of writer goroutines under 64
// concurrent publishers (the default is 2).
func BenchmarkCreateWriters(b *testing.B) {
	for _, w := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("writers=%d", w), func(b *testing.B) {
			s, err := postgres.OpenConfig(context.Background(), postgres.Config{
				URL: withParam(b, freshSchema(b), "pool_max_conns", "8"), Writers: w})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			benchCreate(b, s, 64, 1000)
		})
	}
}

// BenchmarkPublish is BenchmarkCreate through Publish, which applies the
// users' preferences (a tenth of the users have some, all on), without
// and with an idempotency key.
func BenchmarkPublish(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		for _, pubs := range []int{1, 64} {
			b.Run(fmt.Sprintf("keyed=%t/publishers=%d", keyed, pubs), func(b *testing.B) {
				s := openStore(b, freshSchema(b))
				off := false
				for u := 0; u < 1000; u += 10 {
					_, err := s.SetPreferences(context.Background(), fmt.Sprintf("user-%d", u),
						belfry.PreferencesPatch{Categories: map[string]*belfry.ChannelsPatch{"other": {InApp: &off}}})
					if err != nil {
						b.Fatal(err)
					}
				}
				var seq atomic.Int64
				benchPublish(b, pubs, 1000, func(ctx context.Context, n *belfry.Notification) error {
					n.Category = "orders"
					batch := &belfry.Batch{Notifications: []*belfry.Notification{n}}
					if keyed {
						batch.Key = &belfry.IdempotencyKey{Name: fmt.Sprint("key-", seq.Add(1)),
							Expires: time.Now().Add(time.Hour)}
					}
					if err := s.Publish(ctx, batch); err != nil {
						return err
					}
					if len(batch.Notifications) != 1 || n.ID == 0 {
						return fmt.Errorf("Publish stored %d notifications", len(batch.Notifications))
					}
					return nil
				})
			})
		}
	}
}

// BenchmarkPublishJobs is BenchmarkPublish (no key) with the jobs of a
// push and an escalation per notification, as the outbox adds them: the
// push job only for users with a subscription (a tenth of them).
func BenchmarkPublishJobs(b *testing.B) {
	for _, pubs := range []int{1, 64} {
		b.Run(fmt.Sprintf("publishers=%d", pubs), func(b *testing.B) {
			s := openStore(b, freshSchema(b))
			for u := 0; u < 1000; u += 10 {
				err := s.Subscribe(context.Background(), fmt.Sprintf("user-%d", u), belfry.Subscription{
					Endpoint: fmt.Sprintf("https://push.example/%d", u), P256DH: "k", Auth: "a"})
				if err != nil {
					b.Fatal(err)
				}
			}
			var seq atomic.Int64
			benchPublish(b, pubs, 1000, func(ctx context.Context, n *belfry.Notification) error {
				id := seq.Add(1)
				batch := &belfry.Batch{Notifications: []*belfry.Notification{n}, Jobs: []belfry.Job{
					{ID: fmt.Sprint("push-", id), Kind: belfry.JobPush, OnlyIfSubscribed: true,
						Payload: []byte("offline")},
					{ID: fmt.Sprint("esc-", id), Kind: belfry.JobEscalate, Due: time.Now().Add(time.Hour)},
				}}
				if err := s.Publish(ctx, batch); err != nil {
					return err
				}
				if len(batch.Notifications) != 1 || n.ID == 0 {
					return fmt.Errorf("Publish stored %d notifications", len(batch.Notifications))
				}
				return nil
			})
		})
	}
}

func benchCreate(b *testing.B, s *postgres.Store, publishers, users int) {
	benchPublish(b, publishers, users, func(ctx context.Context, n *belfry.Notification) error {
		return s.Create(ctx, []*belfry.Notification{n})
	})
}

// benchPublish runs one op per b.Loop iteration, each storing one
// notification with publish, on publishers goroutines.
func benchPublish(b *testing.B, publishers, users int, publish func(context.Context, *belfry.Notification) error) {
	ctx := context.Background()
	jobs := make(chan int)
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range publishers {
		wg.Go(func() {
			for i := range jobs {
				n := note(fmt.Sprintf("user-%d", i%users), "benchmark notification")
				if err := publish(ctx, n); err != nil {
					failed.Store(&err)
				}
			}
		})
	}
	start := time.Now()
	i := 0
	// The loop hands each op to a free publisher: with 64 publishers, 64
	// Creates are in flight all the time.
	for b.Loop() {
		jobs <- i
		i++
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	b.ReportMetric(float64(i)/elapsed.Seconds(), "creates/s")
}

// BenchmarkCreateBroadcast measures one Create for 1,000 users.
func BenchmarkCreateBroadcast(b *testing.B) {
	s := openStore(b, freshSchema(b))
	ctx := context.Background()
	for b.Loop() {
		ns := make([]*belfry.Notification, belfry.MaxUsersPerCall)
		for i := range ns {
			ns[i] = &belfry.Notification{UserID: fmt.Sprintf("user-%d", i), Message: "broadcast",
				Data: []byte(`{"kind":"maintenance","at":"2026-11-23T22:00:00Z"}`)}
		}
		if err := s.Create(ctx, ns); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAfter measures the replay query of a resuming stream: 100
// notifications after a given id, in an inbox of 10,000.
func BenchmarkAfter(b *testing.B) {
	s := openStore(b, freshSchema(b))
	ctx := context.Background()
	const total = 10000
	for range total / belfry.MaxUsersPerCall {
		ns := make([]*belfry.Notification, belfry.MaxUsersPerCall)
		for i := range ns {
			ns[i] = &belfry.Notification{UserID: "reader", Message: "a notification to replay",
				Title: "Replay", Data: []byte(`{"order":1234,"status":"shipped"}`)}
		}
		if err := s.Create(ctx, ns); err != nil {
			b.Fatal(err)
		}
	}
	i := int64(0)
	for b.Loop() {
		from := i * 100 % (total - 100)
		got, err := s.After(ctx, "reader", from, 100)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != 100 || got[0].ID != from+1 {
			b.Fatalf("After(%d, 100): %d notifications", from, len(got))
		}
		i++
	}
}

// BenchmarkStats measures the unread count and last id of a user with
// 1,000 unread notifications.
func BenchmarkStats(b *testing.B) {
	s := openStore(b, freshSchema(b))
	ctx := context.Background()
	ns := make([]*belfry.Notification, belfry.MaxUsersPerCall)
	for i := range ns {
		ns[i] = note("counted", "unread")
	}
	if err := s.Create(ctx, ns); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if st, err := s.Stats(ctx, "counted"); err != nil || st.Unread != len(ns) {
			b.Fatal(st, err)
		}
	}
}
