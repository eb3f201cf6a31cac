package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// worker holds a share of the streams and answers the parent's commands.
// It runs in a worker process (RunWorker) or in the parent over pipes.
type worker struct {
	init    workerInit
	sources []*net.TCPAddr
	clients []*client

	latency  Hist
	seqLast  []atomic.Int64
	first    atomic.Int64
	last     atomic.Int64
	nDeliver atomic.Int64
	nDisc    atomic.Int64

	// incomplete counts streams that still miss an expected seq once
	// expectations are set; done is closed when it reaches zero. gen
	// numbers the expect commands: a stream that completes an earlier
	// expectation late must not count against the current one.
	incomplete atomic.Int64
	doneMu     sync.Mutex
	done       chan struct{}
	gen        int64 // guarded by doneMu

	errMu  sync.Mutex
	errs   []string
	wg     sync.WaitGroup // every stream goroutine
	ctx    context.Context
	cancel context.CancelFunc
}

// RunWorker is the worker process: it reads commands from in and answers
// on out until the close command, EOF on in, or ctx ends. cmd/belfry runs
// it for `belfry bench --worker`; Main does that itself.
// Errors: a malformed command stream.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	w := &worker{ctx: ctx, cancel: cancel}
	defer w.shutdown()
	dec := json.NewDecoder(bufio.NewReaderSize(in, 64<<10))
	bw := bufio.NewWriter(out)
	for {
		var c command
		if err := dec.Decode(&c); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("worker: reading a command: %w", err)
		}
		r := w.handle(&c)
		r.Op = c.Op
		if s, err := sampleProc(os.Getpid()); err == nil {
			r.RSS, r.CPU = s.RSS, int64(s.CPU)
		}
		if _, err := bw.Write(append(mustJSON(r), '\n')); err != nil {
			return fmt.Errorf("worker: writing a reply: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("worker: writing a reply: %w", err)
		}
		if c.Op == "close" {
			return nil
		}
	}
}

func (w *worker) handle(c *command) *reply {
	switch c.Op {
	case "init":
		if c.Init == nil {
			return &reply{Error: "init without parameters"}
		}
		w.setup(c.Init)
		return &reply{}
	case "open":
		return w.openAll(false)
	case "drop":
		w.dropAll()
		return &reply{}
	case "reconnect":
		return w.openAll(true)
	case "expect":
		return &reply{Report: w.expect(c.Expect, time.Unix(0, c.DeadlineNS))}
	case "stats":
		return &reply{} // RSS is added to every reply
	case "close":
		w.shutdown()
		return &reply{}
	}
	return &reply{Error: fmt.Sprintf("unknown command %q", c.Op)}
}

func (w *worker) setup(in *workerInit) {
	w.init = *in
	if w.init.BufSize <= 0 {
		w.init.BufSize = 2048
	}
	if w.init.TimeoutNS <= 0 {
		w.init.TimeoutNS = int64(10 * time.Second)
	}
	for _, s := range in.Sources {
		if ip := net.ParseIP(s); ip != nil {
			w.sources = append(w.sources, &net.TCPAddr{IP: ip})
		}
	}
	w.seqLast = make([]atomic.Int64, in.Seqs)
	w.clients = make([]*client, len(in.Streams))
	for i, s := range in.Streams {
		w.clients[i] = &client{w: w, idx: i, user: s.User, head: s.Head}
	}
}

// openAll (re)connects every stream that is not connected and waits until
// each is connected (its sync event arrived) or failed.
func (w *worker) openAll(resume bool) *reply {
	connect := new(Hist)
	var (
		mu       sync.Mutex
		ok, fail int
		lastNS   int64
		wait     sync.WaitGroup
	)
	conc := w.init.Conc
	if resume {
		conc = w.init.ReconnectConc
	}
	if conc <= 0 {
		conc = len(w.clients) // all at once
	}
	sem := make(chan struct{}, max(conc, 1))
	firstNS := time.Now().UnixNano()
	for _, c := range w.clients {
		if c.isConnected() {
			continue
		}
		wait.Add(1)
		sem <- struct{}{}
		ready := func(d time.Duration, err error) {
			<-sem
			mu.Lock()
			if err != nil {
				fail++
				w.noteErr(err)
			} else {
				ok++
				connect.Record(d)
				lastNS = max(lastNS, time.Now().UnixNano())
			}
			mu.Unlock()
			wait.Done()
		}
		c.start(resume, ready)
	}
	wait.Wait()
	return &reply{Connected: ok, Failed: fail, Connect: connect.export(),
		FirstNS: firstNS, LastNS: lastNS, Errors: w.takeErrs()}
}

// dropAll closes every stream's connection, as a network blip would; the
// streams keep their last event id for the reconnect.
func (w *worker) dropAll() {
	for _, c := range w.clients {
		c.drop()
	}
	for _, c := range w.clients {
		c.waitStopped()
	}
}

// expect sets what every stream must have received, waits until all have
// it or the deadline, and reports.
func (w *worker) expect(exp map[string][]int32, deadline time.Time) *workerReport {
	w.doneMu.Lock()
	w.done = make(chan struct{})
	w.gen++
	gen := w.gen
	w.doneMu.Unlock()
	for _, list := range exp {
		slices.Sort(list)
	}
	w.incomplete.Store(int64(len(w.clients)) + 1) // +1 until every stream is set
	for _, c := range w.clients {
		if c.setExpect(exp[c.user], gen) {
			w.streamComplete(gen)
		}
	}
	w.streamComplete(gen)
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
	case <-w.ctx.Done():
	}
	return w.report()
}

// streamComplete counts one stream of expectation gen complete.
func (w *worker) streamComplete(gen int64) {
	w.doneMu.Lock()
	defer w.doneMu.Unlock()
	if gen != w.gen {
		return
	}
	if w.incomplete.Add(-1) == 0 {
		close(w.done)
	}
}

func (w *worker) report() *workerReport {
	r := &workerReport{Latency: w.latency.export(), FirstNS: w.first.Load(),
		LastNS: w.last.Load(), Delivered: w.nDeliver.Load(), Disconnects: w.nDisc.Load()}
	for _, c := range w.clients {
		c.tally(r)
	}
	r.SeqLastNS = make([]int64, len(w.seqLast))
	for i := range w.seqLast {
		r.SeqLastNS[i] = w.seqLast[i].Load()
	}
	return r
}

// delivered records one event carrying seq, received at now (unix nanos),
// published at sent; live is false for replayed events.
func (w *worker) delivered(seq int32, sent, now int64, live bool) {
	w.nDeliver.Add(1)
	if live && sent > 0 {
		w.latency.Record(time.Duration(now - sent))
	}
	w.first.CompareAndSwap(0, now)
	casMax(&w.last, now)
	if seq >= 0 && int(seq) < len(w.seqLast) {
		casMax(&w.seqLast[seq], now)
	}
}

func casMax(a *atomic.Int64, v int64) {
	for {
		m := a.Load()
		if v <= m || a.CompareAndSwap(m, v) {
			return
		}
	}
}

// noteErr keeps the first few distinct errors for the report.
func (w *worker) noteErr(err error) {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	s := err.Error()
	if len(w.errs) < 5 && !slices.Contains(w.errs, s) {
		w.errs = append(w.errs, s)
	}
}

func (w *worker) takeErrs() []string {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	e := w.errs
	w.errs = nil
	return e
}

func (w *worker) shutdown() {
	w.cancel()
	for _, c := range w.clients {
		c.drop()
	}
	w.wg.Wait()
}
