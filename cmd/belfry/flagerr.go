package main

import (
	"flag"
	"fmt"
	"strings"
	"time"
)

// flagError rewrites an error of fs.Parse into one or two lines that say
// which flag and what was wrong, with a "did you mean" for a flag name that
// is close to a real one. The flag package's own message (and the usage
// it would print after it) is kept for nothing: the flag set writes to
// io.Discard.
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	hint := fmt.Sprintf("run '%s -h' for every flag", fs.Name())
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		if near := nearestFlag(fs, name); near != "" {
			return fmt.Errorf("unknown flag --%s; did you mean --%s?\n%s", name, near, hint)
		}
		return fmt.Errorf("unknown flag --%s; %s", name, hint)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Errorf("--%s needs a value", strings.TrimLeft(name, "-"))
	}
	// invalid value "V" for flag -NAME: ERR
	var value, name string
	if _, err := fmt.Sscanf(msg, "invalid value %q for flag %s", &value, &name); err == nil {
		_, detail, _ := strings.Cut(msg, name+" ")
		name = strings.TrimSuffix(strings.TrimLeft(name, "-"), ":")
		if f := fs.Lookup(name); f != nil {
			return valueError(f, "--"+name, value, detail)
		}
	}
	// invalid boolean value "V" for -NAME: ERR
	if _, err := fmt.Sscanf(msg, "invalid boolean value %q for %s", &value, &name); err == nil {
		return fmt.Errorf("--%s: %q is not true or false", strings.TrimSuffix(strings.TrimLeft(name, "-"), ":"), value)
	}
	return err
}

// valueError says what flag f expected, for a value it refused. where
// names the flag (or its environment variable); detail is the error of
// f.Value.Set, kept for values of our own (daysFlag, …), which say what
// they want.
func valueError(f *flag.Flag, where, value, detail string) error {
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case time.Duration:
			return fmt.Errorf("%s: %q is not a duration; use a unit, e.g. 30s or 5m", where, value)
		case int, int64, uint, uint64:
			return fmt.Errorf("%s: %q is not a whole number", where, value)
		case float64:
			return fmt.Errorf("%s: %q is not a number", where, value)
		case bool:
			return fmt.Errorf("%s: %q is not true or false", where, value)
		}
	}
	return fmt.Errorf("%s: %s", where, detail)
}

// nearestFlag returns the flag of fs whose name is closest to name when it
// is close enough to be a typo, or contains name ("secret" for
// "jwt-secret"); "" otherwise.
func nearestFlag(fs *flag.FlagSet, name string) string {
	limit := max(2, len(name)/3)
	best, bestD := "", limit+1
	fs.VisitAll(func(f *flag.Flag) {
		d := levenshtein(name, f.Name)
		if len(name) >= 3 && strings.Contains(f.Name, name) {
			d = min(d, limit)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// levenshtein is the edit distance between a and b (bytes: flag names are
// ASCII).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
