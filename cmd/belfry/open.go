package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/sqlite"
)

// This file is the one place that maps --store and --broker URLs to the
// packages that implement them. To add one, add a case.

// openStore opens the store named by u:
//
//	sqlite:FILE (or sqlite://FILE)    the embedded default
func openStore(ctx context.Context, u string, log *slog.Logger) (belfry.Store, error) {
	scheme := schemeOf(u)
	switch scheme {
	case "sqlite":
		path, err := sqlite.ParseDSN(u)
		if err != nil {
			return nil, err
		}
		return sqlite.Open(ctx, path)
	}
	return nil, fmt.Errorf("unknown store %q (known: sqlite:FILE)", scheme)
}

// openBroker opens the broker named by u:
//
//	memory                            one node, in process (the default)
func openBroker(ctx context.Context, u string, log *slog.Logger) (belfry.Broker, error) {
	scheme := schemeOf(u)
	switch scheme {
	case "memory":
		return &tmpBroker{}, nil
	}
	return nil, fmt.Errorf("unknown broker %q (known: memory)", scheme)
}

// schemeOf returns the lower-cased scheme of a URL: "sqlite" for
// "sqlite:x.db", "postgres" for "postgres://…"; a bare word such as
// "memory" is all scheme.
func schemeOf(u string) string {
	scheme, _, _ := strings.Cut(u, ":")
	return strings.ToLower(scheme)
}
