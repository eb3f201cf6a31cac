package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// UsageError is a bad configuration (Main exits with status 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Run runs the configured scenario and returns what it measured. Progress
// goes to logw. It stops by itself: at the latest when cfg.Timeout passes.
// Errors: *UsageError for a bad configuration; otherwise what made the run
// impossible (no stream could be opened, a worker died). Lost events,
// failed publishes and the like are not errors: they are in the Result.
func Run(ctx context.Context, cfg Config, logw io.Writer) (*Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, &UsageError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if cfg.Scenario == "floor" {
		return runFloor(ctx, &cfg)
	}
	r := &runner{cfg: &cfg, log: logw, start: time.Now()}
	return r.run(ctx)
}

type runner struct {
	cfg   *Config
	log   io.Writer
	ids   []string
	specs []streamSpec
	tg    target
	pub   *publisher
	pool  *pool
	pid   int
	res   *Result
	start time.Time
}

func (r *runner) logf(format string, a ...any) {
	fmt.Fprintf(r.log, "bench: %6.2fs "+format+"\n", append([]any{time.Since(r.start).Seconds()}, a...)...)
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	c := r.cfg
	ids, tokens, err := c.users()
	if err != nil {
		return nil, &UsageError{err}
	}
	r.ids = ids
	if r.specs, r.tg, err = c.streamSpecs(ids, tokens); err != nil {
		return nil, &UsageError{err}
	}
	if r.pub, err = newPublisher(c, ids); err != nil {
		return nil, &UsageError{err}
	}
	r.res = &Result{Scenario: c.Scenario, StartedAt: time.Now().UTC(), Streams: c.Streams,
		Users: c.Users, Procs: c.Procs}
	r.findServer()

	var before procSample
	if r.pid > 0 {
		before, _ = sampleProc(r.pid)
	}
	r.pool, err = startPool(ctx, c.Procs, c.WorkerCommand, r.log)
	if err != nil {
		return nil, err
	}
	defer r.pool.close()
	if err := r.initWorkers(); err != nil {
		return nil, err
	}
	r.logf("opening %d streams over %d users in %d process(es)", c.Streams, c.Users, c.Procs)
	conn, err := r.open("open")
	if err != nil {
		return nil, err
	}
	r.res.Connect = conn
	if conn.Connected == 0 {
		return r.res, fmt.Errorf("no stream could be opened: %v", r.res.Errors)
	}
	switch c.Scenario {
	case "idle":
		err = r.idle(ctx, before)
	case "targeted", "broadcast":
		err = r.publishScenario(ctx, before)
	case "storm":
		err = r.storm(ctx, before)
	}
	return r.res, err
}

// findServer sets the pid whose RSS and CPU are reported.
func (r *runner) findServer() {
	if r.cfg.ServerPID > 0 {
		r.pid = r.cfg.ServerPID
		return
	}
	_, port, _ := net.SplitHostPort(r.tg.addr)
	p, _ := strconv.Atoi(port)
	pid, err := findListener(p)
	if err != nil {
		r.logf("server RSS and CPU not measured: %v (give --server-pid)", err)
		return
	}
	r.pid = pid
}

func (r *runner) initWorkers() error {
	n := len(r.pool.ws)
	cmds := make([]command, n)
	per := (len(r.specs) + n - 1) / n
	sync := r.cfg.SyncEvent
	if sync == "-" {
		sync = ""
	}
	for i := range cmds {
		lo, hi := min(i*per, len(r.specs)), min((i+1)*per, len(r.specs))
		cmds[i] = command{Op: "init", Init: &workerInit{Addr: r.tg.addr, Sources: r.tg.sources,
			Streams: r.specs[lo:hi], SyncEvent: sync, BufSize: r.cfg.BufSize,
			Conc: r.cfg.ConnConc, ReconnectConc: r.cfg.ReconnectConc, Seqs: r.seqCount(), TimeoutNS: int64(10 * time.Second)}}
	}
	_, err := r.pool.call(cmds...)
	return err
}

// seqCount is how many publish requests the scenario may make.
func (r *runner) seqCount() int {
	switch r.cfg.Scenario {
	case "targeted", "broadcast":
		return r.cfg.Publishes
	case "storm":
		return (r.cfg.Missed + 1) * len(roundRequests(0, r.cfg.Users, r.cfg.Batch))
	}
	return 0
}

