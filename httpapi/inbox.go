package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/belfry/belfry"
)

// list answers GET /notifications: a JSON array, newest first, with a
// Link rel="next" header when older ones exist. Filters: status
// (inbox, archived, all), category, unread=true, seen=false.
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
	if lq.UnreadOnly, err = boolParam(q, "unread", true); err != nil {
		return err
	}
	if lq.UnseenOnly, err = boolParam(q, "seen", false); err != nil {
		return err
	}
	if q.Has("status") {
		lq.Status = belfry.Status(q.Get("status"))
	}
	if q.Has("category") {
		if lq.Category = q.Get("category"); lq.Category == "" {
			return belfry.Errorf(belfry.EINVALID, "category must not be empty")
		}
	}
	ns, more, err := s.inbox.List(r.Context(), p.user, lq)
	if err != nil {
		return err
	}
	if more && len(ns) > 0 {
		next := url.Values{}
		next.Set("before", strconv.FormatInt(ns[len(ns)-1].ID, 10))
		next.Set("limit", strconv.Itoa(lq.Limit))
		if lq.UnreadOnly {
			next.Set("unread", "true")
		}
		if lq.UnseenOnly {
			next.Set("seen", "false")
		}
		if lq.Status != "" {
			next.Set("status", string(lq.Status))
		}
		if lq.Category != "" {
			next.Set("category", lq.Category)
		}
		w.Header().Set("Link", "<"+r.URL.Path+"?"+next.Encode()+`>; rel="next"`)
	}
	writeRaw(w, http.StatusOK, appendList(make([]byte, 0, 256*len(ns)+3), ns))
	return nil
}

// boolParam reads a true/false query parameter; it is on when it equals
// on (unread=true, seen=false) and off otherwise. Errors: EINVALID.
func boolParam(q url.Values, name string, on bool) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, belfry.Errorf(belfry.EINVALID, "%s must be true or false", name)
	}
	return b == on, nil
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

// counts answers GET /notifications/counts:
// {"unread":N,"unseen":N,"last_id":N,"by_category":{"billing":{"unread":N,"unseen":N}}}.
func (s *Server) counts(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	st, err := s.inbox.Stats(r.Context(), p.user)
	if err != nil {
		return err
	}
	b := append(make([]byte, 0, 128), `{"unread":`...)
	b = strconv.AppendInt(b, int64(st.Unread), 10)
	b = append(b, `,"unseen":`...)
	b = strconv.AppendInt(b, int64(st.Unseen), 10)
	b = append(b, `,"last_id":`...)
	b = strconv.AppendInt(b, st.LastID, 10)
	b = append(b, `,"by_category":`...)
	b = belfry.AppendByCategory(b, st.ByCategory)
	writeRaw(w, http.StatusOK, append(b, "}\n"...))
	return nil
}

// writeBulk answers a bulk change: {"updated":N, and the counts after it
// as a stream's events carry them}.
func writeBulk(w http.ResponseWriter, res belfry.Bulk) {
	b := append(make([]byte, 0, 128), `{"updated":`...)
	b = strconv.AppendInt(b, int64(res.Updated), 10)
	b = append(b, ',')
	b = res.Stats.AppendFields(b)
	writeRaw(w, http.StatusOK, append(b, "}\n"...))
}

// filterRequest is the optional body of read-all and archive-all.
type filterRequest struct {
	Category *string `json:"category"`
	Read     *bool   `json:"read"`
	UpTo     *int64  `json:"up_to_id"`
}

// decodeOptional decodes an optional JSON body into v: a request without
// a body (no Content-Type, nothing sent) leaves v as it is.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 || (r.ContentLength < 0 && r.Header.Get("Content-Type") == "") {
		if r.ContentLength < 0 {
			var one [1]byte
			if n, _ := r.Body.Read(one[:]); n > 0 {
				return belfry.Errorf(belfry.EMEDIATYPE, "Content-Type must be application/json")
			}
		}
		return nil
	}
	return decodeBody(w, r, v)
}

func (f *filterRequest) filter() (belfry.Filter, error) {
	out := belfry.Filter{Category: f.Category, Read: f.Read}
	if f.UpTo != nil {
		if *f.UpTo < 1 {
			return out, belfry.Errorf(belfry.EINVALID, "up_to_id must be a positive notification id")
		}
		out.UpTo = *f.UpTo
	}
	if f.Category != nil && *f.Category == "" {
		return out, belfry.Errorf(belfry.EINVALID, "category must not be empty")
	}
	return out, nil
}

// readAll answers POST /notifications/read-all (optional filters).
func (s *Server) readAll(w http.ResponseWriter, r *http.Request) error {
	return s.bulk(w, r, s.inbox.MarkAllRead)
}

// archiveAll answers POST /notifications/archive-all (optional filters).
func (s *Server) archiveAll(w http.ResponseWriter, r *http.Request) error {
	return s.bulk(w, r, s.inbox.ArchiveAll)
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request,
	apply func(ctx context.Context, user string, f belfry.Filter) (belfry.Bulk, error)) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	var in filterRequest
	if err := decodeOptional(w, r, &in); err != nil {
		return err
	}
	f, err := in.filter()
	if err != nil {
		return err
	}
	res, err := apply(r.Context(), p.user, f)
	if err != nil {
		return err
	}
	writeBulk(w, res)
	return nil
}

// seen answers POST /notifications/seen (optional {"up_to_id": N}).
func (s *Server) seen(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	var in struct {
		UpTo *int64 `json:"up_to_id"`
	}
	if err := decodeOptional(w, r, &in); err != nil {
		return err
	}
	var upTo int64
	if in.UpTo != nil {
		if *in.UpTo < 1 {
			return belfry.Errorf(belfry.EINVALID, "up_to_id must be a positive notification id")
		}
		upTo = *in.UpTo
	}
	res, err := s.inbox.MarkSeen(r.Context(), p.user, upTo)
	if err != nil {
		return err
	}
	writeBulk(w, res)
	return nil
}

func (s *Server) archive(w http.ResponseWriter, r *http.Request) error {
	return s.one(w, r, s.inbox.Archive)
}

func (s *Server) unarchive(w http.ResponseWriter, r *http.Request) error {
	return s.one(w, r, s.inbox.Unarchive)
}

// one answers a change of one of the user's notifications: 200 and the
// notification as it is now.
func (s *Server) one(w http.ResponseWriter, r *http.Request,
	change func(ctx context.Context, user string, id int64) (*belfry.Notification, error)) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	id, err := notificationID(r)
	if err != nil {
		return err
	}
	n, err := change(r.Context(), p.user, id)
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, append(n.AppendJSON(nil), '\n'))
	return nil
}

// act answers POST /notifications/{id}/actions/{action_id}: the action is
// recorded and the notification read; 200 and the notification.
func (s *Server) act(w http.ResponseWriter, r *http.Request) error {
	action := r.PathValue("action_id")
	return s.one(w, r, func(ctx context.Context, user string, id int64) (*belfry.Notification, error) {
		n, err := s.inbox.Act(ctx, user, id, action)
		if belfry.ErrorCode(err) == belfry.ENOTFOUND {
			return nil, belfry.Errorf(belfry.ENOTFOUND, "no such notification, or no such action on it")
		}
		return n, err
	})
}
