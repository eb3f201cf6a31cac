package peers

import (
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Pusher is a publisher running Pusher's official Node server SDK (the
// pusher npm package), configured with an app id, key and secret and
// pointed at a base URL (belfry's), as an app's backend would be.
type Pusher struct {
	t       testing.TB
	mu      sync.Mutex // one command at a time: answers come in order
	stdin   io.Writer
	answers chan PusherAnswer
}

// PusherAnswer is what one SDK call got: the HTTP status (0 when none
// came, or the SDK refused the call before sending it), the body, and
// the SDK's error message for a refusal.
type PusherAnswer struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	Error  string `json:"error"`
}

// PusherEvent is one event of a batch, as pusher.triggerBatch takes it.
type PusherEvent struct {
	Channel string `json:"channel"`
	Name    string `json:"name"`
	Data    any    `json:"data"` // a string as is; anything else JSON-encoded by the SDK
}

// StartPusher starts the SDK for the app at baseURL. It skips t without
// node or web/node_modules/pusher.
func StartPusher(t testing.TB, baseURL, appID, key, secret string) *Pusher {
	t.Helper()
	cmd := exec.Command(node(t, "pusher"), filepath.Join(dir(), "pusher.mjs"), webDir(), baseURL, appID, key, secret)
	p := &Pusher{t: t, answers: make(chan PusherAnswer, 1)}
	ready := make(chan struct{})
	var once sync.Once
	p.stdin = start(t, cmd, func(line []byte) {
		var hello struct {
			Ready bool `json:"ready"`
		}
		if json.Unmarshal(line, &hello) == nil && hello.Ready {
			once.Do(func() { close(ready) })
			return
		}
		var a PusherAnswer
		if err := json.Unmarshal(line, &a); err != nil {
			t.Errorf("pusher peer: %v in %s", err, line)
			return
		}
		p.answers <- a
	})
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("the pusher peer did not start")
	}
	return p
}

// Trigger calls pusher.trigger(channels, event, data, params).
func (p *Pusher) Trigger(channels []string, event string, data any, params map[string]string) PusherAnswer {
	p.t.Helper()
	return p.send(map[string]any{"trigger": map[string]any{
		"channels": channels, "event": event, "data": data, "params": params}})
}

// TriggerBatch calls pusher.triggerBatch(batch).
func (p *Pusher) TriggerBatch(batch []PusherEvent) PusherAnswer {
	p.t.Helper()
	return p.send(map[string]any{"batch": batch})
}

func (p *Pusher) send(cmd any) PusherAnswer {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	line, err := json.Marshal(cmd)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		p.t.Fatalf("pusher peer: %v", err)
	}
	select {
	case a := <-p.answers:
		return a
	case <-time.After(30 * time.Second):
		p.t.Fatal("the pusher peer did not answer")
		return PusherAnswer{}
	}
}
