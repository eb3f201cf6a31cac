package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"

	"github.com/belfry/belfry"
)

// errTooLarge is the answer to a body over belfry.MaxBodyBytes.
func errTooLarge() error {
	return belfry.Errorf(belfry.ETOOLARGE, "the body must be at most %d bytes", belfry.MaxBodyBytes)
}

// decodeBody reads a JSON request body into v: Content-Type
// application/json (415), at most belfry.MaxBodyBytes (413), valid UTF-8
// without unpaired surrogate escapes (400, see textReader), one JSON value
// with no unknown fields (400).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if err := checkJSONType(r); err != nil {
		return err
	}
	if r.ContentLength > belfry.MaxBodyBytes {
		return errTooLarge()
	}
	// The decoder reads the body itself, without a copy of it first; a
	// read error, the size limit's included, comes out of Decode or Token.
	// The text check fails the read itself, so the decoder stops there.
	body := http.MaxBytesReader(w, r.Body, belfry.MaxBodyBytes)
	tr := newTextReader(body)
	defer tr.release()
	dec := json.NewDecoder(tr)
	dec.DisallowUnknownFields()
	return decodeOne(dec, v)
}

// decodeOne decodes the one JSON value dec reads into v and checks that
// nothing but white space follows it; errors as decodeBody answers them.
func decodeOne(dec *json.Decoder, v any) error {
	var mbe *http.MaxBytesError
	if err := dec.Decode(v); err != nil {
		if errors.As(err, &mbe) {
			return errTooLarge()
		}
		if errors.Is(err, errBadText) {
			return errBadBody(err)
		}
		return jsonError(err)
	}
	// Token reads up to the end, so every byte has been checked when it
	// answers io.EOF.
	if _, err := dec.Token(); err != io.EOF {
		if errors.As(err, &mbe) {
			return errTooLarge()
		}
		if errors.Is(err, errBadText) {
			return errBadBody(err)
		}
		return belfry.Errorf(belfry.EINVALID, "the body must be a single JSON object")
	}
	return nil
}

// checkJSONType answers EMEDIATYPE unless the Content-Type is
// application/json, parameters allowed.
func checkJSONType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "application/json" {
		return nil // the usual header, without ParseMediaType's allocations
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return belfry.Errorf(belfry.EMEDIATYPE, "Content-Type must be application/json")
	}
	return nil
}

// errBadBody is the answer to a body that is not valid UTF-8 or holds an
// unpaired surrogate escape: refused, not repaired.
func errBadBody(err error) error {
	return &belfry.Error{Code: belfry.EINVALID, Err: err,
		Message: `the body must be valid UTF-8, without unpaired surrogate escapes such as \ud800`}
}

// jsonError turns a decoding error into EINVALID with a message that says
// what was wrong without echoing the body.
func jsonError(err error) error {
	var be *belfry.Error
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &be):
		return &belfry.Error{Code: belfry.EINVALID, Message: be.Message, Err: err}
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &belfry.Error{Code: belfry.EINVALID, Message: "the body is not valid JSON", Err: err}
	case errors.As(err, &te):
		if te.Field == "" {
			return &belfry.Error{Code: belfry.EINVALID, Message: "the body must be a JSON object", Err: err}
		}
		return &belfry.Error{Code: belfry.EINVALID, Message: "wrong type for " + te.Field, Err: err}
	}
	// Unknown fields and the like: encoding/json's message names the field.
	return &belfry.Error{Code: belfry.EINVALID, Message: "invalid body: " + err.Error(), Err: err}
}

// appendList appends ns as a JSON array (never null).
func appendList(b []byte, ns []*belfry.Notification) []byte {
	b = append(b, '[')
	for i, n := range ns {
		if i > 0 {
			b = append(b, ',')
		}
		start := len(b)
		b = n.AppendJSON(b)
		if i == 0 && len(ns) > 1 {
			// The rows of one answer differ little in length (a publish
			// to user_ids: only the user and the id). Reserving room
			// for the rest now, rather than growing by doubling, halves
			// what a 1,000-user answer allocates.
			b = slices.Grow(b, (len(b)-start+16)*(len(ns)-1)+2)
		}
	}
	return append(b, ']', '\n')
}

// notificationID reads the {id} path value. Anything but a positive
// integer names no notification: ENOTFOUND.
func notificationID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, belfry.Errorf(belfry.ENOTFOUND, "notification not found")
	}
	return id, nil
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request) error {
	return s.setRead(w, r, true)
}

func (s *Server) markUnread(w http.ResponseWriter, r *http.Request) error {
	return s.setRead(w, r, false)
}

// setRead answers POST /notifications/{id}/read and /unread: 200 and the
// notification as it is now.
func (s *Server) setRead(w http.ResponseWriter, r *http.Request, read bool) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	id, err := notificationID(r)
	if err != nil {
		return err
	}
	var n *belfry.Notification
	if read {
		n, err = s.inbox.MarkRead(r.Context(), p.user, id)
	} else {
		n, err = s.inbox.MarkUnread(r.Context(), p.user, id)
	}
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, append(n.AppendJSON(nil), '\n'))
	return nil
}

// delete answers DELETE /notifications/{id}: 204.
func (s *Server) delete(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	id, err := notificationID(r)
	if err != nil {
		return err
	}
	if err := s.inbox.Delete(r.Context(), p.user, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
