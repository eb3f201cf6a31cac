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

// publishRequest is the body of POST /api/notifications: exactly one of
// user_id and user_ids, ids as strings or integers.
type publishRequest struct {
	UserID   *belfry.UserID  `json:"user_id"`
	UserIDs  []belfry.UserID `json:"user_ids"`
	Message  string          `json:"message"`
	Title    string          `json:"title"`
	Link     string          `json:"link"`
	Category string          `json:"category"`
	Data     json.RawMessage `json:"data"`
}

// publish creates a notification for one user (201, the notification) or
// several (201, an array in the order given, duplicates dropped).
func (s *Server) publish(w http.ResponseWriter, r *http.Request) error {
	if err := s.authPublisher(r); err != nil {
		return err
	}
	var in publishRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	d := belfry.Draft{Message: in.Message, Title: in.Title, Link: in.Link,
		Category: in.Category, Data: in.Data}
	switch {
	case in.UserID != nil && in.UserIDs != nil:
		return belfry.Errorf(belfry.EINVALID, "give user_id or user_ids, not both")
	case in.UserID != nil:
		d.UserIDs = []string{string(*in.UserID)}
	case in.UserIDs != nil:
		if len(in.UserIDs) == 0 {
			return belfry.Errorf(belfry.EINVALID, "user_ids must not be empty")
		}
		d.UserIDs = make([]string, len(in.UserIDs))
		for i, u := range in.UserIDs {
			d.UserIDs[i] = string(u)
		}
	}
	ns, err := s.inbox.Create(r.Context(), d)
	if err != nil {
		return err
	}
	s.metrics.published.Add(float64(len(ns)))
	if in.UserID != nil {
		writeRaw(w, http.StatusCreated, append(ns[0].AppendJSON(nil), '\n'))
		return nil
	}
	writeRaw(w, http.StatusCreated, appendList(nil, ns))
	return nil
}

// errTooLarge is the answer to a body over belfry.MaxBodyBytes.
func errTooLarge() error {
	return belfry.Errorf(belfry.ETOOLARGE, "the body must be at most %d bytes", belfry.MaxBodyBytes)
}

// decodeBody reads a JSON request body into v: Content-Type
// application/json (415), at most belfry.MaxBodyBytes (413), valid UTF-8
// without unpaired surrogate escapes (400, see textReader), one JSON value
// with no unknown fields (400).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return belfry.Errorf(belfry.EMEDIATYPE, "Content-Type must be application/json")
	}
	if r.ContentLength > belfry.MaxBodyBytes {
		return errTooLarge()
	}
	// The decoder reads the body itself, without a copy of it first; a
	// read error, the size limit's included, comes out of Decode or Token.
	// The text check fails the read itself, so the decoder stops there.
	tr := newTextReader(http.MaxBytesReader(w, r.Body, belfry.MaxBodyBytes))
	defer tr.release()
	dec := json.NewDecoder(tr)
	dec.DisallowUnknownFields()
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

// list answers GET /notifications: a JSON array, newest first, with a
// Link rel="next" header when older ones exist.
func (s *Server) list(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	lq := belfry.ListQuery{Limit: belfry.DefaultPageSize}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > belfry.MaxPageSize {
			return belfry.Errorf(belfry.EINVALID, "limit must be an integer from 1 to %d", belfry.MaxPageSize)
		}
		lq.Limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return belfry.Errorf(belfry.EINVALID, "before must be a positive notification id")
		}
		lq.Before = n
	}
	if v := q.Get("unread"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return belfry.Errorf(belfry.EINVALID, "unread must be true or false")
		}
		lq.UnreadOnly = b
	}
	ns, more, err := s.inbox.List(r.Context(), p.user, lq)
	if err != nil {
		return err
	}
	if more && len(ns) > 0 {
		next := r.URL.Path + "?before=" + strconv.FormatInt(ns[len(ns)-1].ID, 10) +
			"&limit=" + strconv.Itoa(lq.Limit)
		if lq.UnreadOnly {
			next += "&unread=true"
		}
		w.Header().Set("Link", "<"+next+`>; rel="next"`)
	}
	writeRaw(w, http.StatusOK, appendList(make([]byte, 0, 256*len(ns)+3), ns))
	return nil
}

// unreadCount answers GET /notifications/unread-count: {"unread": N}.
func (s *Server) unreadCount(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	st, err := s.inbox.Stats(r.Context(), p.user)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"unread": st.Unread})
	return nil
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

// readAll answers POST /notifications/read-all:
// {"updated": n, "unread_count": m}.
func (s *Server) readAll(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	n, st, err := s.inbox.MarkAllRead(r.Context(), p.user)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"updated": n, "unread_count": st.Unread})
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
