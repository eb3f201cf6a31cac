package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// pool is the parent's side of the workers: one command to each, one reply
// from each.
type pool struct {
	ws []*workerConn
}

type workerConn struct {
	in io.WriteCloser
	// replies carries the worker's answers, decoded by a goroutine that
	// always reads: a worker blocked writing to a synchronous pipe would
	// otherwise never read its next command.
	replies chan reply
	wait    func() error // waits for the worker to end
	kill    func()       // ends the worker now
}

// startPool starts n workers: in-process when n is 1 and no command is
// forced, else n processes of argv. Errors: a process could not start.
func startPool(ctx context.Context, n int, argv []string, stderr io.Writer) (*pool, error) {
	p := &pool{}
	if n == 1 && len(argv) == 0 {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := RunWorker(ctx, inR, outW)
			outW.CloseWithError(errors.Join(err, io.EOF))
			inR.Close()
			done <- err
		}()
		p.ws = append(p.ws, &workerConn{in: inW, replies: readReplies(outR),
			wait: func() error { return <-done },
			kill: func() { outR.CloseWithError(io.ErrClosedPipe) }})
		return p, nil
	}
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		argv = []string{exe, "bench", "--worker"}
	}
	for range n {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stderr = stderr
		cmd.WaitDelay = 5 * time.Second
		in, err := cmd.StdinPipe()
		if err != nil {
			p.close()
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			p.close()
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			p.close()
			return nil, fmt.Errorf("starting a worker process (%s): %w", argv[0], err)
		}
		p.ws = append(p.ws, &workerConn{in: in, replies: readReplies(bufio.NewReaderSize(out, 64<<10)),
			wait: cmd.Wait, kill: func() { _ = cmd.Process.Kill() }})
	}
	return p, nil
}

// call sends cmds[i] to worker i (cmds of length 1: the same to all) and
// returns their replies. Errors: a worker failed or answered an error.
func (p *pool) call(cmds ...command) ([]reply, error) {
	out := make([]reply, len(p.ws))
	errs := make([]error, len(p.ws))
	var wg sync.WaitGroup
	for i, w := range p.ws {
		c := cmds[0]
		if len(cmds) > 1 {
			c = cmds[i]
		}
		wg.Go(func() {
			line := append(mustJSON(c), '\n')
			if _, err := w.in.Write(line); err != nil {
				errs[i] = fmt.Errorf("worker %d: %w", i, err)
				return
			}
			rep, ok := <-w.replies
			if !ok {
				errs[i] = fmt.Errorf("worker %d (%s): the worker ended", i, c.Op)
				return
			}
			out[i] = rep
			if out[i].Error != "" {
				errs[i] = fmt.Errorf("worker %d (%s): %s", i, c.Op, out[i].Error)
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// readReplies decodes replies from r until it fails, then closes the
// channel.
func readReplies(r io.Reader) chan reply {
	ch := make(chan reply, 4)
	go func() {
		defer close(ch)
		dec := json.NewDecoder(r)
		for {
			var rep reply
			if err := dec.Decode(&rep); err != nil {
				return
			}
			ch <- rep
		}
	}()
	return ch
}

// close tells every worker to close its streams and exit, and waits.
func (p *pool) close() {
	if len(p.ws) == 0 {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = p.call(command{Op: "close"})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		for _, w := range p.ws {
			w.kill()
		}
	}
	for _, w := range p.ws {
		w.in.Close()
		w.kill() // it answered close, or it never will
		_ = w.wait()
	}
	p.ws = nil
}
