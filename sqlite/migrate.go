package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/belfry/belfry"
)

// migrations holds the schema changes, applied in the order of the number
// that starts each file name (0001_init.sql, 0002_….sql). A file is never
// edited once released: changes go in a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations in version order.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive number and '_'", e.Name())
		}
		b, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %q and %q share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// migrate brings the database to the newest schema in one IMMEDIATE
// transaction, so that processes opening the same new file at once apply
// each migration exactly once. A database newer than this binary is
// refused rather than guessed at.
func migrate(ctx context.Context, conn *sql.Conn) (err error) {
	ms, err := loadMigrations()
	if err != nil {
		return belfry.Unavailable("sqlite store", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return belfry.Unavailable("sqlite store", err)
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx,
		"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); err != nil {
		return belfry.Unavailable("sqlite store", err)
	}
	var current int
	if err := conn.QueryRowContext(ctx,
		"SELECT coalesce(max(version), 0) FROM schema_version").Scan(&current); err != nil {
		return belfry.Unavailable("sqlite store", err)
	}
	if newest := ms[len(ms)-1].version; current > newest {
		return belfry.Unavailable("sqlite store", fmt.Errorf(
			"database schema version %d is newer than this belfry's %d", current, newest))
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if _, err := conn.ExecContext(ctx, m.sql); err != nil {
			return belfry.Unavailable("sqlite store", fmt.Errorf("migration %s: %w", m.name, err))
		}
		current = m.version
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM schema_version"); err != nil {
		return belfry.Unavailable("sqlite store", err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO schema_version (version) VALUES (?)", current); err != nil {
		return belfry.Unavailable("sqlite store", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return belfry.Unavailable("sqlite store", err)
	}
	return nil
}
