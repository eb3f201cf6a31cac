package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealthcheck runs the subcommand against a real server (status 0 for
// /healthz and /readyz), a server that answers 503 and a closed port
// (status 1, one line on stderr naming the URL and the reason).
func TestHealthcheck(t *testing.T) {
	s := startServer(t, t.TempDir())
	for _, args := range [][]string{{"--url", s.url}, {"--url", s.url + "/", "--ready"}} {
		code, out, errOut := runCmd(t, nil, append([]string{"healthcheck"}, args...)...)
		want := "/healthz: 200 OK"
		if len(args) > 2 {
			want = "/readyz: 200 OK"
		}
		if code != 0 || out != "" || !strings.Contains(errOut, s.url+want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("healthcheck %v: %d %q %q", args, code, out, errOut)
		}
	}
	// The URL can come from the environment, like every flag.
	if code, _, errOut := runCmd(t, map[string]string{"BELFRY_URL": s.url}, "healthcheck"); code != 0 {
		t.Errorf("healthcheck with BELFRY_URL: %d %q", code, errOut)
	}

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("{\"status\":\"unavailable\",\n\"failed\":[\"store\"]}\n"))
	}))
	defer down.Close()
	code, _, errOut := runCmd(t, nil, "healthcheck", "--url", down.URL, "--ready")
	if code != 1 || !strings.Contains(errOut, down.URL+"/readyz: 503 Service Unavailable") ||
		!strings.Contains(errOut, `"failed":["store"]`) || strings.Count(errOut, "\n") != 1 {
		t.Errorf("healthcheck of a 503: %d %q", code, errOut)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	code, _, errOut = runCmd(t, nil, "healthcheck", "--url", closed, "--timeout", "2s")
	if code != 1 || !strings.Contains(errOut, "connection refused") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("healthcheck of a closed port: %d %q", code, errOut)
	}

	// A bad flag is status 1 too: engines reserve 2.
	if code, _, errOut := runCmd(t, nil, "healthcheck", "--timeout", "soon"); code != 1 {
		t.Errorf("healthcheck --timeout soon: %d %q", code, errOut)
	}
}
