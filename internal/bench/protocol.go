package bench

import "encoding/json"

// The parent drives each worker with one command per JSON line on the
// worker's stdin; the worker answers every command with exactly one JSON
// line on its stdout, in order.

// command is a parent → worker line. Op is one of: init, open, drop,
// reconnect, expect, stats, close.
type command struct {
	Op string `json:"op"`

	// init
	Init *workerInit `json:"init,omitempty"`

	// expect: the user ids and, for each, the sequence numbers of every
	// acknowledged publish that named the user; the worker waits until
	// every stream has them all or DeadlineNS (unix nanos) passes.
	Expect     map[string][]int32 `json:"expect,omitempty"`
	DeadlineNS int64              `json:"deadline_ns,omitempty"`
}

// workerInit is what a worker needs to open its streams.
type workerInit struct {
	Addr          string       `json:"addr"`           // host:port to dial
	Sources       []string     `json:"sources"`        // local IPs to dial from, round robin; empty: any
	Streams       []streamSpec `json:"streams"`        // this worker's streams
	SyncEvent     string       `json:"sync_event"`     // a stream counts as connected when this event arrives; "" at the response head
	BufSize       int          `json:"buf_size"`       // read buffer per stream
	Conc          int          `json:"conc"`           // streams connecting at once (0: all)
	ReconnectConc int          `json:"reconnect_conc"` // streams reconnecting at once in a storm (0: all)
	Seqs          int          `json:"seqs"`           // sequence numbers used this run: 0..Seqs-1
	TimeoutNS     int64        `json:"timeout_ns"`     // bound on one connect
}

// streamSpec is one stream: its user and its request head (request line
// and headers, each ending in CRLF, without the blank line, so the worker
// can add Last-Event-ID).
type streamSpec struct {
	User string `json:"u"`
	Head string `json:"h"`
}

// reply is a worker → parent line.
type reply struct {
	Op    string `json:"op"` // the command answered
	Error string `json:"error,omitempty"`

	// open, reconnect
	Connected int       `json:"connected,omitempty"`
	Failed    int       `json:"failed,omitempty"`
	Connect   *histJSON `json:"connect,omitempty"`
	FirstNS   int64     `json:"first_ns,omitempty"` // first dial started
	LastNS    int64     `json:"last_ns,omitempty"`  // last stream connected
	Errors    []string  `json:"errors,omitempty"`   // the first few distinct errors

	// expect
	Report *workerReport `json:"report,omitempty"`

	RSS int64 `json:"rss,omitempty"` // the worker's own resident memory
	CPU int64 `json:"cpu,omitempty"` // the worker's own CPU time so far, ns
}

// workerReport is what a worker's streams received.
type workerReport struct {
	Delivered   int64     `json:"delivered"`   // events carrying a seq
	Expected    int64     `json:"expected"`    // (stream, seq) pairs expected
	Lost        int64     `json:"lost"`        // expected, never received
	Dup         int64     `json:"dup"`         // received more than once on a stream
	Unexpected  int64     `json:"unexpected"`  // received, not expected (a publish that failed yet was stored)
	Incomplete  int       `json:"incomplete"`  // streams still missing something at the deadline
	Latency     *histJSON `json:"latency"`     // publish → deliver, live events only
	FirstNS     int64     `json:"first_ns"`    // first delivery
	LastNS      int64     `json:"last_ns"`     // last delivery
	CompleteNS  int64     `json:"complete_ns"` // when the last stream got the last thing it missed
	SeqLastNS   []int64   `json:"seq_last_ns"` // per seq: its last delivery (0: none)
	Disconnects int64     `json:"disconnects"` // streams the server ended, reconnected
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs are encoded
	}
	return b
}
