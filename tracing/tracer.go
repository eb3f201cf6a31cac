package tracing

import (
	"context"
	"errors"
	"net/url"

	"github.com/belfry/belfry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the service.name of belfry's spans.
const ServiceName = "belfry"

// Config configures a Tracer.
type Config struct {
	// Endpoint is the collector's OTLP/HTTP URL (http or https). One
	// without a path (http://collector:4318) gets /v1/traces, as
	// OTEL_EXPORTER_OTLP_ENDPOINT does; one with a path is used as is.
	// Required. Headers, timeout and compression follow the
	// OTEL_EXPORTER_OTLP_* environment variables.
	Endpoint string
	// Version is the service.version resource attribute ("" leaves it
	// out).
	Version string
}

// Tracer is a belfry.Tracer that batches spans and sends them to an OTLP
// collector. It is safe for concurrent use. Shutdown sends what is left.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TraceContext
}

var _ belfry.Tracer = (*Tracer)(nil)

// New returns a Tracer exporting to cfg.Endpoint. Nothing is sent until
// the first batch of spans; an unreachable collector costs dropped spans
// and a logged error (OpenTelemetry's error handler), never a request.
// Errors: EINVALID (the endpoint is not an http or https URL).
func New(cfg Config) (*Tracer, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, belfry.Errorf(belfry.EINVALID, "the OTLP endpoint must be an http:// or https:// URL, such as http://localhost:4318; got %q", cfg.Endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(u.String()))
	if err != nil { // only from options, which are checked above
		return nil, &belfry.Error{Code: belfry.EINVALID, Message: "OTLP exporter", Err: err}
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", ServiceName)}
	if cfg.Version != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.Version))
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attrs...))
	if err != nil { // conflicting schema URLs: keep ours alone
		res = resource.NewSchemaless(attrs...)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracer{provider: tp, tracer: tp.Tracer("github.com/belfry/belfry")}, nil
}

// Start begins a span; see belfry.Tracer.
func (t *Tracer) Start(ctx context.Context, name string, kind belfry.SpanKind) (context.Context, belfry.Span) {
	ctx, s := t.tracer.Start(ctx, name, trace.WithSpanKind(spanKind(kind)))
	return ctx, &span{s: s}
}

// Continue reads the W3C traceparent and tracestate headers; see
// belfry.Tracer.
func (t *Tracer) Continue(ctx context.Context, header func(string) string) context.Context {
	return t.prop.Extract(ctx, headerCarrier(header))
}

// ForceFlush sends the spans ended so far. Errors: the exporter's.
func (t *Tracer) ForceFlush(ctx context.Context) error { return t.provider.ForceFlush(ctx) }

// Shutdown sends the spans ended so far and stops the Tracer: later spans
// are not recorded. Errors: the exporter's, or ctx's when it ends first.
func (t *Tracer) Shutdown(ctx context.Context) error { return t.provider.Shutdown(ctx) }

func spanKind(k belfry.SpanKind) trace.SpanKind {
	switch k {
	case belfry.SpanServer:
		return trace.SpanKindServer
	case belfry.SpanClient:
		return trace.SpanKindClient
	case belfry.SpanProducer:
		return trace.SpanKindProducer
	case belfry.SpanConsumer:
		return trace.SpanKindConsumer
	}
	return trace.SpanKindInternal
}

// span adapts an OpenTelemetry span to belfry.Span.
type span struct{ s trace.Span }

func (s *span) Recording() bool               { return s.s.IsRecording() }
func (s *span) SetInt(key string, v int64)    { s.s.SetAttributes(attribute.Int64(key, v)) }
func (s *span) SetString(key, v string)       { s.s.SetAttributes(attribute.String(key, v)) }
func (s *span) SetInts(key string, v []int64) { s.s.SetAttributes(attribute.Int64Slice(key, v)) }

// End marks the span failed with err's message when err is not nil. A
// belfry error keeps its code as the error.type attribute.
func (s *span) End(err error) {
	if err != nil {
		var be *belfry.Error
		if errors.As(err, &be) {
			s.s.SetAttributes(attribute.String("error.type", be.Code))
		}
		s.s.SetStatus(codes.Error, err.Error())
	}
	s.s.End()
}

// headerCarrier reads request headers for the propagator.
type headerCarrier func(string) string

func (h headerCarrier) Get(key string) string { return h(key) }
func (h headerCarrier) Set(string, string)    {}

// Keys is only used by propagators that list the carrier's keys (not the
// W3C trace context one).
func (h headerCarrier) Keys() []string { return nil }
