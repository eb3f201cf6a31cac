package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver: it decodes each export
// request (protobuf, gzip or not) and keeps its spans and resources.
type otlpReceiver struct {
	mu        sync.Mutex
	spans     []*tracepb.Span
	resources [][]*commonpb.KeyValue
	bad       []string
}

func (rc *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	var req collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &req)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" ||
		r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
		rc.bad = append(rc.bad, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+strconv.Quote(errString(err)))
		http.Error(w, "bad export", 400)
		return
	}
	for _, rs := range req.ResourceSpans {
		rc.resources = append(rc.resources, rs.GetResource().GetAttributes())
		for _, ss := range rs.ScopeSpans {
			rc.spans = append(rc.spans, ss.Spans...)
		}
	}
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestServeTracing runs belfry serve with --otlp-endpoint pointing at a
// receiver in the test, publishes with the app's traceparent to a user
// with an open stream, marks it read (a webhook), and checks the spans
// that arrive: the publish tree continues the app's trace, and the
// stream's setup and the webhook attempt are there with their status.
func TestServeTracing(t *testing.T) {
	rc := &otlpReceiver{}
	collector := httptest.NewServer(rc)
	defer collector.Close()
	hooked := make(chan struct{}, 10)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
		hooked <- struct{}{}
	}))
	defer app.Close()

	s := startServer(t, t.TempDir(), "--otlp-endpoint", collector.URL,
		"--webhook-url", app.URL+"/hooks", "--webhook-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	token := mustToken(t, "alice")
	events := openStream(t, ctx, s.url, token, "")
	waitEvent(t, events, "sync")

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/api/notifications",
		strings.NewReader(`{"user_ids":["alice","bob"],"message":"Traced"}`))
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
	id, _, _ := decodeNotification(t, waitEvent(t, events, "new-notification").Data)
	read, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/notifications/"+strconv.FormatInt(id, 10)+"/read", nil)
	read.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(read); err != nil || resp.StatusCode != 200 {
		t.Fatalf("read: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	select {
	case <-hooked:
	case <-ctx.Done():
		t.Fatal("no webhook")
	}
	// The app answered; its attempt's span has ended once belfry counts
	// it sent.
	for !strings.Contains(get(t, ctx, s.url+"/metrics"), `belfry_webhook_deliveries_total{result="sent"} 1`) {
		select {
		case <-ctx.Done():
			t.Fatal("the webhook was not counted sent")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	waitStreamEnd(t, events)
	s.shutdown(t) // the Tracer's Shutdown sends the last batch

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		t.Fatalf("bad export requests: %q", rc.bad)
	}
	byName := map[string][]*tracepb.Span{}
	for _, sp := range rc.spans {
		byName[sp.Name] = append(byName[sp.Name], sp)
	}
	one := func(name string) *tracepb.Span {
		t.Helper()
		if len(byName[name]) != 1 {
			t.Fatalf("%d spans named %q; got %d spans: %v", len(byName[name]), name, len(rc.spans), names(rc.spans))
		}
		return byName[name][0]
	}
	childOf := func(child, parent *tracepb.Span) {
		t.Helper()
		if !bytes.Equal(child.TraceId, parent.TraceId) || !bytes.Equal(child.ParentSpanId, parent.SpanId) {
			t.Errorf("%s is not a child of %s", child.Name, parent.Name)
		}
	}

	httpSpan := one("POST /api/notifications")
	if hex.EncodeToString(httpSpan.TraceId) != traceID || hex.EncodeToString(httpSpan.ParentSpanId) != parentID {
		t.Errorf("the HTTP span does not continue the traceparent: trace %x parent %x", httpSpan.TraceId, httpSpan.ParentSpanId)
	}
	if httpSpan.Kind != tracepb.Span_SPAN_KIND_SERVER || intAttr(httpSpan, "http.response.status_code") != 201 ||
		strAttr(httpSpan, "http.route") != "/api/notifications" {
		t.Errorf("HTTP span: %v", httpSpan)
	}
	publish := one("belfry.publish")
	childOf(publish, httpSpan)
	if intAttr(publish, "belfry.users") != 2 || len(intsAttr(publish, "belfry.notification_ids")) != 2 ||
		!slices.Contains(intsAttr(publish, "belfry.notification_ids"), id) {
		t.Errorf("publish span: %v", publish.Attributes)
	}
	store := one("store.publish")
	childOf(store, publish)
	if intAttr(store, "belfry.notifications") != 2 {
		t.Errorf("store span: %v", store.Attributes)
	}
	broker := one("broker.publish")
	childOf(broker, publish)
	if broker.Kind != tracepb.Span_SPAN_KIND_PRODUCER || intAttr(broker, "belfry.events") != 2 {
		t.Errorf("broker span: %v", broker)
	}
	// Only alice has a stream on the node: the broker delivers hers, the
	// new notification in the publish's trace and then the read-state of
	// the read (a trace of its own: reads have no HTTP span).
	fanouts := byName["hub.fanout"]
	if len(fanouts) != 2 {
		t.Fatalf("%d hub.fanout spans, want 2", len(fanouts))
	}
	fanout := fanouts[0]
	if !bytes.Equal(fanout.TraceId, httpSpan.TraceId) {
		fanout = fanouts[1]
	}
	childOf(fanout, broker)
	if strAttr(fanout, "belfry.event") != "new-notification" {
		t.Errorf("fan-out span: %v", fanout.Attributes)
	}
	if strAttr(fanout, "belfry.user_id") != "alice" || intAttr(fanout, "belfry.streams") != 1 ||
		intAttr(fanout, "belfry.notification_id") != id {
		t.Errorf("fan-out span: %v", fanout.Attributes)
	}

	stream := one("GET /notifications/stream")
	if stream.Kind != tracepb.Span_SPAN_KIND_SERVER || strAttr(stream, "belfry.user_id") != "alice" ||
		bytes.Equal(stream.TraceId, httpSpan.TraceId) || len(stream.ParentSpanId) != 0 {
		t.Errorf("stream setup span: %v", stream)
	}
	if stream.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("stream setup failed: %v", stream.Status)
	}

	// The read's webhook, answered 204 (others, such as presence events,
	// may be cut short by the shutdown).
	i := slices.IndexFunc(byName["webhook.deliver"], func(s *tracepb.Span) bool {
		return intAttr(s, "http.response.status_code") == 204
	})
	if i < 0 {
		t.Fatalf("no webhook.deliver span with status 204: %v", byName["webhook.deliver"])
	}
	if h := byName["webhook.deliver"][i]; h.Kind != tracepb.Span_SPAN_KIND_CLIENT || intAttr(h, "http.response.status_code") != 204 ||
		intAttr(h, "belfry.attempt") != 1 || strAttr(h, "belfry.user_id") != "alice" ||
		h.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("webhook span: %v", h)
	}

	for _, attrs := range rc.resources {
		var name, version string
		for _, kv := range attrs {
			switch kv.Key {
			case "service.name":
				name = kv.Value.GetStringValue()
			case "service.version":
				version = kv.Value.GetStringValue()
			}
		}
		if name != "belfry" || version == "" {
			t.Errorf("resource: service.name %q, service.version %q", name, version)
		}
	}
}

