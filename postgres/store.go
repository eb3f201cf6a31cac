package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/belfry/belfry"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ belfry.Store = (*Store)(nil)

// Config configures a Store. Only URL is required.
type Config struct {
	// URL is a postgres:// connection URL. pgx's parameters apply, e.g.
	// search_path=belfry (where the tables go; the schema must exist),
	// connect_timeout=2 (default here: 5 seconds, so that an unreachable
	// database is reported instead of waited for) and pool_max_conns=16
	// (default: the larger of 4 and the number of CPUs).
	URL string

	// Writers is the number of goroutines that commit batches of Create
	// calls. 0 means 2: one batch is committing while the next one forms.
	Writers int

	// MaxBatch caps the notifications in one group commit. 0 means 2000. A
	// single Create with more notifications is committed on its own.
	MaxBatch int

	// WriteTimeout bounds one group commit, or one Publish with an
	// idempotency key, including a slow or lost connection. 0 means 10s.
	WriteTimeout time.Duration

	// Now is the store's clock: what has expired (notifications,
	// idempotency keys) and the CreatedAt of new notifications. nil means
	// time.Now. Nodes sharing a database should keep their clocks in sync.
	Now func() time.Time
}

// defaultConnectTimeout applies when the URL sets no connect_timeout.
const defaultConnectTimeout = 5 * time.Second

// Store is the PostgreSQL implementation of belfry.Store. It is safe for
// concurrent use; several Stores (on several nodes) may share one database.
type Store struct {
	pool         *pgxpool.Pool
	writeTimeout time.Duration
	maxBatch     int
	clock        func() time.Time

	reqs chan *createReq // to the writers
	quit chan struct{}   // closed once every accepted Create is answered
	wg   sync.WaitGroup  // the writers

	purgeMu     sync.Mutex
	purgeFrom   string // the user after which Purge's sweep goes on
	sweepWindow int    // users read by one statement of the sweep

	mu      sync.RWMutex
	closed  bool
	pending sync.WaitGroup // writes accepted and not yet answered (see hold)
	once    sync.Once
}

// Open connects to the database at url, applies the pending migrations and
// starts the writers. Errors: EINVALID (a bad URL), EUNAVAILABLE (the
// database cannot be reached or migrated).
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenConfig(ctx, Config{URL: url})
}

// OpenConfig is Open with settings. Errors: EINVALID, EUNAVAILABLE.
func OpenConfig(ctx context.Context, c Config) (*Store, error) {
	pc, err := pgxpool.ParseConfig(c.URL)
	if err != nil {
		// The parse error may quote the password: do not wrap it.
		return nil, belfry.Errorf(belfry.EINVALID, "postgres: bad connection URL")
	}
	// The ids rely on READ COMMITTED: a Create that waited for a user's
	// counter lock then updates the committed counter. Under REPEATABLE
	// READ or SERIALIZABLE (if the database defaults to them) it would fail
	// with a serialization error instead.
	pc.ConnConfig.RuntimeParams["default_transaction_isolation"] = "read committed"
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if c.Writers <= 0 {
		c.Writers = 2
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 2000
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, belfry.Unavailable("postgres", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, classify("postgres migration", err)
	}
	s := &Store{
		pool:         pool,
		writeTimeout: c.WriteTimeout,
		maxBatch:     c.MaxBatch,
		clock:        c.Now,
		sweepWindow:  sweepWindow,
		reqs:         make(chan *createReq),
		quit:         make(chan struct{}),
	}
	for range c.Writers {
		s.wg.Go(s.writer)
	}
	return s, nil
}

// Ping reports whether the database answers. Errors: EUNAVAILABLE.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.do(ctx, true, func() error { return s.pool.Ping(ctx) }); err != nil {
		return belfry.Unavailable("postgres", err)
	}
	return nil
}

// Close waits for the Create and Publish calls already accepted to be
// committed (or to fail), stops the writers and closes the pool. Calls made after Close
// return EUNAVAILABLE. Close is idempotent and always returns nil.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.pending.Wait()
		close(s.quit)
		s.wg.Wait()
		s.pool.Close()
	})
	return nil
}

// classify turns a driver error into a belfry error. Whatever keeps the
// database from answering (network, timeouts, cancelled contexts, a closed
// pool, a server shutting down or out of resources, a deadlock or
// serialization failure that outlived its retries) is EUNAVAILABLE: the
// statement did not happen and may be retried. A data exception (class 22)
// is EINVALID. Anything else the server refuses is a bug: EINTERNAL.
func classify(what string, err error) error {
	var be *belfry.Error
	if errors.As(err, &be) {
		return err
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return belfry.Unavailable(what, err)
	}
	switch pe.Code[:2] {
	case "08", // connection exception
		"40", // transaction rollback: serialization failure, deadlock
		"53", // insufficient resources
		"57", // operator intervention: shutdown, statement timeout
		"58": // system error
		return belfry.Unavailable(what, err)
	case "22": // data exception
		return &belfry.Error{Code: belfry.EINVALID, Message: "the database refused the data", Err: err}
	}
	return &belfry.Error{Code: belfry.EINTERNAL, Message: what + " failed", Err: err}
}

// retryable reports whether err is worth one more attempt right away: the
// request never reached the server (a dead pooled connection after a
// database restart), or the server asks for a retry. A read may also be
// retried when its connection broke, since running it twice is harmless.
func retryable(err error, read bool) bool {
	if pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return read && connLost(err)
}

// connLost reports whether err says an established connection broke: a
// network error or an unexpected end of stream, as opposed to the server
// refusing a statement, a new connection failing, or the caller's context
// ending.
func connLost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// attempts is how many times do tries a retryable statement.
const attempts = 3

// do runs f, again while it fails with a retryable error and ctx lasts.
// f must be atomic (one statement or one transaction); read says it
// changes nothing. When a connection broke, the pool is emptied: after a
// database restart or a network cut every pooled connection is dead, and
// each would otherwise fail one more call before the pool noticed.
func (s *Store) do(ctx context.Context, read bool, f func() error) error {
	var err error
	for range attempts {
		err = f()
		if err == nil {
			return nil
		}
		if connLost(err) && ctx.Err() == nil && !s.isClosed() {
			s.pool.Reset()
		}
		if !retryable(err, read) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// now returns the store's clock: what has expired is compared with it at
// full precision; CreatedAt takes it at the stored one (belfry.Now).
func (s *Store) now() time.Time { return s.clock() }

// hold admits a write that Close must wait for, or refuses it once the
// Store is closed; release must be called when the write is answered.
// Errors: EUNAVAILABLE.
func (s *Store) hold() (release func(), err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, belfry.Unavailable("postgres", errClosed)
	}
	s.pending.Add(1)
	return s.pending.Done, nil
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

var errClosed = errors.New("store is closed")
