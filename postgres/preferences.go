package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/belfry/belfry"
	"github.com/jackc/pgx/v5"
)

const prefColumns = `default_in_app, default_push, default_webhook, categories`

// scanPreferences reads one row selected with prefColumns.
func scanPreferences(row pgx.Row) (belfry.Preferences, error) {
	p := belfry.Preferences{}
	var cats []byte
	if err := row.Scan(&p.Default.InApp, &p.Default.Push, &p.Default.Webhook, &cats); err != nil {
		return p, err
	}
	if err := json.Unmarshal(cats, &p.Categories); err != nil {
		return p, err
	}
	if p.Categories == nil {
		p.Categories = map[string]belfry.Channels{}
	}
	return p, nil
}

// Preferences returns the user's preferences, DefaultPreferences when the
// user never set any. Errors: EUNAVAILABLE.
func (s *Store) Preferences(ctx context.Context, userID string) (belfry.Preferences, error) {
	var p belfry.Preferences
	err := s.do(ctx, true, func() error {
		var err error
		p, err = scanPreferences(s.pool.QueryRow(ctx,
			`SELECT `+prefColumns+` FROM belfry_preferences WHERE user_id = $1`, userID))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return belfry.DefaultPreferences(), nil
	}
	if err != nil {
		return belfry.Preferences{}, classify("postgres", err)
	}
	return p, nil
}

// lockPreferencesSQL returns the user's row locked until the transaction
// ends, inserting the defaults first for a user who has none: the no-op
// update of an existing row takes its lock, so concurrent patches of one
// user apply one after the other, each to the result of the previous.
const lockPreferencesSQL = `
INSERT INTO belfry_preferences AS p (user_id, ` + prefColumns + `)
VALUES ($1, true, true, true, '{}')
ON CONFLICT (user_id) DO UPDATE SET user_id = p.user_id
RETURNING ` + prefColumns

// SetPreferences applies the patch (belfry.PreferencesPatch.Apply) to the
// user's preferences under the row's lock, in one transaction, and returns
// the result. Errors: EINVALID (a NUL character in a category),
// EUNAVAILABLE.
func (s *Store) SetPreferences(ctx context.Context, userID string, patch belfry.PreferencesPatch) (belfry.Preferences, error) {
	for name := range patch.Categories {
		if hasNULString(name) {
			return belfry.Preferences{}, belfry.Errorf(belfry.EINVALID, "category must not contain NUL characters")
		}
	}
	var out belfry.Preferences
	err := s.do(ctx, false, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			cur, err := scanPreferences(tx.QueryRow(ctx, lockPreferencesSQL, userID))
			if err != nil {
				return err
			}
			out = patch.Apply(cur)
			cats, err := json.Marshal(out.Categories)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE belfry_preferences SET default_in_app = $2,
				default_push = $3, default_webhook = $4, categories = $5 WHERE user_id = $1`,
				userID, out.Default.InApp, out.Default.Push, out.Default.Webhook, string(cats))
			return err
		})
	})
	if err != nil {
		return belfry.Preferences{}, classify("postgres", err)
	}
	return out, nil
}
