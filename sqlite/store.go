package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/belfry/belfry"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

var _ belfry.Store = (*Store)(nil)

// Config configures a Store. Only Path is required; every other field has
// a default when left zero.
type Config struct {
	// Path is the database file, created if missing. It may not be
	// ":memory:" (each connection would see its own database) and may not
	// contain '?'.
	Path string

	// Synchronous is SQLite's synchronous setting: "FULL" (the default)
	// makes an acknowledged notification survive a power loss or an OS
	// crash; "NORMAL" survives a killed process but may lose the last
	// commits on power loss, for less fsync work. See the package doc.
	Synchronous string

	// MaxBatch bounds the notifications (plus one per state change) that
	// the writer commits in one transaction; a call is never split, so
	// the bound is only checked between calls. Default 4000, four calls
	// of belfry.MaxUsersPerCall. A commit dirties about one index leaf
	// per user it names, up to every leaf of the per-user indexes, so
	// fewer, larger commits write fewer pages per notification
	// (docs/PERFORMANCE.md).
	MaxBatch int

	// CommitInterval, when above zero, is the least time between the
	// starts of two commits while callers are concurrent: a batch is held
	// until it has passed, gathering the calls that arrive meanwhile, so
	// that a steady stream of calls shares fewer commits (see hold.go). A
	// lone caller, or a call that finds the store quiet for longer, is
	// committed at once. Default 0: every batch is committed as soon as
	// the queue is empty. It trades latency for CPU: each caller may wait
	// up to the interval longer, and each commit's fixed cost is shared by
	// more calls (docs/PERFORMANCE.md has the figures).
	CommitInterval time.Duration

	// QueueSize is how many write calls may wait for the writer before
	// callers block. Default 1024.
	QueueSize int

	// ReadConns is the size of the read-only connection pool. Default 4.
	ReadConns int

	// BusyTimeout is how long a connection waits for another process's
	// lock on the file before failing with EUNAVAILABLE. Default 10s.
	BusyTimeout time.Duration

	// Now is the clock for CreatedAt. Default time.Now.
	Now func() time.Time

	// newPageSize is the page size of a file this Config creates:
	// pageSize, unless a test asks for another to see that it takes.
	newPageSize int
}

// pageSize is the page size of a database this package creates. A
// database keeps the page size it was created with; see the package doc
// (Page size) for why 4 KiB and how to convert a file.
const pageSize = 4096

// autocheckpointBytes is how much WAL the write connection lets grow
// before it checkpoints inside a commit.
const autocheckpointBytes = 16 << 20

// setAutocheckpoint sets the write connection's wal_autocheckpoint, which
// counts pages, to autocheckpointBytes in the file's own page size (an
// older file keeps 4 KiB pages).
func setAutocheckpoint(ctx context.Context, conn *sql.Conn) error {
	var ps int
	if err := conn.QueryRowContext(ctx, "PRAGMA page_size").Scan(&ps); err != nil {
		return err
	}
	if ps <= 0 {
		return fmt.Errorf("page_size %d", ps)
	}
	_, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint=%d", autocheckpointBytes/ps))
	return err
}

// Store is the SQLite implementation of belfry.Store. Writes go through one
// writer goroutine that commits whatever has queued up in one transaction
// (group commit); reads use a separate pool of read-only connections. It is
// safe for concurrent use.
type Store struct {
	cfg    Config
	wdb    *sql.DB // one connection, owned by the writer goroutine
	rdb    *sql.DB // read-only pool
	reads  readStmts
	writer *writer

	mu       sync.RWMutex // guards closed against sends on queue
	closed   bool
	queue    chan *request
	done     chan struct{} // closed when the writer goroutine has returned
	closeErr error
	once     sync.Once
}

// errClosed is the cause of EUNAVAILABLE after Close.
var errClosed = errors.New("sqlite store is closed")

// Open opens (creating if needed) the database file at path with the
// default Config, applies the embedded migrations and starts the writer.
// Use ParseDSN to turn a --store value such as "sqlite:belfry.db" into a
// path. Errors: EINVALID (bad path), EUNAVAILABLE (cannot open or migrate).
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenConfig(ctx, Config{Path: path})
}

