package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/belfry/belfry"
)

// SetPreferences applies the patch in the writer's transaction (read,
// apply, write: concurrent patches of one user, from any Store on the
// file, all take effect) and returns the preferences as they now are.
// Errors: EUNAVAILABLE.
func (s *Store) SetPreferences(ctx context.Context, userID string, p belfry.PreferencesPatch) (belfry.Preferences, error) {
	r := &request{op: opSetPrefs, user: userID, patch: &p}
	if err := s.submit(ctx, r); err != nil {
		return belfry.Preferences{}, err
	}
	return r.prefs, nil
}

func (w *writer) setPrefs(ctx context.Context, r *request) error {
	cur := belfry.DefaultPreferences()
	var raw []byte
	err := w.getPrefs.QueryRowContext(ctx, r.user).Scan(&raw)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		if cur, err = decodePrefs(raw); err != nil {
			return err
		}
	}
	next := r.patch.Apply(cur)
	if next.Default == belfry.AllOn && len(next.Categories) == 0 {
		// The defaults need no row, and keep Publish's probe empty.
		if _, err := w.delPrefs.ExecContext(ctx, r.user); err != nil {
			return err
		}
	} else {
		b, err := json.Marshal(next)
		if err != nil {
			return err
		}
		off := !next.Default.InApp
		for _, c := range next.Categories {
			off = off || !c.InApp
		}
		if _, err := w.putPrefs.ExecContext(ctx, r.user, b, off); err != nil {
			return err
		}
	}
	r.prefs = next
	return nil
}

// decodePrefs reads preferences stored as JSON.
func decodePrefs(raw []byte) (belfry.Preferences, error) {
	var p belfry.Preferences
	if err := json.Unmarshal(raw, &p); err != nil {
		return belfry.Preferences{}, err
	}
	if p.Categories == nil {
		p.Categories = map[string]belfry.Channels{}
	}
	return p, nil
}