// open sends open or reconnect to every worker and merges the replies.
func (r *runner) open(op string) (*ConnectResult, error) {
	reps, err := r.pool.call(command{Op: op})
	if err != nil {
		return nil, err
	}
	h := new(Hist)
	out := &ConnectResult{}
	var first, last int64
	for _, rep := range reps {
		out.Connected += rep.Connected
		out.Failed += rep.Failed
		h.Merge(rep.Connect)
		if first == 0 || (rep.FirstNS > 0 && rep.FirstNS < first) {
			first = rep.FirstNS
		}
		last = max(last, rep.LastNS)
		r.res.Errors = appendErrs(r.res.Errors, rep.Errors...)
	}
	out.P50, out.P99, out.Max = ms(h.Quantile(.5)), ms(h.Quantile(.99)), ms(h.Max())
	if last > first {
		out.Total = ms(time.Duration(last - first))
	}
	r.logf("%s: %d connected, %d failed, in %.0f ms", op, out.Connected, out.Failed, out.Total)
	return out, nil
}

func appendErrs(errs []string, add ...string) []string {
	for _, e := range add {
		if len(errs) >= 10 {
			break
		}
		errs = append(errs, e)
	}
	return errs
}

func (r *runner) serverMemory(before procSample) {
	if r.pid <= 0 {
		return
	}
	after, err := sampleProc(r.pid)
	if err != nil {
		r.res.Server = &ServerResult{PID: r.pid, Note: err.Error()}
		return
	}
	s := &ServerResult{PID: r.pid, RSSBefore: before.RSS, RSSAfter: after.RSS,
		SameProcess: r.pid == os.Getpid()}
	if n := r.res.Connect.Connected; n > 0 && before.RSS > 0 && r.cfg.Scenario == "idle" {
		s.RSSPerStream = float64(after.RSS-before.RSS) / float64(n)
	}
	if s.SameProcess {
		s.Note = "the server runs inside the bench process: its RSS includes the stream clients"
	}
	r.res.Server = s
}

func (r *runner) clientMemory(reps []reply) {
	rss, cpu := r.clientUsage(reps)
	c := &ClientResult{RSS: rss, CPU: cpu.Seconds()}
	if n := r.res.Connect.Connected; n > 0 {
		c.RSSPerStream = float64(rss) / float64(n)
	}
	r.res.Client = c
}

// clientUsage adds up the RSS and CPU time of the bench processes from
// the workers' replies (each reports its own with every reply).
func (r *runner) clientUsage(reps []reply) (int64, time.Duration) {
	var rss int64
	var cpu time.Duration
	for _, rep := range reps {
		rss += rep.RSS
		cpu += time.Duration(rep.CPU)
	}
	if len(r.pool.ws) > 1 || len(r.cfg.WorkerCommand) > 0 { // the workers are apart: add this process
		if s, err := sampleProc(os.Getpid()); err == nil {
			rss += s.RSS
			cpu += s.CPU
		}
	}
	return rss, cpu
}

// clientCPU is the bench processes' CPU time so far; ok is false when a
// worker did not answer.
func (r *runner) clientCPU() (time.Duration, bool) {
	reps, err := r.pool.call(command{Op: "stats"})
	if err != nil {
		return 0, false
	}
	_, cpu := r.clientUsage(reps)
	return cpu, true
}

// clientPhaseCPU sets the client's CPU over the server's measured phase,
// from cpu0 (clientCPU at its start) to the replies that end it.
func (r *runner) clientPhaseCPU(cpu0 time.Duration, reps []reply) {
	c := r.res.Client
	if c == nil {
		return
	}
	_, cpu1 := r.clientUsage(reps)
	c.PhaseCPU = (cpu1 - cpu0).Seconds()
	if d := r.res.Delivery; d != nil && d.Delivered > 0 {
		c.CPUPerDelivery = c.PhaseCPU * 1e6 / float64(d.Delivered)
	}
}

func (r *runner) sample() procSample {
	if r.pid <= 0 {
		return procSample{}
	}
	s, _ := sampleProc(r.pid)
	return s
}

func (r *runner) serverCPU(cpu0 procSample, phase string) {
	if r.pid <= 0 || r.res.Server == nil || cpu0.At.IsZero() {
		return
	}
	cpu1 := r.sample()
	s := r.res.Server
	s.CPU = (cpu1.CPU - cpu0.CPU).Seconds()
	s.Phase = phase
	if d := r.res.Delivery; d != nil && d.Delivered > 0 {
		s.CPUPerDelivery = s.CPU * 1e6 / float64(d.Delivered)
	}
}

// expect tells the workers what was acknowledged and waits for their
// reports (each waits until its streams have it all, or Drain passes).
func (r *runner) expect(ctx context.Context, exp map[string][]int32) ([]reply, error) {
	deadline := time.Now().Add(r.cfg.Drain)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d.Add(-time.Second)
	}
	r.logf("waiting for deliveries (at most %s)", time.Until(deadline).Round(time.Second))
	return r.pool.call(command{Op: "expect", Expect: exp, DeadlineNS: deadline.UnixNano()})
}
