package mongodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
)

var _ belfry.Store = (*Store)(nil)

// Collection names. notifications holds one document per notification,
// with the field names of the original Laravel model;
// notification_counters holds each user's last id, notification_leases
// the users being written, notification_preferences one document per user
// who set preferences, idempotency_keys the publish calls made with an
// Idempotency-Key, outbox the push and webhook jobs, outbox_claims the
// claims on them, and push_subscriptions one document per endpoint (see
// the package doc).
const (
	NotificationsCollection = "notifications"
	CountersCollection      = "notification_counters"
	LeasesCollection        = "notification_leases"
	PreferencesCollection   = "notification_preferences"
	KeysCollection          = "idempotency_keys"
	OutboxCollection        = "outbox"
	ClaimsCollection        = "outbox_claims"
	SubscriptionsCollection = "push_subscriptions"
)

// DefaultDatabase is the database used when the URI names none.
const DefaultDatabase = "belfry"

// Config configures a Store. Only URI is required.
type Config struct {
	// URI is a mongodb:// or mongodb+srv:// connection string. Its path
	// names the database (mongodb://host/app); the driver's options apply
	// (replicaSet, authSource, w, …).
	URI string

	// Database overrides the database of the URI. "" means the URI's, or
	// DefaultDatabase if the URI names none.
	Database string

	// Writers is the number of goroutines that insert batches of Create
	// calls. Each owns a fixed share of the users (by hash), so the
	// batches of two writers never share a user. 0 means 2. (On FerretDB
	// with SQLite, whose writes are serialized per database, 1 is
	// fastest; MongoDB takes concurrent batches.)
	Writers int

	// MaxBatch caps the notifications in one group insert. 0 means 1000.
	// One Create call is never split to fit (except across writers).
	MaxBatch int

	// WriteTimeout bounds one Create call from the moment a writer takes
	// it, including waits for a user that another node is writing.
	// 0 means 10s.
	WriteTimeout time.Duration

	// OpTimeout bounds each read, state change and Ping whose context has
	// no earlier deadline. 0 means 10s.
	OpTimeout time.Duration

	// ConnectTimeout bounds server selection and connection set-up, so an
	// unreachable server answers EUNAVAILABLE within it instead of the
	// driver's default 30s. 0 means 5s; a serverSelectionTimeoutMS or
	// connectTimeoutMS in the URI wins.
	ConnectTimeout time.Duration

	// LeaseTimeout is how long a writer may hold a user's counter before
	// another node may take it over (see the package doc). It must exceed
	// WriteTimeout plus the clock difference between nodes. 0 means 30s.
	LeaseTimeout time.Duration

	// Logger receives warnings (failed lease releases, repairs). nil means
	// slog.Default().
	Logger *slog.Logger

	// Now is the clock that decides expiry (a notification whose
	// expires_at is at or before Now is gone) and idempotency windows.
	// nil means time.Now.
	Now func() time.Time
}

// Store is the MongoDB implementation of belfry.Store. It is safe for
// concurrent use; several Stores (in several processes) may share one
// database.
type Store struct {
	client   *mongo.Client
	db       *mongo.Database
	notes    *mongo.Collection
	counters *mongo.Collection
	leases   *mongo.Collection
	prefs    *mongo.Collection
	keys     *mongo.Collection
	outbox   *mongo.Collection
	claims   *mongo.Collection
	subs     *mongo.Collection
	log      *slog.Logger
	now      func() time.Time

	writeTimeout time.Duration
	opTimeout    time.Duration
	leaseTimeout time.Duration
	maxBatch     int

	token   string        // this Store's lease owner prefix
	batches atomic.Uint64 // makes each batch's lease token unique
	seed    maphash.Seed  // shards users between writers
	shards  []chan *part  // one per writer
	quit    chan struct{} // closed once every accepted Create is answered
	wg      sync.WaitGroup

	mu      sync.RWMutex
	closed  bool
	pending sync.WaitGroup // Create calls accepted and not yet answered
	once    sync.Once
}

