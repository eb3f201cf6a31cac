// Command ferretdb starts an embedded FerretDB (a MongoDB wire-protocol
// server) for belfry's MongoDB store tests and benchmarks, on one of
// FerretDB's two backends: SQLite files (the default) or PostgreSQL.
//
// It prints the server's mongodb:// URI on one line to stdout once the
// listener is open, logs to stderr, and stops on SIGINT or SIGTERM.
//
//	ferretdb -listen 127.0.0.1:0 -dir /tmp/ferretdb
//	ferretdb -listen 127.0.0.1:0 -postgresql 'postgres://postgres@127.0.0.1:5432/ferretdb'
//
// With neither -dir nor -postgresql it uses a fresh temporary directory
// for SQLite and removes it on exit. With -postgresql, FerretDB keeps each
// MongoDB database as a PostgreSQL schema of that database (which must
// exist).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on (port 0 picks a free port)")
	dir := flag.String("dir", "", "directory for the SQLite files (default: a temporary directory removed on exit)")
	pg := flag.String("postgresql", "", "PostgreSQL `URL`: store the data there instead of in SQLite files")
	verbose := flag.Bool("v", false, "log every FerretDB message (default: errors only; FerretDB warns about every endSessions the Go driver sends)")
	flag.Parse()

	if *pg != "" && *dir != "" {
		return fmt.Errorf("give -dir (SQLite) or -postgresql, not both")
	}
	if *dir == "" && *pg == "" {
		tmp, err := os.MkdirTemp("", "belfry-ferretdb-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	} else if *dir != "" {
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			return err
		}
	}

	level := slog.LevelError
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	cfg := &ferretdb.Config{Listener: ferretdb.ListenerConfig{TCP: *listen}, Logger: logger,
		Handler: "sqlite", SQLiteURL: "file:" + *dir + "/"}
	if *pg != "" {
		cfg.Handler, cfg.SQLiteURL, cfg.PostgreSQLURL = "postgresql", "", *pg
	}
	f, err := ferretdb.New(cfg)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// The listener is open once New returns, so the URI is usable now.
	fmt.Println(f.MongoDBURI())

	return <-done
}
