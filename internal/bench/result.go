package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what a run measured; Main prints it as a table and, with
// --json, writes it as JSON. Durations are in milliseconds (_ms) or
// microseconds (_us), memory in bytes.
type Result struct {
	Scenario  string    `json:"scenario"`
	StartedAt time.Time `json:"started_at"`
	Streams   int       `json:"streams"`
	Users     int       `json:"users"`
	Procs     int       `json:"procs"`

	Connect  *ConnectResult  `json:"connect,omitempty"`
	Publish  *PublishResult  `json:"publish,omitempty"`
	Delivery *DeliveryResult `json:"delivery,omitempty"`
	Storm    *StormResult    `json:"storm,omitempty"`
	Server   *ServerResult   `json:"server,omitempty"`
	Client   *ClientResult   `json:"client,omitempty"`
	Floor    *FloorResult    `json:"floor,omitempty"`
	Errors   []string        `json:"errors,omitempty"`
}

// ConnectResult: opening the streams (connected = the sync event arrived).
type ConnectResult struct {
	Connected int     `json:"connected"`
	Failed    int     `json:"failed"`
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	Max       float64 `json:"max_ms"`
	Total     float64 `json:"total_ms"` // first dial to last stream connected
}

// PublishResult: the publish requests.
type PublishResult struct {
	Requests      int     `json:"requests"`
	OK            int     `json:"ok"`
	Failed        int     `json:"failed"`
	Notifications int     `json:"notifications"` // in acknowledged requests
	Seconds       float64 `json:"seconds"`
	PerSec        float64 `json:"requests_per_sec"`
	NotifPerSec   float64 `json:"notifications_per_sec"`
	P50           float64 `json:"p50_ms"`
	P99           float64 `json:"p99_ms"`
	Max           float64 `json:"max_ms"`
}

// DeliveryResult: what the streams received, checked against what was
// acknowledged.
type DeliveryResult struct {
	Delivered   int64   `json:"delivered"`
	Expected    int64   `json:"expected"`
	Lost        int64   `json:"lost"`
	Dup         int64   `json:"dup"`
	Unexpected  int64   `json:"unexpected"`
	Incomplete  int     `json:"incomplete_streams"`
	Disconnects int64   `json:"server_disconnects"` // streams the server ended; the client resumed
	PerSec      float64 `json:"delivered_per_sec"`  // first publish sent to last delivery
	P50         float64 `json:"latency_p50_ms"`     // publish → deliver, live events
	P90         float64 `json:"latency_p90_ms"`
	P99         float64 `json:"latency_p99_ms"`
	Max         float64 `json:"latency_max_ms"`
	// LastAfterReturn: per request, its last delivery minus when the
	// request returned (negative: delivered before the response arrived).
	LastAfterReturnP50 float64 `json:"last_after_return_p50_ms"`
	LastAfterReturnMax float64 `json:"last_after_return_max_ms"`
}

// StormResult: the reconnect storm.
type StormResult struct {
	Missed      int     `json:"missed_per_stream"`
	Reconnected int     `json:"reconnected"`
	Failed      int     `json:"failed"`
	ConnectP50  float64 `json:"connect_p50_ms"`
	ConnectP99  float64 `json:"connect_p99_ms"`
	CatchUp     float64 `json:"catch_up_ms"` // reconnect start to the last missed event; -1: not all caught up
}

// ServerResult: the server process, from /proc.
type ServerResult struct {
	PID            int     `json:"pid"`
	RSSBefore      int64   `json:"rss_before"`
	RSSAfter       int64   `json:"rss_after"`
	RSSPerStream   float64 `json:"rss_per_stream"`
	CPU            float64 `json:"cpu_seconds"`            // during the measured phase
	CPUPerDelivery float64 `json:"cpu_per_delivery_us"`    // CPU / delivered
	Phase          string  `json:"cpu_phase,omitempty"`    // what CPU covers
	Note           string  `json:"note,omitempty"`         // e.g. why nothing was measured
	SameProcess    bool    `json:"same_process,omitempty"` // the server runs inside the bench process
}

// ClientResult: the load generator's own memory and CPU.
type ClientResult struct {
	RSS          int64   `json:"rss"` // all bench processes
	RSSPerStream float64 `json:"rss_per_stream"`
	CPU          float64 `json:"cpu_seconds"` // all bench processes, the whole run
	// All bench processes over the server's measured phase (targeted and
	// broadcast: publish to last delivery), and that per delivery: on a
	// machine the two share, what the load takes from the server's CPU.
	PhaseCPU       float64 `json:"phase_cpu_seconds,omitempty"`
	CPUPerDelivery float64 `json:"cpu_per_delivery_us,omitempty"`
}

