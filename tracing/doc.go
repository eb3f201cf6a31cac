// Package tracing records belfry's spans with OpenTelemetry and exports
// them over OTLP/HTTP (protobuf) to a collector: belfry serve
// --otlp-endpoint. It implements belfry.Tracer; the rest of belfry sees
// only that interface, and runs with a nil one (no tracing, no cost) when
// no endpoint is given.
package tracing
