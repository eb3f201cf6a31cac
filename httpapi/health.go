package httpapi

import (
	"context"
	"net/http"

	"github.com/belfry/belfry"
)

// healthz answers 200 while the process runs: liveness only.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readiness is the body of GET /readyz. On 503 it also carries the
// contract's error object, so every non-2xx answer has the same shape.
type readiness struct {
	Status string       `json:"status"` // "ready" or "unavailable"
	Store  string       `json:"store"`  // "ok" or why not
	Broker string       `json:"broker"` // "ok" or why not
	Error  *ErrorDetail `json:"error,omitempty"`
}

// readyz answers 200 when the store and the broker answer a ping, and 503
// naming the part that failed (or "shutting down" after Shutdown).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	// The pings run side by side, each within readyTimeout: a store that
	// hangs until its timeout must not leave the broker's ping an expired
	// context (and /readyz blame a broker that is fine).
	ping := func(p func(context.Context) error) <-chan error {
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			done <- p(ctx)
		}()
		return done
	}
	storeErr, brokerErr := ping(s.inbox.Store.Ping), ping(s.inbox.Broker.Ping)
	rd := readiness{Status: "ready", Store: "ok", Broker: "ok"}
	var failed []string
	if err := <-storeErr; err != nil {
		rd.Store = belfry.ErrorMessage(err)
		failed = append(failed, "store")
	}
	if err := <-brokerErr; err != nil {
		rd.Broker = belfry.ErrorMessage(err)
		failed = append(failed, "broker")
	}
	msg := ""
	switch {
	case s.isClosing():
		msg = "the server is shutting down"
	case len(failed) == 2:
		msg = "the store and the broker are unavailable"
	case len(failed) == 1:
		msg = "the " + failed[0] + " is unavailable"
	}
	if msg == "" {
		writeJSON(w, http.StatusOK, rd)
		return nil
	}
	rd.Status = "unavailable"
	rd.Error = &ErrorDetail{Code: belfry.EUNAVAILABLE, Message: msg}
	writeJSON(w, StatusOf(belfry.EUNAVAILABLE), rd)
	return nil
}
