package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses of Main.
const (
	ExitOK    = 0
	ExitFail  = 1 // the run failed, or found lost or duplicated events or streams that did not connect
	ExitUsage = 2 // bad flags
)

const usageText = `belfry bench - load generator for belfry or any SSE server

Usage:
  belfry bench --scenario idle|targeted|broadcast|storm [flags]
  belfry bench --scenario floor [--streams N] [--rounds R]

Examples (a belfry on 127.0.0.1:8080 started with --jwt-secret S --api-key K):
  belfry bench --scenario idle      --jwt-secret S --api-key K --streams 2000 --duration 10s
  belfry bench --scenario targeted  --jwt-secret S --api-key K --streams 2000 --publishes 20000 --publishers 64
  belfry bench --scenario broadcast --jwt-secret S --api-key K --streams 10000 --publishes 10 --batch 1000
  belfry bench --scenario storm     --jwt-secret S --api-key K --streams 2000 --missed 5

Another SSE server: give --stream-url, --stream-header, --publish-url, --publish-body
(templates with {{user}} {{users}} {{token}} {{payload}} {{seq}} {{api_key}}), and
--sync-event - when it sends no sync event. The message must carry {{payload}}.

Flags:
`

// Main runs `belfry bench` with args (the arguments after "bench") and
// returns the exit status. With --worker it is a worker process: it reads
// commands on os.Stdin and answers on stdout (see RunWorker).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "--worker" || args[0] == "-worker") {
		if err := RunWorker(ctx, os.Stdin, stdout); err != nil {
			fmt.Fprintln(stderr, "belfry bench worker:", err)
			return ExitFail
		}
		return ExitOK
	}
	cfg, jsonFile, err := ParseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "belfry bench:", err)
		return ExitUsage
	}
	if cfg.CPUProfile != "" {
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintln(stderr, "belfry bench:", err)
			return ExitFail
		}
		defer stop()
	}
	res, err := Run(ctx, *cfg, stderr)
	if res != nil {
		res.WriteTable(stdout)
		if jsonFile != "" {
			b, _ := json.MarshalIndent(res, "", "  ")
			if werr := os.WriteFile(jsonFile, append(b, '\n'), 0o644); werr != nil {
				fmt.Fprintln(stderr, "belfry bench:", werr)
				return ExitFail
			}
		}
	}
	var ue *UsageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "belfry bench:", err)
		return ExitUsage
	case err != nil:
		fmt.Fprintln(stderr, "belfry bench:", err)
		return ExitFail
	}
	if msg := res.problems(); msg != "" {
		fmt.Fprintln(stderr, "belfry bench:", msg)
		return ExitFail
	}
	return ExitOK
}

