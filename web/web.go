package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static vue2
var files embed.FS

// asset is one embedded file, hashed once for its ETag.
type asset struct {
	body  []byte
	etag  string
	ctype string
}

// Handler serves the embedded files: GET /assets/<name> (the scripts, their
// .d.ts types and the Vue 2 component, with a strong ETag, a short public
// max-age and CORS open to every origin without credentials, since apps
// load the bell from belfry's origin), GET / (the demo page, revalidated
// on every load), GET /inbox (where the demo's sample notification links
// to) and GET /favicon.ico (the bell, as SVG). Anything else is 404.
//
// The service worker, /assets/belfry-sw.js, is revalidated on every load
// (Cache-Control: no-cache) and may control any scope of belfry's origin
// (Service-Worker-Allowed: /).
//
// The HTTP API routes / and /inbox here only in demo mode.
func Handler() http.Handler {
	h := &handler{assets: make(map[string]*asset)}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".vue", ".ts":
			// Source to copy into an app (the .vue component, the .d.ts
			// types), not to run: mime's ".ts" is an MPEG stream.
			ct = "text/plain; charset=utf-8"
		case "":
			ct = "application/octet-stream"
		}
		name := strings.TrimPrefix(p, "static/")
		if name == serviceWorker {
			ct = "text/javascript" // a worker script is UTF-8 whatever its type says
		}
		h.assets[name] = &asset{body: b, ctype: ct,
			etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		// The files are compiled in; a walk error is a build defect.
		panic("web: reading embedded files: " + err.Error())
	}
	return h
}

// serviceWorker is the Web Push service worker's name under /assets/.
const serviceWorker = "belfry-sw.js"

type handler struct {
	assets map[string]*asset
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	var a *asset
	switch {
	case p == "/" || p == "/index.html":
		a = h.assets["index.html"]
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy",
			"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
	case p == "/inbox":
		a = h.assets["inbox.html"]
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy",
			"default-src 'self'; style-src 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
	case p == "/favicon.ico":
		// Browsers ask for it on their own; an SVG serves every current one.
		a = h.assets["favicon.svg"]
		w.Header().Set("Cache-Control", "public, max-age=86400")
	case strings.HasPrefix(p, "/assets/"):
		name := strings.TrimPrefix(p, "/assets/")
		if name != "index.html" {
			a = h.assets[name]
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if name == serviceWorker {
			// Browsers check a service worker for updates on every
			// registration and navigation; no-cache makes each check see a
			// new version at once. Service-Worker-Allowed lets an app
			// register it for a scope wider than /assets/.
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Service-Worker-Allowed", "/")
		}
	}
	if a == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("ETag", a.etag)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// ServeContent answers If-None-Match with 304 and handles HEAD and Range.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
