package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/belfry/belfry"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockClass is the first key of the advisory lock held while
// migrating; the second key is a hash of the schema, so belfry instances in
// different schemas of one database do not wait for each other.
const migrationLockClass = 0x62656c66 // "belf"

// migration is one file of migrations/, named NNN_what.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive number and _", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %q and %q have the same version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate brings the schema up to date. It holds a session advisory lock
// for the whole run, so that several nodes starting at once apply each
// migration exactly once: the others wait, then find nothing to do. Each
// migration runs in its own transaction together with its schema_version
// row, so a crash leaves either all of it or none. A database migrated by a
// newer belfry (versions this binary does not know) is left alone:
// migrations only add, so older nodes keep working during a rolling upgrade.
func migrate(ctx context.Context, pool *pgxpool.Pool) (err error) {
	ms, err := migrations()
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var schema *string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	if schema == nil {
		return belfry.Errorf(belfry.EINVALID, "postgres: no schema of the search_path exists")
	}
	const lockKey = `hashtext(current_schema())`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, `+lockKey+`)`, migrationLockClass); err != nil {
		return err
	}
	defer func() {
		_, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, `+lockKey+`)`, migrationLockClass)
		if uerr != nil {
			// A session lock lives as long as its connection: close it
			// rather than hand a connection still holding the lock back
			// to the pool.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
			if err == nil {
				err = uerr
			}
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS belfry_schema_version (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return err
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, `SELECT version FROM belfry_schema_version`)
	if err != nil {
		return err
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return err
	}
	for _, v := range versions {
		applied[int(v)] = true
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if err := applyMigration(ctx, conn.Conn(), m); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, conn *pgx.Conn, m migration) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// No arguments: pgx sends it with the simple protocol, which
		// accepts several statements in one string.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO belfry_schema_version (version, name) VALUES ($1, $2)`,
			m.version, m.name)
		return err
	})
}