// OpenConfig is Open with every setting of Config.
// Errors: EINVALID (bad path or setting), EUNAVAILABLE.
func OpenConfig(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, queue: make(chan *request, cfg.QueueSize), done: make(chan struct{})}

	pragmas := fmt.Sprintf("_pragma=busy_timeout(%d)", cfg.BusyTimeout.Milliseconds())
	var err error
	// The driver runs the _pragma list sorted by name, and the shorthand
	// keys after it. page_size only takes on a database not yet written,
	// and switching to WAL writes it; so WAL is the _journal_mode
	// shorthand, which comes after page_size.
	s.wdb, err = sql.Open("sqlite", cfg.Path+"?"+pragmas+
		fmt.Sprintf("&_pragma=page_size(%d)", cfg.newPageSize)+
		"&_journal_mode=WAL&_pragma=synchronous("+cfg.Synchronous+")"+
		"&_pragma=journal_size_limit(67108864)")
	if err != nil {
		return nil, belfry.Unavailable("sqlite store", err)
	}
	s.wdb.SetMaxOpenConns(1)
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		s.wdb.Close()
		return nil, belfry.Unavailable("sqlite store", err)
	}
	if err := migrate(ctx, conn); err != nil {
		conn.Close()
		s.wdb.Close()
		return nil, err
	}
	if err := setAutocheckpoint(ctx, conn); err != nil {
		conn.Close()
		s.wdb.Close()
		return nil, belfry.Unavailable("sqlite store", err)
	}
	s.writer, err = newWriter(ctx, conn, cfg.Now)
	if err != nil {
		conn.Close()
		s.wdb.Close()
		return nil, belfry.Unavailable("sqlite store", err)
	}

	// Readers: WAL lets them run beside the writer and each other, each
	// query on the latest committed snapshot. query_only makes a bug that
	// writes through this pool fail instead of contending with the writer.
	s.rdb, err = sql.Open("sqlite", cfg.Path+"?"+pragmas+"&_pragma=query_only(1)")
	if err == nil {
		s.rdb.SetMaxOpenConns(cfg.ReadConns)
		s.rdb.SetMaxIdleConns(cfg.ReadConns)
		err = s.reads.prepare(ctx, s.rdb)
	}
	if err != nil {
		s.writer.close()
		s.wdb.Close()
		if s.rdb != nil {
			s.rdb.Close()
		}
		return nil, belfry.Unavailable("sqlite store", err)
	}
	go s.run()
	return s, nil
}

func (c *Config) setDefaults() error {
	if c.Path == "" || c.Path == ":memory:" || strings.HasPrefix(c.Path, "file::memory:") {
		return belfry.Errorf(belfry.EINVALID, "sqlite store needs a database file path")
	}
	if strings.ContainsRune(c.Path, '?') {
		return belfry.Errorf(belfry.EINVALID, "sqlite store path may not contain '?'")
	}
	switch strings.ToUpper(c.Synchronous) {
	case "":
		c.Synchronous = "FULL"
	case "FULL", "NORMAL":
		c.Synchronous = strings.ToUpper(c.Synchronous)
	default:
		return belfry.Errorf(belfry.EINVALID, "sqlite synchronous must be FULL or NORMAL, not %q", c.Synchronous)
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 4 * belfry.MaxUsersPerCall
	}
	if c.newPageSize <= 0 {
		c.newPageSize = pageSize
	}
	if c.CommitInterval < 0 {
		return belfry.Errorf(belfry.EINVALID, "sqlite commit interval %s is negative", c.CommitInterval)
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.ReadConns <= 0 {
		c.ReadConns = 4
	}
	if c.BusyTimeout <= 0 {
		c.BusyTimeout = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// ParseDSN returns the database path of a --store value: "sqlite:PATH"
// (relative or absolute) or "sqlite://PATH" ("sqlite:///var/lib/belfry.db"
// is the absolute /var/lib/belfry.db). Percent-escapes are decoded.
// Errors: EINVALID.
func ParseDSN(dsn string) (string, error) {
	rest, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok {
		return "", belfry.Errorf(belfry.EINVALID, "sqlite store must look like sqlite:PATH, got %q", dsn)
	}
	rest = strings.TrimPrefix(rest, "//")
	path, err := url.PathUnescape(rest)
	if err != nil {
		return "", belfry.Errorf(belfry.EINVALID, "sqlite store path %q: %v", rest, err)
	}
	c := Config{Path: path}
	if err := c.setDefaults(); err != nil {
		return "", err
	}
	return path, nil
}

// Ping reports whether the database answers and the store is open.
// Errors: EUNAVAILABLE.
func (s *Store) Ping(ctx context.Context) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return belfry.Unavailable("sqlite store", errClosed)
	}
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return belfry.Unavailable("sqlite store", err)
	}
	return nil
}

// Close commits every write already queued, answers its caller, stops the
// writer and closes the database. Calls after Close fail with EUNAVAILABLE.
// Close is idempotent; it returns the error of closing the database.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.queue)
		s.mu.Unlock()
		<-s.done
		s.closeErr = errors.Join(s.writer.close(), s.wdb.Close(), s.reads.close(), s.rdb.Close())
	})
	return s.closeErr
}
