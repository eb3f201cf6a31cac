package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/mongodb"
	"github.com/belfry/belfry/postgres"
	"github.com/belfry/belfry/redisbus"
	"github.com/belfry/belfry/sqlite"
)

// This file is the one place that maps --store and --broker URLs to the
// packages that implement them. To add one, add a case (and a line to
// storeSchemes or brokerSchemes, which the error messages and -h show).

const (
	storeSchemes  = "sqlite:FILE, postgres://…, mongodb://…"
	brokerSchemes = "memory, redis://…"
)

// openStore opens the store named by u:
//
//	sqlite:FILE, sqlite:///abs/FILE    the embedded default (package sqlite)
//	postgres://…, postgresql://…       PostgreSQL (package postgres; pgx URL parameters apply)
//	mongodb://…, mongodb+srv://…       MongoDB or FerretDB (package mongodb; the database is the URI's path, default belfry)
//
// commitInterval is sqlite.Config.CommitInterval; the other stores have no
// such setting and refuse one above zero.
func openStore(ctx context.Context, u string, commitInterval time.Duration, log *slog.Logger) (belfry.Store, error) {
	var (
		s   belfry.Store
		err error
	)
	scheme := schemeOf(u)
	if commitInterval != 0 && scheme != "sqlite" {
		return nil, fmt.Errorf("--commit-interval applies to the sqlite store only")
	}
	// Each case assigns only on success, so a failed Open never leaves a
	// typed nil inside the interface.
	switch scheme {
	case "sqlite":
		var path string
		if path, err = sqlite.ParseDSN(u); err == nil {
			var st *sqlite.Store
			if st, err = sqlite.OpenConfig(ctx, sqlite.Config{Path: path, CommitInterval: commitInterval}); err == nil {
				s = st
			}
		}
	case "postgres", "postgresql":
		var st *postgres.Store
		if st, err = postgres.Open(ctx, u); err == nil {
			s = st
		}
	case "mongodb", "mongodb+srv":
		var st *mongodb.Store
		if st, err = mongodb.Open(ctx, u); err == nil {
			s = st
		}
	default:
		err = fmt.Errorf("unknown store %q (known: %s)", redactURL(u), storeSchemes)
	}
	return s, err
}

// openBroker opens the broker named by u:
//
//	memory                             one node, in process (the default)
//	redis://…, rediss://…, unix://…    Redis pub/sub, for several nodes (package redisbus);
//	                                   prefix names the channels of this deployment
func openBroker(ctx context.Context, u, prefix string, log *slog.Logger) (belfry.Broker, error) {
	switch schemeOf(u) {
	case "memory":
		return memory.New(), nil
	case "redis", "rediss", "unix":
		b, err := redisbus.Open(ctx, u, redisbus.Options{Prefix: prefix, Logger: log})
		if err != nil {
			return nil, err // not a typed nil inside the interface
		}
		return b, nil
	}
	return nil, fmt.Errorf("unknown broker %q (known: %s)", redactURL(u), brokerSchemes)
}

// schemeOf returns the lower-cased scheme of a URL: "sqlite" for
// "sqlite:x.db", "postgres" for "postgres://…"; a bare word such as
// "memory" is all scheme.
func schemeOf(u string) string {
	scheme, _, _ := strings.Cut(u, ":")
	return strings.ToLower(scheme)
}

// The Hub catches a user's streams up once Redis confirms the user's
// subscription: a notification published just before that is not late.
var _ redisbus.UserResyncer = (*hub.Hub)(nil)
