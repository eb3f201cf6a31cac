package main

import (
	"context"
	"flag"
	"log/slog"
	"net/url"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/tracing"
)

// TracingFlags are serve's OpenTelemetry settings (docs/operations.md,
// "Tracing"). Tracing is off without an endpoint.
type TracingFlags struct {
	// OTLPEndpoint is the collector's OTLP/HTTP URL; "" turns tracing off.
	OTLPEndpoint string
}

func (f *TracingFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.OTLPEndpoint, "otlp-endpoint", f.OTLPEndpoint, "send OpenTelemetry traces over OTLP/HTTP to this collector `URL` (http://localhost:4318; /v1/traces is added to a URL without a path); default off")
}

func (f *TracingFlags) check() error {
	if f.OTLPEndpoint == "" {
		return nil
	}
	u, err := url.Parse(f.OTLPEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return belfry.Errorf(belfry.EINVALID, "--otlp-endpoint must be an http:// or https:// URL, such as http://localhost:4318")
	}
	return nil
}

// open returns the Tracer (nil when tracing is off) and the function that
// sends its last spans, bounded by two seconds, when the server is down.
func (f *TracingFlags) open(log *slog.Logger) (belfry.Tracer, func(), error) {
	if f.OTLPEndpoint == "" {
		return nil, func() {}, nil
	}
	t, err := tracing.New(tracing.Config{Endpoint: f.OTLPEndpoint, Version: version()})
	if err != nil {
		return nil, nil, err
	}
	log.Info("tracing on", "otlp_endpoint", redactURL(f.OTLPEndpoint))
	return t, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := t.Shutdown(ctx); err != nil {
			log.Warn("sending the last spans failed", "err", err)
		}
	}, nil
}
