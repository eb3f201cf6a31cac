package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIJSON is docs/openapi.yaml as JSON, written by
// internal/openapijson so that the server parses no YAML. A test fails
// when the two differ; after editing the YAML, run go generate.
//
//go:generate go run ../internal/openapijson ../docs/openapi.yaml openapi.json
//go:embed openapi.json
var openAPIJSON []byte

// openAPI answers GET /openapi.json: the OpenAPI 3.1 description of this
// API. No credential is needed.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	writeRaw(w, http.StatusOK, openAPIJSON)
	return nil
}
