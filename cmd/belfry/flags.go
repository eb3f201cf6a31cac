package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// envPrefix starts the environment name of every flag.
const envPrefix = "BELFRY_"

// envName returns the environment variable that sets the flag name:
// jwt-secret → BELFRY_JWT_SECRET.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlagSet returns a flag set that reports errors instead of exiting
// (parseArgs words them), and writes its usage to w for -h only.
func newFlagSet(name string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { printUsage(w, fs) }
	return fs
}

// printUsage lists the flags with their environment variable:
//
//	--addr address   listen address (default ":8080")   [BELFRY_ADDR]
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage of %s (every flag also as BELFRY_<NAME>; the command line wins):\n", fs.Name())
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if kind != "" {
			line += " " + kind
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "[]" {
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, "  [%s]\n", envName(f.Name))
	})
}

// parseArgs parses args, then sets every flag that was not on the command
// line from its BELFRY_ variable, if that is set and not empty. Positional
// arguments are refused: every subcommand takes flags only.
//
// A mistake is one or two lines (flagError), not the usage; -h prints the
// usage and returns flag.ErrHelp.
func parseArgs(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	usage := fs.Usage
	fs.Usage = func() {} // Parse calls it on every error too
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		usage()
		return err
	}
	if err != nil {
		return flagError(fs, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (every option is a --flag)", fs.Arg(0))
	}
	if getenv == nil {
		return nil
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		v := getenv(envName(f.Name))
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, valueError(f, envName(f.Name)+" (--"+f.Name+")", v, err.Error()))
		}
	})
	return errors.Join(errs...)
}

// listFlag is a repeatable flag whose values may also be comma lists:
// --api-key a --api-key b,c gives [a b c].
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// daysFlag is a duration flag that also takes whole days ("90d"), which
// time.ParseDuration does not.
type daysFlag time.Duration

func (d *daysFlag) String() string {
	if d == nil || *d == 0 {
		return "0"
	}
	if t := time.Duration(*d); t%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(t/(24*time.Hour)), 10) + "d"
	}
	return time.Duration(*d).String()
}

func (d *daysFlag) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return fmt.Errorf("%q: want whole days such as 90d, or a duration such as 36h", s)
		}
		*d = daysFlag(time.Duration(days) * 24 * time.Hour)
		return nil
	}
	t, err := time.ParseDuration(s)
	if err != nil || t < 0 {
		return fmt.Errorf("%q: want whole days such as 90d, or a duration such as 36h", s)
	}
	*d = daysFlag(t)
	return nil
}
