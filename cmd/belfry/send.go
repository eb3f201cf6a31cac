package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Send publishes one notification to one or more users through a running
// server, as an app would.
type Send struct {
	URL      string   // the server's base URL
	APIKey   string   // a publisher key of the server
	Users    []string // one user (user_id) or several (user_ids)
	Message  string
	Title    string
	Link     string
	Category string
	Data     string // a JSON object, or ""
	Avatar   string
	Push     string        // never, offline, always; "" leaves it to the server
	TTL      time.Duration // 0: never expires
	// IdempotencyKey, when set, makes a repeat of the same send create
	// nothing (the Idempotency-Key header).
	IdempotencyKey string

	Out    io.Writer    // the server's JSON answer
	Client *http.Client // default http.DefaultClient
}

// Run posts the notification and writes the answer. A non-2xx answer is
// returned as an *apiError with the server's code and message.
func (s *Send) Run(ctx context.Context) error {
	if len(s.Users) == 0 {
		return errors.New("send needs at least one --user")
	}
	// serve takes a comma list of keys (BELFRY_API_KEY=k1,k2); an
	// environment shared with it gives send the whole list: use its first.
	key, _, _ := strings.Cut(s.APIKey, ",")
	if key = strings.TrimSpace(key); key == "" {
		return errors.New("send needs --api-key")
	}
	s.APIKey = key
	body := map[string]any{"message": s.Message}
	if len(s.Users) == 1 {
		body["user_id"] = s.Users[0]
	} else {
		body["user_ids"] = s.Users
	}
	if s.TTL > 0 {
		body["ttl"] = int64((s.TTL + time.Second - 1) / time.Second)
	}
	for k, v := range map[string]string{"title": s.Title, "link": s.Link, "category": s.Category, "avatar": s.Avatar, "push": s.Push} {
		if v != "" {
			body[k] = v
		}
	}
	if s.Data != "" {
		if !json.Valid([]byte(s.Data)) {
			return errors.New("--data is not valid JSON")
		}
		body["data"] = json.RawMessage(s.Data)
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimRight(s.URL, "/")+"/api/notifications", bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	if s.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", s.IdempotencyKey)
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readAPIError(resp)
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if s.Out != nil {
		answer = bytes.TrimRight(answer, "\n")
		_, err = fmt.Fprintf(s.Out, "%s\n", answer)
	}
	return err
}

// apiError is an error answer of the server.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// readAPIError reads {"error":{"code","message"}} from a non-2xx answer;
// an answer of another shape keeps its first bytes as the message.
func readAPIError(resp *http.Response) *apiError {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	e := &apiError{Status: resp.StatusCode}
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
		return e
	}
	e.Message = strings.TrimSpace(string(raw))
	if len(e.Message) > 200 {
		e.Message = e.Message[:200] + "…"
	}
	return e
}
