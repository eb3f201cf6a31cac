package bench

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// errDropped ends a session that the worker dropped on purpose.
var errDropped = errors.New("dropped")

// client is one stream: a raw TCP connection and what it received. Its
// session goroutine reconnects with Last-Event-ID when the server ends the
// stream, as a browser's EventSource does.
type client struct {
	w    *worker
	idx  int
	user string
	head string

	mu      sync.Mutex
	conn    net.Conn
	running bool          // a session goroutine is active
	dropped bool          // drop asked: close and do not reconnect
	stopped chan struct{} // closed when the session goroutine ends
	ready   func(time.Duration, error)
	lastID  string
	recv    []receipt // every event with a seq, in arrival order
	exp     []int32   // sorted seqs expected, nil until expect
	seen    []uint64  // bitset over exp
	missing int
	gen     int64 // the expect command exp came from
}

type receipt struct {
	seq int32
	at  int64 // unix nanos
}

func (c *client) isConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running
}

// start launches the session goroutine; ready is called once, when the
// stream is connected or failed to.
func (c *client) start(resume bool, ready func(time.Duration, error)) {
	c.mu.Lock()
	c.running, c.dropped = true, false
	c.stopped = make(chan struct{})
	c.ready = ready
	c.mu.Unlock()
	c.w.wg.Go(func() { c.session(resume) })
}

func (c *client) session(resume bool) {
	defer func() {
		c.mu.Lock()
		c.running = false
		c.conn = nil
		close(c.stopped)
		c.mu.Unlock()
	}()
	start := time.Now()
	for {
		err := c.connectAndRead(resume, start)
		c.mu.Lock()
		ready, dropped := c.ready, c.dropped
		c.ready = nil
		c.mu.Unlock()
		if ready != nil { // never connected: report and give up
			if err == nil {
				err = errors.New("stream ended before it was ready")
			}
			ready(time.Since(start), err)
			return
		}
		if dropped || c.w.ctx.Err() != nil {
			return
		}
		c.w.nDisc.Add(1) // the server ended a connected stream: resume
		resume = true
		t := time.NewTimer(100*time.Millisecond + rand.N(200*time.Millisecond))
		select {
		case <-t.C:
		case <-c.w.ctx.Done():
			t.Stop()
			return
		}
		start = time.Now()
	}
}

// connectAndRead dials, sends the request, checks the response head and
// reads events until the connection ends.
func (c *client) connectAndRead(resume bool, start time.Time) error {
	in := &c.w.init
	timeout := time.Duration(in.TimeoutNS)
	d := net.Dialer{Timeout: timeout}
	if n := len(c.w.sources); n > 0 {
		d.LocalAddr = c.w.sources[c.idx%n]
	}
	// Dial on a goroutine of its own: dialing takes a deep stack, and the
	// stack a goroutine grew stays with it. The stream's goroutine then
	// keeps a smaller stack (measured: 8 KiB per stream → 4 KiB).
	dialed := make(chan error, 1)
	var conn net.Conn
	go func() {
		var err error
		conn, err = d.DialContext(c.w.ctx, "tcp", in.Addr)
		dialed <- err
	}()
	if err := <-dialed; err != nil {
		return err
	}
	defer conn.Close()
	c.mu.Lock()
	if c.dropped {
		c.mu.Unlock()
		return errDropped
	}
	c.conn = conn
	lastID := c.lastID
	c.mu.Unlock()

	req := make([]byte, 0, len(c.head)+48)
	req = append(req, c.head...)
	if resume && lastID != "" {
		req = append(req, "Last-Event-ID: "...)
		req = append(req, lastID...)
		req = append(req, "\r\n"...)
	}
	req = append(req, "\r\n"...)
	_ = conn.SetDeadline(start.Add(timeout))
	if _, err := conn.Write(req); err != nil {
		return err
	}
	er := newEventReader(conn, in.BufSize)
	status, ct, err := er.readHead()
	if err != nil {
		return fmt.Errorf("reading the response head: %w", err)
	}
	if status != 200 {
		return fmt.Errorf("stream answered status %d", status)
	}
	if !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("stream answered Content-Type %q, not text/event-stream", ct)
	}
	synced := in.SyncEvent == ""
	if synced {
		c.connected(conn, start)
	}
	for {
		ev, err := er.Next()
		if err != nil {
			return err
		}
		now := time.Now().UnixNano()
		if len(ev.ID) > 0 && string(ev.ID) != lastID {
			lastID = string(ev.ID)
			c.mu.Lock()
			c.lastID = lastID
			c.mu.Unlock()
		}
		if !synced && string(ev.Type) == in.SyncEvent {
			synced = true
			c.connected(conn, start)
			continue
		}
		if seq, sent, ok := parsePayload(ev.Data); ok {
			// Counted before it is marked received: marking the last
			// expected event can end the run, whose report must include it.
			c.w.delivered(seq, sent, now, synced)
			c.receive(seq, now)
		}
	}
}

