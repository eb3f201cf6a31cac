package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/internal/sse"
)

// Tail prints one user's stream, one line per event, and reconnects after
// every break with Last-Event-ID, so it shows every notification exactly
// once even across server restarts.
type Tail struct {
	URL         string        // the server's base URL
	Token       string        // the user's JWT; or Secret and User
	Secret      string        // mints tokens (again when one expires)
	User        string        // the user of minted tokens
	TokenTTL    time.Duration // lifetime of minted tokens; default 1h
	LastEventID string        // resume after this id; "" starts with live events
	// IdleTimeout ends a connection that sent nothing, not even a
	// heartbeat, for this long (a dead peer). Default 90s.
	IdleTimeout time.Duration
	// MinDelay and MaxDelay bound the wait before a reconnect; the server's
	// retry: value is used within them, doubled after each failure.
	// Defaults 500ms and 30s.
	MinDelay, MaxDelay time.Duration

	Out    io.Writer    // the events
	Logger *slog.Logger // connection news; default discards
	Client *http.Client // default: a client without overall timeout
}

// errFatal marks an error that reconnecting cannot fix.
type errFatal struct{ error }

func (e errFatal) Unwrap() error { return e.error }

// Run follows the stream until ctx ends (it then returns nil), or until the
// server refuses the credentials.
func (t *Tail) Run(ctx context.Context) error {
	t.defaults()
	if t.Token == "" && (t.Secret == "" || t.User == "") {
		return errors.New("tail needs --token, or --secret and --user")
	}
	failures := 0
	var retry time.Duration
	for {
		minted := false
		if t.Token == "" {
			tok, err := httpapi.MintToken([]byte(t.Secret), t.User, t.TokenTTL)
			if err != nil {
				return err
			}
			t.Token, minted = tok, true
		}
		got, r, err := t.once(ctx)
		if r > 0 {
			retry = r
		}
		if ctx.Err() != nil {
			return nil
		}
		var fatal errFatal
		if errors.As(err, &fatal) {
			if errors.Is(err, errTokenRejected) && t.Secret != "" && !minted {
				t.Token = "" // mint a fresh one at once
				continue
			}
			return err
		}
		if got {
			failures = 0
		} else {
			failures++
		}
		delay := t.delay(retry, failures)
		t.Logger.Warn("stream interrupted; reconnecting", "err", err,
			"last_event_id", t.LastEventID, "in", delay.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

func (t *Tail) defaults() {
	if t.TokenTTL <= 0 {
		t.TokenTTL = time.Hour
	}
	if t.IdleTimeout <= 0 {
		t.IdleTimeout = 90 * time.Second
	}
	if t.MinDelay <= 0 {
		t.MinDelay = 500 * time.Millisecond
	}
	if t.MaxDelay <= 0 {
		t.MaxDelay = 30 * time.Second
	}
	t.MaxDelay = max(t.MaxDelay, t.MinDelay)
	if t.Logger == nil {
		t.Logger = slog.New(slog.DiscardHandler)
	}
	if t.Client == nil {
		t.Client = &http.Client{}
	}
	if t.Out == nil {
		t.Out = io.Discard
	}
}

// delay is the wait before the next attempt: the server's retry: value (or
// MinDelay), doubled for each failure in a row, within MaxDelay, with a
// little jitter so that clients of a restarted server do not return as one.
func (t *Tail) delay(retry time.Duration, failures int) time.Duration {
	d := max(retry, t.MinDelay)
	for range min(failures, 16) {
		d *= 2
	}
	d = min(d, t.MaxDelay)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

var (
	errTokenRejected = errors.New("the server refused the token")
	errTokenExpired  = errors.New("the token expired")
)

// once makes one connection and prints its events until it ends. got tells
// whether the server accepted the stream; retry is the server's retry:
// value, if it sent one.
func (t *Tail) once(ctx context.Context) (got bool, retry time.Duration, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimRight(t.URL, "/")+"/notifications/stream", nil)
	if err != nil {
		return false, 0, errFatal{err}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("Authorization", "Bearer "+t.Token)
	if t.LastEventID != "" {
		req.Header.Set("Last-Event-ID", t.LastEventID)
	}
	idle := time.AfterFunc(t.IdleTimeout, func() {
		cancel(fmt.Errorf("nothing received for %s", t.IdleTimeout))
	})
	defer idle.Stop()
	resp, err := t.Client.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			err = cause
		}
		return false, 0, err
	}
	defer resp.Body.Close()
	if err := checkStreamResponse(resp); err != nil {
		return false, 0, err
	}
	t.Logger.Info("connected", "url", req.URL.Redacted(), "last_event_id", t.LastEventID)

	p := sse.NewReader(&activityReader{r: resp.Body, touch: func() { idle.Reset(t.IdleTimeout) }})
	for {
		ev, err := p.Next()
		retry, _ = p.Retry()
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
				err = cause
			}
			if errors.Is(err, io.EOF) {
				err = errors.New("the server ended the stream")
			}
			return true, retry, err
		}
		if ev.HasID {
			t.LastEventID = string(ev.ID)
		}
		if string(ev.Type) == "sync" && t.LastEventID == "" {
			// A fresh stream: resume from where the server says the user
			// is, so what is published while disconnected is not missed.
			var s struct {
				LastID int64 `json:"last_id"`
			}
			if json.Unmarshal(ev.Data, &s) == nil {
				t.LastEventID = strconv.FormatInt(s.LastID, 10)
			}
		}
		if err := t.print(ev); err != nil {
			return true, retry, errFatal{err}
		}
		if string(ev.Type) == "token-expired" {
			if t.Secret == "" {
				return true, retry, errFatal{errTokenExpired}
			}
			t.Token = "" // Run mints a new one
			return true, 0, errors.New("token expired; minting a new one")
		}
	}
}

// print writes one event as "ID EVENT DATA" ("-" when no id: line came
// with it), with newlines in the data shown as \n so an event stays on one
// line.
func (t *Tail) print(ev sse.Event) error {
	id := []byte("-")
	if ev.HasID {
		id = ev.ID
	}
	_, err := fmt.Fprintf(t.Out, "%s %s %s\n", id, ev.Type, bytes.ReplaceAll(ev.Data, []byte("\n"), []byte(`\n`)))
	return err
}

// activityReader calls touch after every read that returned bytes: the
// stream is alive while anything arrives, heartbeats included.
type activityReader struct {
	r     io.Reader
	touch func()
}

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.touch()
	}
	return n, err
}

// checkStreamResponse accepts a 200 text/event-stream. Credentials and
// client errors are fatal (reconnecting would not help); 5xx and 429 are
// retried.
func checkStreamResponse(resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if mt != "text/event-stream" {
			return errFatal{fmt.Errorf("not an event stream: Content-Type %q", resp.Header.Get("Content-Type"))}
		}
		return nil
	}
	apiErr := readAPIError(resp)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return errFatal{fmt.Errorf("%w: %v", errTokenRejected, apiErr)}
	case resp.StatusCode == http.StatusNoContent:
		return errFatal{errors.New("the server asked the client to stop (204)")}
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return apiErr
	default:
		return errFatal{apiErr}
	}
}
