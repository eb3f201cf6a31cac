package bench

import (
	"context"
	"errors"
	"time"
)

// idle holds the streams for Duration and reports memory per stream.
func (r *runner) idle(ctx context.Context, before procSample) error {
	r.logf("holding %d streams for %s", r.res.Connect.Connected, r.cfg.Duration)
	t := time.NewTimer(r.cfg.Duration)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	r.serverMemory(before)
	reps, err := r.pool.call(command{Op: "stats"})
	r.clientMemory(reps)
	return err
}

// planRequests returns n requests from seq0 on, each naming batch users,
// round robin over users.
func planRequests(seq0, n, batch, users int) []pubRequest {
	reqs := make([]pubRequest, n)
	for k := range reqs {
		us := make([]int, batch)
		for j := range us {
			us[j] = (k*batch + j) % users
		}
		reqs[k] = pubRequest{seq: int32(seq0 + k), users: us}
	}
	return reqs
}

// roundRequests returns the requests that name every user exactly once,
// batch users per request.
func roundRequests(seq0, users, batch int) []pubRequest {
	var reqs []pubRequest
	for lo := 0; lo < users; lo += batch {
		us := make([]int, 0, batch)
		for u := lo; u < min(lo+batch, users); u++ {
			us = append(us, u)
		}
		reqs = append(reqs, pubRequest{seq: int32(seq0 + len(reqs)), users: us})
	}
	return reqs
}

// publishScenario is targeted and broadcast: publish, then wait until
// every stream has what it should.
func (r *runner) publishScenario(ctx context.Context, before procSample) error {
	c := r.cfg
	reqs := planRequests(0, c.Publishes, c.Batch, c.Users)
	ccpu0, cok := r.clientCPU()
	cpu0 := r.sample()
	r.logf("publishing %d requests of %d user(s) with %d publishers", len(reqs), c.Batch, c.Publishers)
	pctx, cancel := context.WithTimeout(ctx, c.Duration)
	st := r.pub.run(pctx, reqs, c.Publishers, c.Rate)
	cancel()
	r.res.Publish = publishResult(st)
	r.logf("published: %d ok, %d failed", st.OK, st.Failed)
	r.res.Errors = appendErrs(r.res.Errors, st.Errors...)
	exp := map[string][]int32{}
	r.addExpect(exp, st.Acked)
	reps, err := r.expect(ctx, exp)
	if err != nil {
		return err
	}
	r.res.Delivery = r.delivery(reps, st.Start, []*pubStats{st})
	r.serverMemory(before)
	r.serverCPU(cpu0, "publish to last delivery")
	r.clientMemory(reps)
	if cok {
		r.clientPhaseCPU(ccpu0, reps)
	}
	return nil
}

func (r *runner) addExpect(exp map[string][]int32, acked []pubRequest) {
	for _, q := range acked {
		for _, u := range q.users {
			exp[r.ids[u]] = append(exp[r.ids[u]], q.seq)
		}
	}
}

func publishResult(st *pubStats) *PublishResult {
	p := &PublishResult{Requests: st.Sent, OK: st.OK, Failed: st.Failed,
		Notifications: st.Notifications, Seconds: st.End.Sub(st.Start).Seconds(),
		P50: ms(st.Latency.Quantile(.5)), P99: ms(st.Latency.Quantile(.99)), Max: ms(st.Latency.Max())}
	if p.Seconds > 0 {
		p.PerSec = float64(st.OK) / p.Seconds
		p.NotifPerSec = float64(st.Notifications) / p.Seconds
	}
	return p
}

