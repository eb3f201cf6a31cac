package belfry

import "context"

// Tracer records spans of the work belfry does: a publish from its HTTP
// request down to the fan-out, a stream's setup, each push and webhook
// attempt. A nil Tracer is off and costs nothing: StartSpan then returns
// the context unchanged and a Span that records nothing, without
// allocating. The otel package implements it with OpenTelemetry.
type Tracer interface {
	// Start begins a span named name, a child of the span ctx carries
	// (local, or remote from Continue), and returns ctx carrying it.
	Start(ctx context.Context, name string, kind SpanKind) (context.Context, Span)

	// Continue returns ctx carrying the caller's span read from the W3C
	// trace context headers (traceparent, tracestate) that header returns
	// by name; ctx unchanged when there is none or it is malformed.
	Continue(ctx context.Context, header func(name string) string) context.Context
}

// SpanKind says what side of a call a span is (OpenTelemetry's kinds).
type SpanKind uint8

const (
	SpanInternal SpanKind = iota // work inside belfry
	SpanServer                   // an incoming request (HTTP)
	SpanClient                   // an outgoing request (a push service, a webhook)
	SpanProducer                 // a message handed to the broker
	SpanConsumer                 // a message taken from the broker
)

// Span is one span being recorded. Its methods are not safe for
// concurrent use; End is called once.
type Span interface {
	// Recording reports whether attributes are kept: a caller skips
	// building costly ones when it is false.
	Recording() bool
	SetInt(key string, v int64)
	SetString(key, v string)
	SetInts(key string, v []int64)
	// End ends the span; a non-nil err marks it failed and is recorded.
	End(err error)
}

// StartSpan is t.Start when t is not nil; with a nil t it returns ctx and
// a Span that does nothing.
func StartSpan(ctx context.Context, t Tracer, name string, kind SpanKind) (context.Context, Span) {
	if t == nil {
		return ctx, NopSpan
	}
	return t.Start(ctx, name, kind)
}

// NopSpan records nothing.
var NopSpan Span = nopSpan{}

type nopSpan struct{}

func (nopSpan) Recording() bool          { return false }
func (nopSpan) SetInt(string, int64)     {}
func (nopSpan) SetString(string, string) {}
func (nopSpan) SetInts(string, []int64)  {}
func (nopSpan) End(error)                {}

// ContextReceiver is a Receiver that also takes the context of the
// publish that sent the message, so the fan-out shows in its trace. A
// Broker that delivers in the publisher's call (memory) uses it when the
// Receiver has it; one that crosses the network calls Receive.
type ContextReceiver interface {
	Receiver
	ReceiveContext(ctx context.Context, m Message)
}

// endAttempt ends the span of one push or webhook attempt with the job,
// its attempt number (1 for the first) and the answer's status (0 when
// there was none). A status other than 2xx fails the span.
func endAttempt(sp Span, j Job, status int, err error) {
	if !sp.Recording() {
		sp.End(err)
		return
	}
	sp.SetString("belfry.job.id", j.ID)
	sp.SetString("belfry.user_id", j.UserID)
	if j.NotificationID != 0 {
		sp.SetInt("belfry.notification_id", j.NotificationID)
	}
	sp.SetInt("belfry.attempt", int64(j.Attempts)+1)
	if status != 0 {
		sp.SetInt("http.response.status_code", int64(status))
	}
	if err == nil && (status < 200 || status > 299) {
		err = Errorf(EUNAVAILABLE, "answered %d", status)
	}
	sp.End(err)
}
