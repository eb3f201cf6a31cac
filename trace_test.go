package belfry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/belfry/belfry"
)

// With no Tracer, a span costs no allocation: tracing off is free on the
// publish path.
func TestStartSpanNilTracerAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	ids := []int64{1, 2}
	err := errors.New("x")
	allocs := testing.AllocsPerRun(100, func() {
		c, sp := belfry.StartSpan(ctx, nil, "store.publish", belfry.SpanInternal)
		if c != ctx || sp.Recording() {
			t.Fatal("a nil Tracer changed the context or records")
		}
		sp.SetInt("belfry.notifications", 2)
		sp.SetString("belfry.user_id", "alice")
		sp.SetInts("belfry.notification_ids", ids)
		sp.End(err)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per span with tracing off, want 0", allocs)
	}
}