// delivery merges the workers' reports.
func (r *runner) delivery(reps []reply, start time.Time, sts []*pubStats) *DeliveryResult {
	d := &DeliveryResult{}
	lat := new(Hist)
	var last int64
	seqLast := make([]int64, r.seqCount())
	for _, rep := range reps {
		w := rep.Report
		if w == nil {
			continue
		}
		d.Delivered += w.Delivered
		d.Expected += w.Expected
		d.Lost += w.Lost
		d.Dup += w.Dup
		d.Unexpected += w.Unexpected
		d.Incomplete += w.Incomplete
		d.Disconnects += w.Disconnects
		lat.Merge(w.Latency)
		last = max(last, w.LastNS)
		for i, v := range w.SeqLastNS {
			if i < len(seqLast) {
				seqLast[i] = max(seqLast[i], v)
			}
		}
	}
	d.P50, d.P90, d.P99, d.Max = ms(lat.Quantile(.5)), ms(lat.Quantile(.9)), ms(lat.Quantile(.99)), ms(lat.Max())
	if span := time.Duration(last - start.UnixNano()); last > 0 && span > 0 {
		d.PerSec = float64(d.Delivered) / span.Seconds()
	}
	// Last delivery after the response, per request. Negative values
	// (delivered before the response was read) do not fit the histogram:
	// they count as 0.
	after := new(Hist)
	var worst time.Duration
	have := false
	for _, st := range sts {
		for seq, ret := range st.Returned {
			if int(seq) >= len(seqLast) || seqLast[seq] == 0 {
				continue
			}
			v := time.Duration(seqLast[seq] - ret)
			if !have || v > worst {
				worst, have = v, true
			}
			after.Record(max(v, 0))
		}
	}
	d.LastAfterReturnP50, d.LastAfterReturnMax = ms(after.Quantile(.5)), ms(worst)
	return d
}

// storm: every user gets one notification live (so every stream has a
// last event id); every stream drops; each user misses Missed more; all
// reconnect at once with Last-Event-ID.
func (r *runner) storm(ctx context.Context, before procSample) error {
	c := r.cfg
	exp := map[string][]int32{}
	warm := roundRequests(0, c.Users, c.Batch)
	r.logf("storm: one live notification per user (%d requests)", len(warm))
	st1 := r.pub.run(ctx, warm, c.Publishers, c.Rate)
	r.addExpect(exp, st1.Acked)
	if _, err := r.expect(ctx, exp); err != nil {
		return err
	}
	r.logf("storm: dropping every stream")
	if _, err := r.pool.call(command{Op: "drop"}); err != nil {
		return err
	}
	var missed []pubRequest
	for k := range c.Missed {
		missed = append(missed, roundRequests(len(warm)*(k+1), c.Users, c.Batch)...)
	}
	r.logf("storm: publishing %d requests while the streams are down", len(missed))
	pctx, cancel := context.WithTimeout(ctx, c.Duration)
	st2 := r.pub.run(pctx, missed, c.Publishers, c.Rate)
	cancel()
	r.res.Publish = publishResult(st2)
	r.res.Errors = appendErrs(r.res.Errors, st1.Errors...)
	r.res.Errors = appendErrs(r.res.Errors, st2.Errors...)
	r.addExpect(exp, st2.Acked)

	cpu0 := r.sample()
	t0 := time.Now()
	conn, err := r.open("reconnect")
	if err != nil {
		return err
	}
	reps, err := r.expect(ctx, exp)
	if err != nil {
		return err
	}
	r.res.Delivery = r.delivery(reps, st1.Start, nil)
	s := &StormResult{Missed: c.Missed, Reconnected: conn.Connected, Failed: conn.Failed,
		ConnectP50: conn.P50, ConnectP99: conn.P99, CatchUp: -1}
	var complete int64
	for _, rep := range reps {
		if rep.Report != nil {
			complete = max(complete, rep.Report.CompleteNS)
		}
	}
	if d := r.res.Delivery; d.Incomplete == 0 && d.Lost == 0 && complete > 0 {
		s.CatchUp = max(ms(time.Duration(complete-t0.UnixNano())), 0)
	}
	r.res.Storm = s
	r.res.Delivery.PerSec = 0 // the phases are apart in time: a rate would mean nothing
	r.serverMemory(before)
	r.serverCPU(cpu0, "reconnect to caught up")
	if r.res.Server != nil {
		r.res.Server.CPUPerDelivery = 0 // replays and live events are not comparable per delivery
	}
	r.clientMemory(reps)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		r.res.Errors = appendErrs(r.res.Errors, "the run hit its --timeout")
	}
	return nil
}
