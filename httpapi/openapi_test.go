package httpapi_test

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"
)

// specPath is the source of the description; the server embeds its JSON
// form (httpapi/openapi.json, written by go generate).
const specPath = "../docs/openapi.yaml"

// pusherPaths are the spec's paths that may have no route here: the
// Pusher-compatible endpoints, registered only by a build that has them.
var pusherPaths = map[string]bool{
	"/apps/{}/events":       true,
	"/apps/{}/batch_events": true,
}

// loadSpec loads docs/openapi.yaml and checks that it is a valid OpenAPI
// document.
func loadSpec(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(specPath)
	if err != nil {
		t.Fatalf("loading %s: %v", specPath, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", specPath, err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("%s: openapi %q, want 3.1", specPath, doc.OpenAPI)
	}
	return doc
}

// TestOpenAPIServedIsTheYAML checks that GET /openapi.json serves exactly
// docs/openapi.yaml: the embedded JSON was regenerated after the last edit.
func TestOpenAPIServedIsTheYAML(t *testing.T) {
	loadSpec(t)
	src, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	var fromYAML any
	if err := yaml.Unmarshal(src, &fromYAML); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(fromYAML) // aliases expanded, keys as JSON has them
	if err != nil {
		t.Fatalf("%s does not convert to JSON: %v", specPath, err)
	}
	var want any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}

	e := newEnv(t, envOpts{})
	r := e.do("GET", "/openapi.json")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %s", r.status, r.header.Get("Content-Type"))
	}
	var got any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("GET /openapi.json is not JSON: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GET /openapi.json differs from %s: run go generate ./httpapi", specPath)
	}
}

// TestOpenAPIDescribesEveryRoute fails when a route registered by this
// package (any s.mux.Handle in its non-test files, whatever the
// configuration that turns it on) has no operation in the spec, and when
// the spec has an operation with no route (the Pusher paths excepted).
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadSpec(t)
	spec := map[string]bool{} // "GET /notifications/{}"
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			spec[method+" "+pathShape(path)] = true
		}
	}
	routes := registeredRoutes(t)
	if len(routes) < 30 {
		t.Fatalf("found only %d routes in the package: %v", len(routes), routes)
	}
	have := map[string]bool{}
	for _, rt := range routes {
		method, path, ok := strings.Cut(rt, " ")
		if !ok || method == "" || !strings.HasPrefix(path, "/") {
			t.Errorf("route %q has no method: every route must name one", rt)
			continue
		}
		shape := pathShape(muxPath(path))
		have[method+" "+shape] = true
		if !spec[method+" "+shape] {
			t.Errorf("route %q is not described in %s", rt, specPath)
		}
	}
	for op := range spec {
		method, shape, _ := strings.Cut(op, " ")
		if have[op] || (method == "HEAD" && have["GET "+shape]) {
			continue // a GET route answers HEAD too
		}
		if pusherPaths[shape] {
			t.Logf("%s: described, not registered in this build (tolerated)", op)
			continue
		}
		t.Errorf("the spec describes %s, which no route serves", op)
	}
}

// muxPath turns a ServeMux path into the spec's form: "/{$}" is "/", and a
// subtree ("/assets/") has one trailing parameter.
func muxPath(p string) string {
	if strings.HasSuffix(p, "/{$}") {
		return strings.TrimSuffix(p, "{$}")
	}
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		return p + "{rest}"
	}
	return p
}

var paramRE = regexp.MustCompile(`\{[^}]*\}`)

// pathShape replaces every parameter with {}: "/a/{id}" and "/a/{x}" are
// one path to a router.
func pathShape(p string) string { return paramRE.ReplaceAllString(p, "{}") }

// registeredRoutes parses the package's non-test files and returns the
// pattern of every .mux.Handle and .mux.HandleFunc call. A pattern that is
// not a constant string expression fails the test, so no route escapes.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	consts := map[string]ast.Expr{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.CONST {
				for _, s := range gd.Specs {
					vs := s.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							consts[n.Name] = vs.Values[i]
						}
					}
				}
			}
		}
	}
	var eval func(ast.Expr) (string, bool)
	eval = func(x ast.Expr) (string, bool) {
		switch x := x.(type) {
		case *ast.BasicLit:
			if x.Kind == token.STRING {
				s, err := strconv.Unquote(x.Value)
				return s, err == nil
			}
		case *ast.Ident:
			if v, ok := consts[x.Name]; ok {
				return eval(v)
			}
		case *ast.ParenExpr:
			return eval(x.X)
		case *ast.BinaryExpr:
			if x.Op == token.ADD {
				a, ok1 := eval(x.X)
				b, ok2 := eval(x.Y)
				return a + b, ok1 && ok2
			}
		}
		return "", false
	}
	var routes []string
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			recv, ok := sel.X.(*ast.SelectorExpr)
			if !ok || recv.Sel.Name != "mux" {
				return true
			}
			p, ok := eval(call.Args[0])
			if !ok {
				t.Errorf("%s: a route pattern that is not a constant string", fset.Position(call.Pos()))
				return true
			}
			routes = append(routes, p)
			return true
		})
	}
	slices.Sort(routes)
	return slices.Compact(routes)
}
