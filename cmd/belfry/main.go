package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/belfry/belfry/webhook"

	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal starts the graceful shutdown, a second one
		// kills the process the default way.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // bad flags, unknown subcommand, or not implemented
)

const usage = `belfry - real-time notifications over Server-Sent Events

Usage:
  belfry serve   [flags]   run the server (defaults: sqlite:belfry.db, in-process broker;
                           demo mode with generated credentials when no secret is set)
  belfry send    --url URL --api-key KEY --user U [--user V...] --message M
                 [--title T] [--link L] [--category C] [--data JSON]
  belfry tail    --url URL (--token T | --secret S --user U) [--last-event-id N]
  belfry token   --secret S --user U [--ttl 1h]
  belfry webhook-secret    print a new whsec_ secret for --webhook-secret
  belfry healthcheck [--url URL] [--ready]   exit 0 if /healthz (/readyz) answers 200
  belfry bench   --scenario idle|targeted|broadcast|storm|floor [flags]   load test (belfry bench -h)
  belfry version
  belfry help

Every flag can also be set as BELFRY_<NAME> in the environment
(--jwt-secret is BELFRY_JWT_SECRET); the command line wins.
Run 'belfry COMMAND -h' for a command's flags.
`

// run runs one subcommand and returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, args := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, args, getenv, stdout, stderr)
	case "send":
		err = runSend(ctx, args, getenv, stdout, stderr)
	case "tail":
		err = runTail(ctx, args, getenv, stdout, stderr)
	case "token":
		err = runToken(args, getenv, stdout, stderr)
	case "bench":
		// The load generator parses its own flags (package bench).
		return bench.Main(ctx, args, stdout, stderr)
	case "webhook-secret":
		if len(args) > 0 {
			err = usageError{fmt.Errorf("webhook-secret takes no arguments")}
			break
		}
		fmt.Fprintln(stdout, webhook.NewSecret())
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "belfry", version())
		return exitOK
	case "healthcheck":
		err = runHealthcheck(ctx, args, getenv, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "belfry: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "belfry %s: %v\n", cmd, err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "belfry %s: %v\n", cmd, err)
		return exitError
	}
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// asUsage marks flag errors as usage errors, keeping flag.ErrHelp as is.
func asUsage(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err}
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	m := NewMain()
	m.Stdout, m.Stderr = stdout, stderr
	if err := m.ParseFlags(args, getenv); err != nil {
		return asUsage(err)
	}
	return m.Run(ctx)
}

// secretEnv lets token and tail read the server's BELFRY_JWT_SECRET when
// BELFRY_SECRET is not set, so one environment serves every subcommand.
func secretEnv(getenv func(string) string) func(string) string {
	if getenv == nil {
		return nil
	}
	return func(name string) string {
		v := getenv(name)
		if v == "" && name == envName("secret") {
			v = getenv(envName("jwt-secret"))
		}
		return v
	}
}

func runToken(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("belfry token", stderr)
	secret := fs.String("secret", "", "the server's JWT `secret` (or BELFRY_JWT_SECRET)")
	user := fs.String("user", "", "the user `id` (the token's sub)")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	if err := parseArgs(fs, args, secretEnv(getenv)); err != nil {
		return asUsage(err)
	}
	if *secret == "" || *user == "" {
		return usageError{errors.New("--secret and --user are required")}
	}
	if *ttl <= 0 {
		return usageError{errors.New("--ttl must be positive")}
	}
	if len(*secret) < minJWTSecretLen {
		return usageError{errShortSecret("--secret")} // serve would refuse it
	}
	tok, err := httpapi.MintToken([]byte(*secret), *user, *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

func runSend(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s := &Send{Out: stdout}
	var users listFlag
	fs := newFlagSet("belfry send", stderr)
	fs.StringVar(&s.URL, "url", "http://localhost:8080", "the server's base `URL`")
	fs.StringVar(&s.APIKey, "api-key", "", "a publisher API `key` of the server")
	fs.Var(&users, "user", "recipient user `id` (repeatable, or a comma list)")
	fs.StringVar(&s.Message, "message", "", "the notification's `text` (required)")
	fs.StringVar(&s.Title, "title", "", "optional `title`")
	fs.StringVar(&s.Link, "link", "", "optional `link`: http(s) URL or a path starting with /")
	fs.StringVar(&s.Category, "category", "", "optional `category`")
	fs.StringVar(&s.Data, "data", "", "optional `JSON` object")
	fs.StringVar(&s.Avatar, "avatar", "", "optional avatar `URL`: http(s) URL or a path starting with /")
	fs.StringVar(&s.Push, "push", "", "Web Push `mode`: never, offline or always (default: the server's --push-default)")
	fs.DurationVar(&s.TTL, "ttl", 0, "optional: the notification expires this long after it is sent (rounded up to seconds)")
	fs.StringVar(&s.IdempotencyKey, "idempotency-key", "", "optional `key`: sending again with the same key and message creates nothing")
	if err := parseArgs(fs, args, getenv); err != nil {
		return asUsage(err)
	}
	s.Users = users
	if len(s.Users) == 0 || s.APIKey == "" {
		return usageError{errors.New("--api-key and --user are required")}
	}
	return s.Run(ctx)
}

func runTail(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	t := &Tail{Out: stdout, Logger: slog.New(slog.NewTextHandler(stderr, nil))}
	fs := newFlagSet("belfry tail", stderr)
	fs.StringVar(&t.URL, "url", "http://localhost:8080", "the server's base `URL`")
	fs.StringVar(&t.Token, "token", "", "the user's `JWT`")
	fs.StringVar(&t.Secret, "secret", "", "the server's JWT `secret`, to mint tokens for --user (or BELFRY_JWT_SECRET)")
	fs.StringVar(&t.User, "user", "", "the user `id`, with --secret")
	fs.StringVar(&t.LastEventID, "last-event-id", "", "resume after this notification `id` (default: live events only)")
	fs.DurationVar(&t.MaxDelay, "max-delay", 30*time.Second, "longest wait between reconnects")
	fs.DurationVar(&t.IdleTimeout, "idle-timeout", 90*time.Second, "reconnect when the server sent nothing, not even a heartbeat, for this long")
	if err := parseArgs(fs, args, secretEnv(getenv)); err != nil {
		return asUsage(err)
	}
	if t.Token == "" && (t.Secret == "" || t.User == "") {
		return usageError{errors.New("--token, or --secret and --user, are required")}
	}
	if t.Token != "" {
		t.Secret = "" // a given token is used as is
	}
	return t.Run(ctx)
}