// FloorResult: the kernel floor of one frame write to a loopback socket.
type FloorResult struct {
	Sockets         int     `json:"sockets"`
	Writes          int     `json:"writes"`
	FrameBytes      int     `json:"frame_bytes"`
	WriterCPUPerOp  float64 `json:"writer_cpu_per_write_us"`  // the writing thread (includes loopback receive work)
	ProcessCPUPerOp float64 `json:"process_cpu_per_write_us"` // the whole process, readers included
	WallPerOp       float64 `json:"wall_per_write_us"`
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// WriteTable writes r as a readable table.
func (r *Result) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, f string, a ...any) { fmt.Fprintf(tw, "  %s\t"+f+"\n", append([]any{k}, a...)...) }
	head := func(s string) { fmt.Fprintf(tw, "%s\n", s) }
	head(fmt.Sprintf("belfry bench: %s, %d streams over %d users, %d process(es)", r.Scenario, r.Streams, r.Users, r.Procs))
	if c := r.Connect; c != nil {
		head("connect")
		row("connected", "%d (failed %d)", c.Connected, c.Failed)
		row("time p50 / p99 / max", "%.1f / %.1f / %.1f ms", c.P50, c.P99, c.Max)
		row("all connected in", "%.0f ms", c.Total)
	}
	if p := r.Publish; p != nil {
		head("publish")
		row("requests", "%d ok, %d failed, %d notifications", p.OK, p.Failed, p.Notifications)
		row("rate", "%.0f requests/s, %.0f notifications/s over %.2f s", p.PerSec, p.NotifPerSec, p.Seconds)
		row("request p50 / p99 / max", "%.2f / %.2f / %.2f ms", p.P50, p.P99, p.Max)
	}
	if d := r.Delivery; d != nil {
		head("delivery")
		if d.PerSec > 0 {
			row("delivered", "%d of %d expected (%.0f/s)", d.Delivered, d.Expected, d.PerSec)
		} else {
			row("delivered", "%d of %d expected", d.Delivered, d.Expected)
		}
		row("lost / dup / unexpected", "%d / %d / %d", d.Lost, d.Dup, d.Unexpected)
		if d.Incomplete > 0 || d.Disconnects > 0 {
			row("incomplete streams / server disconnects", "%d / %d", d.Incomplete, d.Disconnects)
		}
		row("latency p50 / p90 / p99 / max", "%.2f / %.2f / %.2f / %.2f ms", d.P50, d.P90, d.P99, d.Max)
		if d.LastAfterReturnP50 != 0 || d.LastAfterReturnMax != 0 {
			row("last delivery after response p50 / max", "%.2f / %.2f ms", d.LastAfterReturnP50, d.LastAfterReturnMax)
		}
	}
	if s := r.Storm; s != nil {
		head("storm")
		row("missed per stream", "%d", s.Missed)
		row("reconnected", "%d (failed %d), connect p50 / p99 %.1f / %.1f ms", s.Reconnected, s.Failed, s.ConnectP50, s.ConnectP99)
		if s.CatchUp >= 0 {
			row("all caught up in", "%.0f ms", s.CatchUp)
		} else {
			row("all caught up in", "NOT ALL CAUGHT UP")
		}
	}
	if s := r.Server; s != nil {
		head(fmt.Sprintf("server (pid %d)", s.PID))
		if s.Note != "" {
			row("note", "%s", s.Note)
		}
		row("RSS before / after", "%s / %s", mib(s.RSSBefore), mib(s.RSSAfter))
		if s.RSSPerStream != 0 {
			row("RSS per stream", "%.0f B (%.2f KiB)", s.RSSPerStream, s.RSSPerStream/1024)
		}
		if s.Phase != "" {
			row("CPU ("+s.Phase+")", "%.2f s", s.CPU)
		}
		if s.CPUPerDelivery != 0 {
			row("CPU per delivery", "%.1f µs", s.CPUPerDelivery)
		}
	}
	if c := r.Client; c != nil {
		head("load generator")
		row("RSS", "%s (%.0f B per stream)", mib(c.RSS), c.RSSPerStream)
		row("CPU (whole run)", "%.2f s", c.CPU)
		if c.CPUPerDelivery != 0 {
			row("CPU per delivery", "%.1f µs (%.2f s, as the server's)", c.CPUPerDelivery, c.PhaseCPU)
		}
	}
	if f := r.Floor; f != nil {
		head("floor")
		row("sockets / writes / frame", "%d / %d / %d B", f.Sockets, f.Writes, f.FrameBytes)
		row("writer CPU per write", "%.2f µs", f.WriterCPUPerOp)
		row("process CPU per write", "%.2f µs (readers included)", f.ProcessCPUPerOp)
		row("wall per write", "%.2f µs", f.WallPerOp)
	}
	if len(r.Errors) > 0 {
		head("errors")
		for _, e := range r.Errors {
			row("-", "%s", strings.ReplaceAll(e, "\n", " "))
		}
	}
	tw.Flush()
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
