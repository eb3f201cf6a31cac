package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net/http"
	"sync"

	"github.com/belfry/belfry"
)

// bodyBufs holds the buffers publish bodies are read into, each grown to
// the largest body it has held: at most belfry.MaxBodyBytes+1 bytes.
var bodyBufs = sync.Pool{New: func() any { return new([]byte) }}

// decodePublish reads a publish body into in with the rules of
// decodeBody and the same answers, and writes the body to h when it is
// not nil (the idempotency hash). The body is read whole into a pooled
// buffer, checked as text, then decoded by decodePublishFast; a body of
// any shape it leaves alone goes through encoding/json, as decodeBody
// would. Errors: EMEDIATYPE, ETOOLARGE, EINVALID.
func decodePublish(w http.ResponseWriter, r *http.Request, in *publishRequest, h hash.Hash) error {
	if err := checkJSONType(r); err != nil {
		return err
	}
	if r.ContentLength > belfry.MaxBodyBytes {
		return errTooLarge()
	}
	bp := bodyBufs.Get().(*[]byte)
	defer bodyBufs.Put(bp)
	b, err := readBody(w, r, *bp)
	*bp = b[:0]
	if err != nil {
		return err
	}
	if !validText(b) {
		return errBadBody(errBadText)
	}
	if h != nil {
		h.Write(b)
	}
	if decodePublishFast(b, in) {
		return nil
	}
	return decodePublishSlow(b, in)
}

// readBody reads r's body into b, reusing its room. A body of unknown
// length (chunked) is read through http.MaxBytesReader, so that net/http
// gives up the connection rather than read the rest of a body over the
// limit; one of known length is at most belfry.MaxBodyBytes already.
// Errors: ETOOLARGE, and a read error as decodeBody answers it.
func readBody(w http.ResponseWriter, r *http.Request, b []byte) ([]byte, error) {
	const limit = belfry.MaxBodyBytes + 1 // one byte more tells a body over the limit
	b = b[:0]
	if r.Body == nil {
		return b, nil
	}
	var body io.Reader = r.Body
	if r.ContentLength < 0 {
		body = http.MaxBytesReader(w, r.Body, belfry.MaxBodyBytes)
	} else if need := int(r.ContentLength) + 1; cap(b) < need {
		b = make([]byte, 0, need) // room for the body and the read that sees its end
	}
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(make([]byte, 0, min(max(2*cap(b), 512), limit)), b...)
		}
		n, err := body.Read(b[len(b):min(cap(b), limit)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return b, errTooLarge()
			}
			return b, jsonError(err)
		}
	}
	if len(b) > belfry.MaxBodyBytes {
		return b, errTooLarge()
	}
	return b, nil
}

// decodePublishSlow decodes b with encoding/json, as decodeBody does.
// The value decoded into is a new one, so that in itself need not live
// on the heap on the fast path.
func decodePublishSlow(b []byte, in *publishRequest) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	v := new(publishRequest)
	err := decodeOne(dec, v)
	*in = *v
	return err
}