// problems says what in r should fail a run: streams that did not
// connect, events lost or duplicated, failed publishes.
func (r *Result) problems() string {
	var p []string
	if c := r.Connect; c != nil && c.Failed > 0 {
		p = append(p, fmt.Sprintf("%d streams failed to connect", c.Failed))
	}
	if s := r.Storm; s != nil && s.Failed > 0 {
		p = append(p, fmt.Sprintf("%d streams failed to reconnect", s.Failed))
	}
	if pu := r.Publish; pu != nil && pu.Failed > 0 {
		p = append(p, fmt.Sprintf("%d publishes failed", pu.Failed))
	}
	if d := r.Delivery; d != nil && (d.Lost > 0 || d.Dup > 0) {
		p = append(p, fmt.Sprintf("%d events lost, %d duplicated", d.Lost, d.Dup))
	}
	return strings.Join(p, "; ")
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// ParseFlags reads a Config and the --json file name from args; usage and
// errors go to w. Errors: flag.ErrHelp, or a bad flag.
func ParseFlags(args []string, w io.Writer) (*Config, string, error) {
	c := &Config{}
	var jsonFile string
	var shdr, phdr listFlag
	fs := flag.NewFlagSet("belfry bench", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprint(w, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.Scenario, "scenario", "targeted", "idle, targeted, broadcast, storm or floor")
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "the server's base `URL` (stream and publish URLs default from it)")
	fs.StringVar(&c.StreamURL, "stream-url", "", "stream URL `template` (default URL/notifications/stream?token={{token}})")
	fs.Var(&shdr, "stream-header", "stream request header `template`, e.g. 'Authorization: Bearer {{token}}' (repeatable)")
	fs.StringVar(&c.PublishURL, "publish-url", "", "publish URL `template` (default URL/api/notifications)")
	fs.StringVar(&c.PublishBody, "publish-body", "", `publish body `+"`template`"+` for one user (default {"user_id":"{{user}}","message":"{{payload}}"})`)
	fs.StringVar(&c.PublishBodyMulti, "publish-body-multi", "", `publish body `+"`template`"+` for --batch users (default {"user_ids":{{users}},"message":"{{payload}}"})`)
	fs.Var(&phdr, "publish-header", "publish request header `template` (repeatable; default 'Authorization: Bearer {{api_key}}' with --api-key)")
	fs.StringVar(&c.APIKey, "api-key", "", "the publisher's API `key`")
	fs.StringVar(&c.JWTSecret, "jwt-secret", "", "mint user tokens with this HS256 `secret` (sub = user, exp)")
	fs.StringVar(&c.TokensFile, "tokens", "", "read users and tokens from `file` (lines \"USER TOKEN\") instead")
	fs.DurationVar(&c.TokenTTL, "token-ttl", 0, "lifetime of minted tokens (default 1h)")
	fs.BoolVar(&c.Shuffle, "shuffle", false, "publish to the users in a fixed random order rather than in the order of their ids (which a store's per-user indexes keep side by side)")
	fs.StringVar(&c.UserPrefix, "user-prefix", "", "generated user ids are `prefix`N (default bench-<random>-)")
	fs.IntVar(&c.Streams, "streams", 0, "streams to open (default 1000)")
	fs.IntVar(&c.Users, "users", 0, "users the streams spread over (default: one per stream)")
	fs.IntVar(&c.Publishers, "publishers", 0, "concurrent publish requests (default 16)")
	fs.IntVar(&c.Publishes, "publishes", 0, "publish requests (default 1000; broadcast 10)")
	fs.IntVar(&c.Batch, "batch", 0, "users per publish request, sent as user_ids (default 1; broadcast 1000)")
	fs.Float64Var(&c.Rate, "rate", 0, "publish `requests/s`, paced (default: as fast as they go)")
	fs.IntVar(&c.Missed, "missed", 0, "storm: notifications each user misses while down (default 5)")
	fs.DurationVar(&c.Duration, "duration", 0, "idle: hold the streams this long (default 10s); others: cap on publishing (default 60s)")
	fs.DurationVar(&c.Drain, "drain", 0, "wait at most this long for deliveries after publishing (default 30s)")
	fs.DurationVar(&c.Timeout, "timeout", 0, "hard deadline of the whole run (default 5m)")
	fs.IntVar(&c.Procs, "procs", 0, "worker processes (default: one per --per-proc streams; 1 runs in-process)")
	fs.IntVar(&c.PerProc, "per-proc", 0, "streams per worker process when --procs is not given (default 15000)")
	fs.IntVar(&c.SourceAddrs, "source-addrs", 0, "dial from 127.0.0.1..N (default 16; loopback IPv4 targets only)")
	fs.IntVar(&c.BufSize, "buf", 0, "read buffer per stream in `bytes` (default 2048)")
	fs.IntVar(&c.ConnConc, "connect-concurrency", 0, "streams connecting at once per process (default 256)")
	fs.IntVar(&c.ReconnectConc, "reconnect-concurrency", 0, "storm: streams reconnecting at once per process (default: all)")
	fs.StringVar(&c.SyncEvent, "sync-event", "", "a stream is connected when this `event` arrives (default sync; - : at the response head)")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "the server's `pid` for RSS and CPU (default: found by the stream port)")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a server that is not on loopback")
	fs.IntVar(&c.Rounds, "rounds", 0, "floor: frames written to each socket (default 20)")
	fs.IntVar(&c.FrameBytes, "frame-bytes", 0, "floor: frame size (default 300)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of this process (not of its workers) to `file`")
	fs.StringVar(&jsonFile, "json", "", "also write the result as JSON to `file`")
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	if fs.NArg() > 0 {
		return nil, "", fmt.Errorf("unexpected argument %q (every option is a --flag)", fs.Arg(0))
	}
	c.StreamHdrs, c.PublishHdrs = shdr, phdr
	if err := c.setDefaults(); err != nil {
		return nil, "", err
	}
	return c, jsonFile, nil
}
