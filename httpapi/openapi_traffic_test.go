package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// reqValidity is what the spec must say of a request the test sends.
type reqValidity int

const (
	reqValid   reqValidity = iota // the spec accepts it
	reqInvalid                    // the spec refuses it (and so does the server)
	reqOutside                    // a rule the spec does not express (a time in the past…)
)

type validityKey struct{}

// withValidity marks a request the spec must refuse, or cannot judge.
func withValidity(v reqValidity) reqOpt {
	return func(r *http.Request) { *r = *r.WithContext(context.WithValue(r.Context(), validityKey{}, v)) }
}

var registerDecoders = sync.OnceFunc(func() {
	text := func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		return string(b), err
	}
	for _, ct := range []string{"text/event-stream", "text/html", "text/javascript", "application/typescript",
		"text/css", "application/openmetrics-text", "image/svg+xml"} {
		openapi3filter.RegisterBodyDecoder(ct, text)
	}
})

// specValidator is an http.RoundTripper that checks every request and
// every answer against the OpenAPI description with kin-openapi, an
// independent validator, and records which operation answered which
// status. A stream's answer is checked on its status and headers (its
// events are checked by the test as they arrive).
type specValidator struct {
	t      testing.TB
	doc    *openapi3.T
	router routers.Router
	base   http.RoundTripper

	mu   sync.Mutex
	seen map[string]map[int]bool // "GET /notifications" → statuses
}

func newSpecValidator(t testing.TB, doc *openapi3.T, base http.RoundTripper) *specValidator {
	registerDecoders()
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &specValidator{t: t, doc: doc, router: r, base: base, seen: map[string]map[int]bool{}}
}

// credentialPresent checks that a request carries the credential a
// security scheme names; belfry itself decides whether it is good.
func credentialPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r, s := in.RequestValidationInput.Request, in.SecurityScheme
	switch {
	case s.Type == "http":
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			return nil
		}
	case s.Type == "apiKey" && s.In == "header":
		if r.Header.Get(s.Name) != "" {
			return nil
		}
	case s.Type == "apiKey" && s.In == "cookie":
		if _, err := r.Cookie(s.Name); err == nil {
			return nil
		}
	case s.Type == "apiKey" && s.In == "query":
		if r.URL.Query().Get(s.Name) != "" {
			return nil
		}
	}
	return fmt.Errorf("no %s credential", in.SecuritySchemeName)
}

func (v *specValidator) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	withBody := func() *http.Request {
		c := req.Clone(req.Context())
		if req.Body != nil {
			c.Body = io.NopCloser(bytes.NewReader(body))
		}
		return c
	}
	what := req.Method + " " + req.URL.RequestURI()
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		v.t.Errorf("%s: no operation in the spec: %v", what, err)
		return v.base.RoundTrip(withBody())
	}
	opts := &openapi3filter.Options{AuthenticationFunc: credentialPresent, MultiError: true,
		IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: withBody(), PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(req.Context(), in)
	validity, _ := req.Context().Value(validityKey{}).(reqValidity)
	switch {
	case validity == reqValid && reqErr != nil:
		v.t.Errorf("%s: the spec refuses the request: %v", what, reqErr)
	case validity == reqInvalid && reqErr == nil:
		v.t.Errorf("%s: the spec accepts a request it should refuse", what)
	}

	resp, err := v.base.RoundTrip(withBody())
	if err != nil {
		return nil, err
	}
	key := route.Method + " " + route.Path
	v.mu.Lock()
	if v.seen[key] == nil {
		v.seen[key] = map[int]bool{}
	}
	v.seen[key][resp.StatusCode] = true
	v.mu.Unlock()

	var respBody []byte
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		respBody, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(respBody))
	}
	in.Request = withBody()
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.t.Errorf("%s: answer %d does not match the spec: %v\nbody: %.500s", what, resp.StatusCode, err, respBody)
	}
	return resp, nil
}

// checkEvent validates a stream event's data against a component schema.
func (v *specValidator) checkEvent(t *testing.T, ev sseEvent, schema string) {
	t.Helper()
	s := v.doc.Components.Schemas[schema]
	if s == nil {
		t.Fatalf("no schema %s in the spec", schema)
	}
	data, err := openapi3filter.JSONBodyDecoder(strings.NewReader(ev.data), nil, s, nil)
	if err != nil {
		t.Fatalf("%s event: %v", ev.name, err)
	}
	if err := s.Value.VisitJSON(data, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		t.Errorf("%s event does not match %s: %v\ndata: %s", ev.name, schema, err, ev.data)
	}
}

// uncovered lists the spec's operations that never answered with a
// success (2xx), except those in skip.
func (v *specValidator) uncovered(skip map[string]bool) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for path, item := range v.doc.Paths.Map() {
		for method := range item.Operations() {
			key := method + " " + path
			ok := false
			for status := range v.seen[key] {
				// 303 is a form post's success (the operator page).
				ok = ok || (status >= 200 && status < 300) || status == http.StatusSeeOther
			}
			if !ok && !skip[pathShape(path)] {
				out = append(out, key)
			}
		}
	}
	sort.Strings(out)
	return out
}

// validatedEnv starts an env whose client checks all its traffic against
// the description the server serves at GET /openapi.json.
func validatedEnv(t *testing.T, o envOpts) (*env, *specValidator) {
	t.Helper()
	e := newEnv(t, o)
	r := e.do("GET", "/openapi.json")
	if r.status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", r.status)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.body)
	if err != nil {
		t.Fatalf("loading /openapi.json: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("/openapi.json is not a valid OpenAPI document: %v", err)
	}
	v := newSpecValidator(t, doc, e.client.Transport)
	e.client = &http.Client{Transport: v}
	return e, v
}
