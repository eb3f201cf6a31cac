package main

import (
	"runtime"
	"strings"
	"testing"
)

// TestVersion checks both forms of `belfry version`: stamped by the
// release build, and the build-info fallback of go build and go test.
func TestVersion(t *testing.T) {
	code, out, _ := runCmd(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "belfry ") || !strings.Contains(out, runtime.Version()) ||
		!strings.Contains(out, "(commit ") || !strings.Contains(out, ", date ") {
		t.Errorf("unstamped: %d %q", code, out)
	}

	defer func(v, c, d string) { buildVersion, buildCommit, buildDate = v, c, d }(buildVersion, buildCommit, buildDate)
	buildVersion, buildCommit, buildDate = "v1.2.3-4-gabcdef0-dirty", "abcdef0123456789", "2026-12-01T10:00:00Z"
	code, out, _ = runCmd(t, nil, "version")
	want := "belfry v1.2.3-4-gabcdef0-dirty (commit abcdef0123456789, date 2026-12-01T10:00:00Z, " +
		runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if code != 0 || out != want {
		t.Errorf("stamped: %d\n got %q\nwant %q", code, out, want)
	}
}
