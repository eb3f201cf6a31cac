package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Healthcheck asks a running server whether it is alive (GET /healthz)
// or ready (GET /readyz). It is the container image's HEALTHCHECK: the
// image has no curl, and its exit status is what the engine reads.
type Healthcheck struct {
	URL     string        // the server's base URL; default http://127.0.0.1:8080
	Ready   bool          // ask /readyz (store and broker answer) instead of /healthz
	Timeout time.Duration // bound on the whole request; default 3 s
}

// defaultHealthcheckURL is where the image's server listens (--addr :8080).
const defaultHealthcheckURL = "http://127.0.0.1:8080"

// Run makes the request and returns a one-line description of the
// answer: nil error only for 200 OK.
func (h *Healthcheck) Run(ctx context.Context) (string, error) {
	path := "/healthz"
	if h.Ready {
		path = "/readyz"
	}
	target := strings.TrimRight(h.URL, "/") + path
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", err
	}
	// No proxy from the environment: the check is of this machine's server.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	// The body says which dependency failed (/readyz); keep one line of it.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	line := fmt.Sprintf("%s: %s", target, resp.Status)
	if resp.StatusCode != http.StatusOK {
		if b := strings.Join(strings.Fields(string(body)), " "); b != "" {
			line += " " + b
		}
		return "", errors.New(line)
	}
	return line, nil
}

// runHealthcheck exits 0 on 200 and 1 on anything else, including a bad
// flag: container engines reserve status 2, which the other subcommands
// use for usage errors.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	h := &Healthcheck{}
	fs := newFlagSet("belfry healthcheck", stderr)
	fs.StringVar(&h.URL, "url", defaultHealthcheckURL, "the server's base `URL`")
	fs.BoolVar(&h.Ready, "ready", false, "check /readyz (the store and broker answer) instead of /healthz (the process runs)")
	fs.DurationVar(&h.Timeout, "timeout", 3*time.Second, "bound on the request")
	if err := parseArgs(fs, args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%v", err) // not a usageError: exit 1, not 2
	}
	if h.Timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	line, err := h.Run(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stderr, "belfry healthcheck:", line)
	return err
}