// connected lifts the connect deadline and reports the stream ready.
func (c *client) connected(conn net.Conn, start time.Time) {
	_ = conn.SetDeadline(time.Time{})
	c.mu.Lock()
	ready := c.ready
	c.ready = nil
	c.mu.Unlock()
	if ready != nil {
		ready(time.Since(start), nil)
	}
}

// receive records an event with seq.
func (c *client) receive(seq int32, now int64) {
	c.mu.Lock()
	c.recv = append(c.recv, receipt{seq, now})
	complete, gen := c.markSeen(seq), c.gen
	c.mu.Unlock()
	if complete {
		c.w.streamComplete(gen)
	}
}

// markSeen marks seq as received and reports whether that completed the
// stream. The caller holds mu.
func (c *client) markSeen(seq int32) bool {
	if c.exp == nil {
		return false
	}
	i, found := slices.BinarySearch(c.exp, seq)
	if !found || c.seen[i/64]&(1<<(i%64)) != 0 {
		return false
	}
	c.seen[i/64] |= 1 << (i % 64)
	c.missing--
	return c.missing == 0
}

// setExpect sets the seqs the stream must receive (sorted, shared, read
// only) and reports whether it already has them all.
func (c *client) setExpect(exp []int32, gen int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen = gen
	if exp == nil {
		exp = []int32{}
	}
	c.exp = exp
	c.seen = make([]uint64, (len(exp)+63)/64)
	c.missing = len(exp)
	if c.missing == 0 {
		return true
	}
	for _, r := range c.recv {
		if c.markSeen(r.seq) {
			return true
		}
	}
	return false
}

// tally adds the stream's lost, duplicated and unexpected events to r.
func (c *client) tally(r *workerReport) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exp == nil {
		return
	}
	r.Expected += int64(len(c.exp))
	seen := make([]bool, len(c.exp))
	var lastNew int64
	for _, rc := range c.recv {
		i, found := slices.BinarySearch(c.exp, rc.seq)
		switch {
		case !found:
			r.Unexpected++
		case seen[i]:
			r.Dup++
		default:
			seen[i] = true
			lastNew = max(lastNew, rc.at)
		}
	}
	for _, s := range seen {
		if !s {
			r.Lost++
		}
	}
	if c.missing > 0 {
		r.Incomplete++
	}
	r.CompleteNS = max(r.CompleteNS, lastNew)
}

// drop closes the connection and stops the session from reconnecting.
func (c *client) drop() {
	c.mu.Lock()
	c.dropped = true
	if c.conn != nil {
		c.conn.Close()
	}
	c.mu.Unlock()
}

func (c *client) waitStopped() {
	c.mu.Lock()
	ch := c.stopped
	c.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// parsePayload finds "seq=<n>" and "t=<unix nanos>" in an event's data:
// the payload bench puts in every message it publishes.
func parsePayload(data []byte) (seq int32, sent int64, ok bool) {
	i := bytes.Index(data, []byte("seq="))
	if i < 0 {
		return 0, 0, false
	}
	n, ok := leadingInt(data[i+4:])
	if !ok || n > 1<<31-1 {
		return 0, 0, false
	}
	j := bytes.Index(data[i+4:], []byte(" t="))
	if j >= 0 {
		sent, _ = leadingInt(data[i+4+j+3:])
	}
	return int32(n), sent, true
}

func leadingInt(b []byte) (int64, bool) {
	var n int64
	k := 0
	for k < len(b) && k < 19 && '0' <= b[k] && b[k] <= '9' {
		n = n*10 + int64(b[k]-'0')
		k++
	}
	return n, k > 0
}
