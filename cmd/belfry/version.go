package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// The release build (make release, the Dockerfile) stamps these with
// -ldflags "-X main.buildVersion=... -X main.buildCommit=... -X main.buildDate=...".
// A plain go build or go run leaves them empty, and version falls back to
// what Go records in the binary's build info.
var (
	buildVersion string // git describe --tags --always --dirty, or "dev"
	buildCommit  string // the full commit hash
	buildDate    string // the commit's date, RFC 3339 in UTC
)

// version describes the build on one line: the version, then the commit,
// the date, the Go version and the platform, e.g.
//
//	v0.4.0 (commit 7b5f9c2…, date 2026-12-07T07:37:00Z, go1.26.8 linux/amd64)
//
// Without stamped values it reports the module version and the VCS
// revision and time from the build info, as far as Go recorded them.
func version() string {
	v, commit, date, modified := buildVersion, buildCommit, buildDate, ""
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if commit == "" {
					commit = s.Value
				}
			case "vcs.time":
				if date == "" {
					date = s.Value
				}
			case "vcs.modified":
				if s.Value == "true" && buildCommit == "" {
					modified = "+dirty"
				}
			}
		}
	}
	if v == "" {
		v = "(unknown)"
	}
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("%s (commit %s%s, date %s, %s %s/%s)", v, commit, modified, date, goVersion, runtime.GOOS, runtime.GOARCH)
}
