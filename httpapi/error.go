package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/belfry/belfry"
)

// StatusOf maps a belfry error code to its HTTP status. It is the one place
// this mapping lives; an unknown code (a bug) is 500.
func StatusOf(code string) int {
	switch code {
	case belfry.EINVALID:
		return http.StatusBadRequest
	case belfry.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case belfry.EFORBIDDEN:
		return http.StatusForbidden
	case belfry.ENOTFOUND:
		return http.StatusNotFound
	case belfry.EMETHOD:
		return http.StatusMethodNotAllowed
	case belfry.ECONFLICT, belfry.EIDEMCONFLICT, belfry.ELIMIT:
		return http.StatusConflict
	case belfry.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case belfry.EMEDIATYPE:
		return http.StatusUnsupportedMediaType
	case belfry.ERATELIMIT, belfry.ETOOMANYSTREAMS:
		return http.StatusTooManyRequests
	case belfry.EUNAVAILABLE, belfry.ESERVERFULL:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// ErrorBody is the JSON of every error response:
// {"error": {"code": "…", "message": "…"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError renders err as the contract's error JSON with the status of
// its code. Only the client-safe message is sent; the cause is kept on the
// response writer for the access log. A 429 or 503 says when to try again
// (Retry-After): a rate limit's own wait, else Config.RetryAfter unless the
// handler set its own.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	code := belfry.ErrorCode(err)
	if rw, ok := w.(*responseWriter); ok {
		rw.err = err
	}
	if code == belfry.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="belfry"`)
	}
	status := StatusOf(code)
	var ra *retryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(ra.seconds()))
	} else if (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", s.retryAfter)
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: belfry.ErrorMessage(err)}})
}

// writeJSON writes v as the response body. Values here never fail to
// encode (plain structs and maps of strings and numbers).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	writeRaw(w, status, append(b, '\n'))
}

// The header values of every JSON answer, shared read-only: assigning them
// saves three small allocations per request over Header.Set. Each slice
// has len == cap, so a later Header.Add copies instead of writing into it.
var (
	hdrJSON    = []string{"application/json"}
	hdrNosniff = []string{"nosniff"}
	hdrNoStore = []string{"no-store"}
)

// writeRaw writes an already encoded JSON body.
func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["X-Content-Type-Options"] = hdrNosniff
	h["Cache-Control"] = hdrNoStore
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
