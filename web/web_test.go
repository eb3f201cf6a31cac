package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/belfry/belfry/web"
)

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func TestHandlerAssets(t *testing.T) {
	h := web.Handler()
	for _, tc := range []struct {
		path, ctype, body string
	}{
		{"/assets/belfry-client.js", "text/javascript; charset=utf-8", "export class BelfryClient"},
		{"/assets/notification-bell.js", "text/javascript; charset=utf-8", `customElements.define("notification-bell"`},
		{"/assets/belfry-state.js", "text/javascript; charset=utf-8", "export class InboxState"},
		{"/assets/belfry-tabs.js", "text/javascript; charset=utf-8", "export class TabGroup"},
		{"/assets/belfry-ui.js", "text/javascript; charset=utf-8", "export function parseTabs"},
		{"/assets/belfry-i18n.js", "text/javascript; charset=utf-8", "export const STRINGS"},
		{"/assets/belfry-client.d.ts", "text/plain; charset=utf-8", "export class BelfryClient extends EventTarget"},
		{"/assets/notification-bell.d.ts", "text/plain; charset=utf-8", `"notification-bell": NotificationBell`},
		{"/assets/demo.js", "text/javascript; charset=utf-8", "/demo/notifications"},
		{"/assets/vue2/NotificationBell.vue", "text/plain; charset=utf-8", "name: 'NotificationBell'"},
		{"/", "text/html; charset=utf-8", `<script type="module" src="/assets/demo.js">`},
		{"/inbox", "text/html; charset=utf-8", "You followed a notification's link"},
		{"/favicon.ico", "image/svg+xml", "<svg"},
		{"/assets/favicon.svg", "image/svg+xml", "<svg"},
	} {
		res := get(t, h, "GET", tc.path)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d", tc.path, res.StatusCode)
		}
		if got := res.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if !strings.Contains(string(body), tc.body) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.body)
		}
		etag := res.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
			t.Fatalf("GET %s: ETag %q", tc.path, etag)
		}
		// Revalidation: the same ETag answers 304 with no body.
		again := get(t, h, "GET", tc.path, "If-None-Match", etag)
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match: %d, want 304", tc.path, again.StatusCode)
		}
		if b, _ := io.ReadAll(again.Body); len(b) != 0 {
			t.Errorf("304 with a body of %d bytes", len(b))
		}
		cc := res.Header.Get("Cache-Control")
		if tc.path == "/" || tc.path == "/inbox" {
			if cc != "no-cache" || res.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("demo page %s: Cache-Control %q, CSP %q", tc.path, cc, res.Header.Get("Content-Security-Policy"))
			}
		} else if tc.path == "/favicon.ico" {
			if cc != "public, max-age=86400" {
				t.Errorf("favicon: Cache-Control %q", cc)
			}
		} else if cc != "public, max-age=300" || res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s: Cache-Control %q, CORS %q", tc.path, cc, res.Header.Get("Access-Control-Allow-Origin"))
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", tc.path)
		}
	}
	// Different files, different ETags.
	a := get(t, h, "GET", "/assets/belfry-client.js").Header.Get("ETag")
	b := get(t, h, "GET", "/assets/notification-bell.js").Header.Get("ETag")
	if a == b {
		t.Fatal("two files share an ETag")
	}
}

func TestHandlerRefusals(t *testing.T) {
	h := web.Handler()
	for _, p := range []string{"/assets/", "/assets/nope.js", "/assets/index.html", "/assets/../web.go", "/other", "/assets/static/belfry-client.js"} {
		if res := get(t, h, "GET", p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
	if res := get(t, h, "POST", "/assets/belfry-client.js"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", res.StatusCode)
	}
	res := get(t, h, "HEAD", "/assets/belfry-client.js")
	if b, _ := io.ReadAll(res.Body); res.StatusCode != 200 || len(b) != 0 {
		t.Errorf("HEAD: %d with %d bytes", res.StatusCode, len(b))
	}
}

// relativeImport matches the relative module specifiers of static imports
// and re-exports: import … from "./x.js", import "./x.js", export … from.
var relativeImport = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^;"']*?["'](\.{1,2}/[^"']+)["']`)

// Every module an entry point imports, transitively, is served beside it:
// a file missing from the embed would break every page that loads the bell.
func TestHandlerServesEveryImportedModule(t *testing.T) {
	h := web.Handler()
	queue := []string{"notification-bell.js", "demo.js", "vue2/NotificationBell.vue", "notification-bell.d.ts"}
	seen := map[string]bool{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		res := get(t, h, "GET", "/assets/"+name)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET /assets/%s: %d (imported, so it must be served)", name, res.StatusCode)
			continue
		}
		dir := path.Dir(name)
		if strings.HasSuffix(name, ".vue") {
			dir = "." // an app copies the component next to belfry-client.js and its modules
		}
		for _, m := range relativeImport.FindAllStringSubmatch(string(body), -1) {
			dep := path.Join(dir, m[1])
			if strings.HasSuffix(name, ".d.ts") {
				dep = strings.TrimSuffix(dep, ".js") + ".d.ts" // TypeScript resolves x.js to x.d.ts
			}
			queue = append(queue, dep)
		}
	}
	for _, want := range []string{"belfry-client.js", "belfry-state.js", "belfry-tabs.js", "belfry-ui.js", "belfry-i18n.js", "belfry-push.js",
		"belfry-client.d.ts"} {
		if !seen[want] {
			t.Errorf("%s is not reached from the entry points: %v", want, seen)
		}
	}
}

// The service worker: a JavaScript type (browsers refuse to register any
// other), revalidated on every check for an update, and allowed to control
// any scope of the origin.
func TestHandlerServiceWorker(t *testing.T) {
	h := web.Handler()
	res := get(t, h, "GET", "/assets/belfry-sw.js")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /assets/belfry-sw.js: %d", res.StatusCode)
	}
	for name, want := range map[string]string{
		"Content-Type":                "text/javascript",
		"Service-Worker-Allowed":      "/",
		"Cache-Control":               "no-cache",
		"Access-Control-Allow-Origin": "*",
		"X-Content-Type-Options":      "nosniff",
	} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(string(body), `self.addEventListener("notificationclick"`) {
		t.Error("the body is not the service worker")
	}
	// A classic script: an import statement would fail to register.
	if relativeImport.Match(body) {
		t.Error("the service worker imports a module")
	}
	// The other scripts keep their headers.
	res = get(t, h, "GET", "/assets/belfry-client.js")
	if res.Header.Get("Service-Worker-Allowed") != "" || res.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Errorf("belfry-client.js: Service-Worker-Allowed %q, Cache-Control %q",
			res.Header.Get("Service-Worker-Allowed"), res.Header.Get("Cache-Control"))
	}
}
