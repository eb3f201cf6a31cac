package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// An app's page on another origin (allowed with --allow-origin) loads the
// bell's module scripts from belfry, where the assets answer every origin
// with "Access-Control-Allow-Origin: *" and no credentials, and the bell
// then talks to the API, which answers that origin with credentials.
func TestBellFromAnotherOrigin(t *testing.T) {
	var belfryURL string // known once the node runs, before any request
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page(w, fmt.Sprintf(`<notification-bell endpoint="%s" token="%s" limit="5"></notification-bell>
<script type="module" src="%s/assets/notification-bell.js"></script>`,
			htmlAttr(belfryURL), htmlAttr(r.URL.Query().Get("token")), htmlAttr(belfryURL)))
	}))
	t.Cleanup(app.Close)
	n := &node{t: t, dbPath: filepath.Join(t.TempDir(), "belfry.db"), addr: "127.0.0.1:0",
		allowOrigins: []string{app.URL}}
	n.start()
	t.Cleanup(n.stop)
	belfryURL = n.url("")

	ctx := newBrowserContext(t, 90*time.Second)
	navigate(t, ctx, app.URL+"/?token="+n.token("olga"))
	waitJS(t, ctx, "the bell from belfry's origin to be live", bellJS(`b.dataset.status === "live"`))
	n.publish("olga", "Across origins")
	waitJS(t, ctx, "the notification", bellJS(`b.client.items.length === 1 && b.dataset.unread === "1"`))
	// A script fetching an asset itself (CORS mode, no credentials) reads it too.
	if ok := eval[bool](t, ctx, fmt.Sprintf(`fetch(%q).then((r) => r.ok && r.headers.get("content-type").startsWith("text/javascript"))`,
		belfryURL+"/assets/belfry-client.js")); !ok {
		t.Fatal("fetching an asset across origins failed")
	}
}
