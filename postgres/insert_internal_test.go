package postgres

import (
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// TestInsertWithoutJobs checks that a batch without jobs runs the
// statement it ran before the outbox existed, with the same arguments: the
// publish path pays nothing for Batch.Jobs it does not use.
func TestInsertWithoutJobs(t *testing.T) {
	ns := []*belfry.Notification{{UserID: "a", Message: "m"}}
	in := newInsertion([]*createReq{{ns: ns, prefs: true}}, belfry.Now(testTime))
	if in.sql != insertSQL || len(in.args) != 17 {
		t.Fatalf("without jobs: %d arguments, insertSQL %t; want insertSQL's 17", len(in.args), in.sql == insertSQL)
	}
	jobs := []belfry.Job{{ID: "j", Kind: belfry.JobPush, Index: 0}}
	in = newInsertion([]*createReq{{ns: ns, prefs: true, jobs: jobs}}, belfry.Now(testTime))
	if in.sql != insertJobsSQL || len(in.args) != 27 {
		t.Fatalf("with jobs: %d arguments, insertJobsSQL %t; want 27", len(in.args), in.sql == insertJobsSQL)
	}
	if jobs[0].UserID != "" {
		t.Fatalf("the caller's job was changed: UserID %q", jobs[0].UserID)
	}
}

var testTime = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