func get(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func names(spans []*tracepb.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func attr(s *tracepb.Span, key string) *commonpb.AnyValue {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

func intAttr(s *tracepb.Span, key string) int64  { return attr(s, key).GetIntValue() }
func strAttr(s *tracepb.Span, key string) string { return attr(s, key).GetStringValue() }

func intsAttr(s *tracepb.Span, key string) []int64 {
	var out []int64
	for _, v := range attr(s, key).GetArrayValue().GetValues() {
		out = append(out, v.GetIntValue())
	}
	return out
}

// TestServeTracingOff: without --otlp-endpoint there is no Tracer; a bad
// endpoint is refused with the flag's name.
func TestServeTracingFlag(t *testing.T) {
	m := NewMain()
	m.Stderr = io.Discard
	if err := m.ParseFlags([]string{"--jwt-secret", testSecret, "--api-key", testAPIKey}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if tr, _, err := m.Tracing.open(nil); tr != nil || err != nil {
		t.Fatalf("tracing on without an endpoint: %v %v", tr, err)
	}
	for _, bad := range []string{"localhost:4318", "grpc://collector:4317", "http://"} {
		m := NewMain()
		m.Stderr = io.Discard
		err := m.ParseFlags([]string{"--jwt-secret", testSecret, "--api-key", testAPIKey, "--otlp-endpoint", bad},
			func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), "--otlp-endpoint") {
			t.Errorf("--otlp-endpoint %q: %v, want an error naming the flag", bad, err)
		}
	}
}
