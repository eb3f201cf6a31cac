package redisbus

import (
	"context"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/belfry/belfry"
)

// Options configures a Broker. Zero values take the defaults noted.
type Options struct {
	// Prefix names the deployment on its Redis: it begins the channel of
	// each user (see channel.go) and is the deployment id carried in every
	// message, which a node checks on receipt. Every node of one deployment
	// uses the same prefix; deployments that share a Redis use different
	// ones (a different database number in the URL does not separate them:
	// pub/sub is server-wide). 1 to MaxPrefixLen bytes, ending with ':'
	// (see ValidatePrefix). Default "belfry:u:".
	Prefix string
	// Timeout bounds each Publish and Ping, and is the dial, read and write
	// timeout of the connections unless the URL sets them. Default 2s.
	Timeout time.Duration
	// HealthInterval is how long the subscriber connection may stay silent
	// before it is pinged; if the ping is not answered within another
	// interval the connection is replaced (and the Receiver resynced).
	// Default 15s.
	HealthInterval time.Duration
	// MaxReconnectDelay caps the backoff between attempts to reconnect the
	// subscriber connection (it starts at 50ms and doubles). Default 2s.
	MaxReconnectDelay time.Duration
	// BatchSize is the most channels one SUBSCRIBE or UNSUBSCRIBE command
	// names. Default 512.
	BatchSize int
	// Logger receives connection losses and undecodable messages.
	// Default slog.Default().
	Logger *slog.Logger
}

const (
	defaultPrefix     = "belfry:u:"
	defaultTimeout    = 2 * time.Second
	defaultHealth     = 15 * time.Second
	defaultMaxDelay   = 2 * time.Second
	defaultBatchSize  = 512
	minReconnectDelay = 50 * time.Millisecond
)

func (o *Options) defaults() {
	if o.Prefix == "" {
		o.Prefix = defaultPrefix
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = defaultHealth
	}
	if o.MaxReconnectDelay <= 0 {
		o.MaxReconnectDelay = defaultMaxDelay
	}
	if o.BatchSize <= 0 {
		o.BatchSize = defaultBatchSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Open connects to the Redis at url (redis://[user:password@]host:port/db,
// rediss:// for TLS, or unix://; go-redis query options such as
// dial_timeout are honoured) and checks that it answers. Call Run to start
// receiving, and Close when done. Errors: EINVALID (a malformed URL, whose
// password the message never repeats, or a Prefix that ValidatePrefix
// refuses), EUNAVAILABLE (Redis does not answer within ctx and
// Options.Timeout).
func Open(ctx context.Context, url string, opts Options) (*Broker, error) {
	opts.defaults()
	if err := ValidatePrefix(opts.Prefix); err != nil {
		return nil, err
	}
	c, err := newClient(url, opts.Timeout)
	if err != nil {
		return nil, err
	}
	b := newBroker(c, opts)
	if err := b.Ping(ctx); err != nil {
		b.Close() // also ends the sender goroutine
		return nil, err
	}
	return b, nil
}

// newClient returns a client of the Redis at url whose dial, read, write
// and pool timeouts default to timeout, and whose commands end with their
// context. Errors: EINVALID (a malformed URL, whose password the message
// never repeats).
func newClient(url string, timeout time.Duration) (*redis.Client, error) {
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, belfry.Errorf(belfry.EINVALID,
			"invalid redis broker URL: want redis://[user:password@]host:port/db, rediss://… or unix://…")
	}
	if ro.DialTimeout <= 0 {
		ro.DialTimeout = timeout
	}
	if ro.ReadTimeout == 0 {
		ro.ReadTimeout = timeout
	}
	if ro.WriteTimeout == 0 {
		ro.WriteTimeout = timeout
	}
	if ro.PoolTimeout == 0 {
		ro.PoolTimeout = timeout
	}
	// A call whose caller set a deadline must not outlive it.
	ro.ContextTimeoutEnabled = true
	return redis.NewClient(ro), nil
}
