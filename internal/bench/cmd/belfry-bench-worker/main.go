// Command belfry-bench-worker is `belfry bench` as a binary of its own: a
// load generator that does not need the server's binary. Run it with the
// flags of `belfry bench`. It starts its worker processes as itself with
// the arguments "bench --worker", like belfry does.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/belfry/belfry/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "bench" { // how a parent starts its workers
		args = args[1:]
	}
	code := bench.Main(ctx, args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