// Open connects to the MongoDB server of uri, for `--store mongodb://…`,
// creates the indexes and starts the writers. The database is the URI's
// path, or "belfry". Errors: EINVALID (a bad URI), EUNAVAILABLE (the server
// cannot be reached within the connect timeout, or refuses the indexes).
func Open(ctx context.Context, uri string) (*Store, error) {
	return OpenConfig(ctx, Config{URI: uri})
}

// OpenConfig is Open with settings. Errors: EINVALID, EUNAVAILABLE.
func OpenConfig(ctx context.Context, c Config) (*Store, error) {
	cs, err := connstring.ParseAndValidate(c.URI)
	if err != nil {
		// The parse error may quote the password: do not wrap it.
		return nil, belfry.Errorf(belfry.EINVALID, "mongodb: bad connection URI")
	}
	if c.Database == "" {
		c.Database = cs.Database
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.Writers <= 0 {
		c.Writers = 2
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1000
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = 10 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.LeaseTimeout <= 0 {
		c.LeaseTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	co := options.Client().SetServerSelectionTimeout(c.ConnectTimeout).
		SetConnectTimeout(c.ConnectTimeout).ApplyURI(c.URI)
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, belfry.Errorf(belfry.EINVALID, "mongodb: bad connection options")
	}
	var tok [8]byte
	rand.Read(tok[:])
	s := &Store{
		client:       client,
		db:           client.Database(c.Database),
		log:          c.Logger,
		now:          c.Now,
		writeTimeout: c.WriteTimeout,
		opTimeout:    c.OpTimeout,
		leaseTimeout: c.LeaseTimeout,
		maxBatch:     c.MaxBatch,
		token:        hex.EncodeToString(tok[:]),
		seed:         maphash.MakeSeed(),
		quit:         make(chan struct{}),
	}
	s.notes = s.db.Collection(NotificationsCollection)
	s.counters = s.db.Collection(CountersCollection)
	s.leases = s.db.Collection(LeasesCollection)
	s.prefs = s.db.Collection(PreferencesCollection)
	s.keys = s.db.Collection(KeysCollection)
	s.outbox = s.db.Collection(OutboxCollection)
	s.claims = s.db.Collection(ClaimsCollection)
	s.subs = s.db.Collection(SubscriptionsCollection)
	ictx, cancel := s.opCtx(ctx)
	defer cancel()
	if err := s.ensureIndexes(ictx); err != nil {
		client.Disconnect(context.Background())
		return nil, classify("mongodb", err)
	}
	for range c.Writers {
		ch := make(chan *part, 256)
		s.shards = append(s.shards, ch)
		s.wg.Go(func() { s.writer(ch) })
	}
	return s, nil
}

// ensureIndexes creates the indexes every query relies on (a no-op when
// they exist, so it is also the migration of a database made by an older
// belfry: documents without the newer fields need nothing else). The
// unique (user_id, seq) index is what makes ids unique and commit order
// safe even if two writers ever collide; the unique idempotency_slot index
// is what keeps an idempotent publish from creating a notification twice.
// The _id indexes keep a job id, a claim number and an endpoint unique.
// One index per command: FerretDB v1.24 panics when one createIndexes
// names two indexes that both exist already.
func (s *Store) ensureIndexes(ctx context.Context) error {
	idx := func(name string, keys ...string) mongo.IndexModel {
		d := bson.D{}
		for _, k := range keys {
			d = append(d, bson.E{Key: k, Value: 1})
		}
		return mongo.IndexModel{Keys: d, Options: options.Index().SetName(name)}
	}
	unique := idx("user_id_seq", "user_id", "seq")
	unique.Options.SetUnique(true)
	slot := idx("idempotency_slot", "idempotency_slot")
	slot.Options.SetUnique(true).SetSparse(true)
	expiry := idx("expires_at", "expires_at")
	expiry.Options.SetSparse(true)
	for _, m := range []mongo.IndexModel{
		unique,
		// Unread counts, List(unread), ReadAll.
		idx("user_id_read_at_seq", "user_id", "read_at", "seq"),
		// Unseen counts, List(unseen), SeeAll.
		idx("user_id_seen_at_seq", "user_id", "seen_at", "seq"),
		// Purge: expired notifications, then retention by age.
		expiry,
		idx("created_at", "created_at"),
		slot,
	} {
		if _, err := s.notes.Indexes().CreateOne(ctx, m); err != nil {
			return err
		}
	}
	for _, m := range []struct {
		c *mongo.Collection
		m mongo.IndexModel
	}{
		{s.counters, idx("user_id", "user_id")},
		{s.keys, idx("expires_at", "expires_at")},
		// Claim: pending jobs by due time.
		{s.outbox, idx("failed_due_id", "failed", "due", "_id")},
		// FailedJobs, newest first (the index read backwards).
		{s.outbox, idx("failed_kind_created_id", "failed", "kind", "created", "_id")},
		// Purge: failed jobs by age.
		{s.outbox, idx("failed_created", "failed", "created")},
		// Settle deletes a job's claims.
		{s.claims, idx("job", "job")},
		// SubscriptionsOf, Subscribe's count, OnlyIfSubscribed.
		{s.subs, idx("user_id_created_at_id", "user_id", "created_at", "_id")},
	} {
		if _, err := m.c.Indexes().CreateOne(ctx, m.m); err != nil {
			return err
		}
	}
	return nil
}

// Ping reports whether the server answers. Errors: EUNAVAILABLE.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return belfry.Unavailable("mongodb", err)
	}
	return nil
}

