package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/belfry/belfry"
)

// The preferences: GET and PUT /notifications/preferences for the user,
// GET and PUT /api/users/{user_id}/preferences for the app's own settings
// page (API key). Both answer the preferences as they are now:
// {"default":{"in_app","push","webhook"},"categories":{"billing":{…}}}.

func (s *Server) userPreferences(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	return s.getPreferences(w, r, p.user)
}

func (s *Server) setUserPreferences(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authUser(r)
	if err != nil {
		return err
	}
	return s.putPreferences(w, r, p.user)
}

func (s *Server) appPreferences(w http.ResponseWriter, r *http.Request) error {
	user, err := s.pathUser(r)
	if err != nil {
		return err
	}
	return s.getPreferences(w, r, user)
}

func (s *Server) setAppPreferences(w http.ResponseWriter, r *http.Request) error {
	user, err := s.pathUser(r)
	if err != nil {
		return err
	}
	return s.putPreferences(w, r, user)
}

// pathUser authenticates a publisher and reads the {user_id} path value.
// Errors: EUNAUTHORIZED, EFORBIDDEN, EINVALID.
func (s *Server) pathUser(r *http.Request) (string, error) {
	if err := s.authPublisher(r); err != nil {
		return "", err
	}
	user := r.PathValue("user_id")
	if err := belfry.ValidateUserID(user); err != nil {
		return "", err
	}
	return user, nil
}

func (s *Server) getPreferences(w http.ResponseWriter, r *http.Request, user string) error {
	prefs, err := s.inbox.Preferences(r.Context(), user)
	if err != nil {
		return err
	}
	writePreferences(w, prefs)
	return nil
}

func (s *Server) putPreferences(w http.ResponseWriter, r *http.Request, user string) error {
	var patch belfry.PreferencesPatch
	if err := decodeBody(w, r, &patch); err != nil {
		return err
	}
	prefs, err := s.inbox.SetPreferences(r.Context(), user, patch)
	if err != nil {
		return err
	}
	writePreferences(w, prefs)
	return nil
}

func writePreferences(w http.ResponseWriter, p belfry.Preferences) {
	if p.Categories == nil {
		p.Categories = map[string]belfry.Channels{}
	}
	b, err := json.Marshal(p)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, nil)
		return
	}
	writeRaw(w, http.StatusOK, append(b, '\n'))
}
