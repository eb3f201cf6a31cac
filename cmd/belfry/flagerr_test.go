package main

import (
	"strings"
	"testing"
)

// TestFlagErrorsAreShort: a mistake on the command line is one or two
// lines, without the usage, with a "did you mean" for a typo; -h prints
// the usage once.
func TestFlagErrorsAreShort(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string // in stderr
		not  string // not in stderr
	}{
		{args: []string{"serve", "--jwt-secrt", testSecret}, want: "belfry serve: unknown flag --jwt-secrt; did you mean --jwt-secret?\nrun 'belfry serve -h' for every flag\n"},
		{args: []string{"serve", "--max-stream-per-user", "3"}, want: "did you mean --max-streams-per-user?"},
		{args: []string{"serve", "-adr", ":1"}, want: "did you mean --addr?"},
		{args: []string{"serve", "--frobnicate"}, want: "belfry serve: unknown flag --frobnicate; run 'belfry serve -h' for every flag\n", not: "did you mean"},
		{args: []string{"tail", "--usr", "bob"}, want: "belfry tail: unknown flag --usr; did you mean --user?"},
		{args: []string{"token", "--secret"}, want: "belfry token: --secret needs a value\n"},
		{args: []string{"serve", "--push-delay", "5"}, want: `belfry serve: --push-delay: "5" is not a duration; use a unit, e.g. 30s or 5m` + "\n"},
		{args: []string{"serve", "--heartbeat=soon"}, want: `--heartbeat: "soon" is not a duration; use a unit, e.g. 30s or 5m`},
		{args: []string{"serve", "--queue-size", "many"}, want: `--queue-size: "many" is not a whole number`},
		{args: []string{"serve", "--lean=perhaps"}, want: `--lean: "perhaps" is not true or false`},
		{args: []string{"serve", "--retain", "5"}, want: `--retain: "5": want whole days such as 90d`},
		{args: []string{"serve"}, env: map[string]string{"BELFRY_PUSH_DELAY": "5"},
			want: `BELFRY_PUSH_DELAY (--push-delay): "5" is not a duration; use a unit, e.g. 30s or 5m`},
	} {
		code, out, errOut := runCmd(t, c.env, c.args...)
		if code != exitUsage || out != "" {
			t.Errorf("%v: exit %d, stdout %q; want 2 and nothing", c.args, code, out)
		}
		if !strings.Contains(errOut, c.want) || (c.not != "" && strings.Contains(errOut, c.not)) {
			t.Errorf("%v: stderr\n%s\nwant %q", c.args, errOut, c.want)
		}
		if n := strings.Count(strings.TrimSpace(errOut), "\n") + 1; n > 2 || strings.Contains(errOut, "Usage") {
			t.Errorf("%v: %d lines of stderr, want 1 or 2 without the usage:\n%s", c.args, n, errOut)
		}
	}
	code, _, errOut := runCmd(t, nil, "serve", "-h")
	if code != exitOK || strings.Count(errOut, "Usage of belfry serve") != 1 || !strings.Contains(errOut, "--jwt-secret") {
		t.Fatalf("serve -h: exit %d, the usage %d times:\n%s", code, strings.Count(errOut, "Usage of belfry serve"), errOut)
	}
}

func TestLevenshtein(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"addr", "", 4}, {"", "addr", 4}, {"addr", "adr", 1}, {"kitten", "sitting", 3}, {"jwt-secret", "jwt-secrt", 1}} {
		if got := levenshtein(c.a, c.b); got != c.d {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}