// Close waits for the Create calls already accepted to be stored (or to
// fail), stops the writers and disconnects. Calls made after Close return
// EUNAVAILABLE. Close is idempotent and always returns nil.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.pending.Wait()
		close(s.quit)
		s.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), s.opTimeout)
		defer cancel()
		s.client.Disconnect(ctx)
	})
	return nil
}

// opCtx bounds one operation by OpTimeout unless ctx ends sooner.
func (s *Store) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opTimeout)
}

var errClosed = errors.New("store is closed")

// Server error codes that mean "not now" rather than "never": the server is
// unreachable, stepping down, shutting down or out of time.
var unavailableCodes = map[int32]bool{
	6: true, 7: true, 50: true, 64: true, 89: true, 91: true, 189: true,
	262: true, 9001: true, 10107: true, 11600: true, 11602: true,
	13435: true, 13436: true,
}

// Server error codes for data the server will not take (a document too
// large, a bad value).
var invalidCodes = map[int32]bool{2: true, 10334: true, 17280: true}

// classify turns a driver error into a belfry error. Whatever keeps the
// server from answering (network, server selection, timeouts, cancelled
// contexts, a disconnected client, a primary stepping down) is
// EUNAVAILABLE. Data the server refuses is EINVALID. Anything else the
// server refuses is a bug: EINTERNAL. A nil err is nil.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	var be *belfry.Error
	if errors.As(err, &be) {
		return err
	}
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, mongo.ErrClientDisconnected) || errors.Is(err, errClosed) {
		return belfry.Unavailable(what, err)
	}
	var se mongo.ServerError
	if !errors.As(err, &se) {
		// Server selection and connection errors are not ServerErrors.
		return belfry.Unavailable(what, err)
	}
	if se.HasErrorLabel("RetryableWriteError") || se.HasErrorLabel("TransientTransactionError") {
		return belfry.Unavailable(what, err)
	}
	for c := range unavailableCodes {
		if se.HasErrorCode(int(c)) {
			return belfry.Unavailable(what, err)
		}
	}
	for c := range invalidCodes {
		if se.HasErrorCode(int(c)) {
			return &belfry.Error{Code: belfry.EINVALID, Message: "the database refused the data", Err: err}
		}
	}
	return &belfry.Error{Code: belfry.EINTERNAL, Message: what + " failed", Err: err}
}

// transient reports whether err may pass if the same write is tried again.
func transient(err error) bool {
	return belfry.ErrorCode(classify("", err)) == belfry.EUNAVAILABLE &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
