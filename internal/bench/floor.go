package bench

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belfry/belfry/internal/cputime"
)

// runFloor measures the kernel floor of fan-out: one goroutine, locked to
// its thread, writes one pre-encoded frame to each of Streams loopback
// sockets, Rounds times; a reader per socket drains the other end. On
// loopback the writer's thread also pays the receiver's TCP work, as a
// server's does. Between rounds the writer waits until every byte was
// read, so no socket buffer fills.
func runFloor(ctx context.Context, cfg *Config) (*Result, error) {
	n := cfg.Streams
	if n > 9000 {
		return nil, &UsageError{fmt.Errorf("floor holds both ends of every socket in one process: at most 9000 --streams")}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	servers := make([]net.Conn, 0, n)
	clients := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range servers {
			c.Close()
		}
		for _, c := range clients {
			c.Close()
		}
	}()
	accepted := make(chan net.Conn, n)
	go func() {
		for range n {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	var d net.Dialer
	for i := range n {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%16))}
		c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			return nil, fmt.Errorf("floor: dialing socket %d: %w", i, err)
		}
		clients = append(clients, c)
		s, ok := <-accepted
		if !ok {
			return nil, fmt.Errorf("floor: accept failed")
		}
		servers = append(servers, s)
	}

	frame := floorFrame(cfg.FrameBytes)
	var (
		read   atomic.Int64
		target atomic.Int64
		wake   = make(chan struct{}, 1)
		wg     sync.WaitGroup
	)
	for _, c := range clients {
		wg.Go(func() {
			buf := make([]byte, 4096)
			for {
				k, err := c.Read(buf)
				if k > 0 {
					if t := read.Add(int64(k)); t == target.Load() {
						select {
						case wake <- struct{}{}:
						default:
						}
					}
				}
				if err != nil {
					return
				}
			}
		})
	}

	type cpu struct{ thread, proc time.Duration }
	res := make(chan struct {
		c      cpu
		wall   time.Duration
		writes int
		err    error
	}, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var out struct {
			c      cpu
			wall   time.Duration
			writes int
			err    error
		}
		t0, p0 := threadCPU(), cputime.Process()
		start := time.Now()
	rounds:
		for round := range cfg.Rounds {
			target.Store(int64((round + 1) * n * len(frame)))
			for _, s := range servers {
				if _, err := s.Write(frame); err != nil {
					out.err = err
					break rounds
				}
				out.writes++
			}
			for read.Load() < target.Load() {
				select {
				case <-wake:
				case <-ctx.Done():
					out.err = ctx.Err()
					break rounds
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
		out.wall = time.Since(start)
		out.c = cpu{threadCPU() - t0, cputime.Process() - p0}
		res <- out
	}()
	out := <-res
	for _, c := range clients {
		c.Close()
	}
	wg.Wait()
	if out.err != nil {
		return nil, out.err
	}
	w := float64(out.writes)
	return &Result{Scenario: "floor", StartedAt: time.Now().UTC(), Streams: n, Procs: 1,
		Floor: &FloorResult{Sockets: n, Writes: out.writes, FrameBytes: len(frame),
			WriterCPUPerOp:  float64(out.c.thread) / 1e3 / w,
			ProcessCPUPerOp: float64(out.c.proc) / 1e3 / w,
			WallPerOp:       float64(out.wall) / 1e3 / w}}, nil
}

// floorFrame is a new-notification event of about size bytes, as belfry
// sends it.
func floorFrame(size int) []byte {
	head := "id: 123456\nevent: new-notification\ndata: " +
		`{"id":123456,"user_id":"user-42","message":"`
	tail := `","title":null,"link":null,"category":null,"data":null,"read_at":null,"created_at":"2026-11-23T17:42:24.123Z"}` + "\n\n"
	pad := max(size-len(head)-len(tail), 1)
	return []byte(head + strings.Repeat("x", pad) + tail)
}
