package bench

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Config is one bench run. Zero values take the defaults noted; Main fills
// it from the command line.
type Config struct {
	// Scenario: idle, targeted, broadcast, storm or floor. Default targeted.
	Scenario string

	// URL is the server's base URL; StreamURL and PublishURL default to
	// URL + "/notifications/stream?token={{token}}" and
	// URL + "/api/notifications". Default http://127.0.0.1:8080.
	URL        string
	StreamURL  string   // template; http:// only (the stream clients speak raw HTTP/1.1)
	PublishURL string   // template
	StreamHdrs []string // header templates for streams, "Name: value"
	// PublishBody is the body of a publish to one user. Default
	// {"user_id":"{{user}}","message":"{{payload}}"}.
	PublishBody string
	// PublishBodyMulti is the body of a publish to several users (Batch >
	// 1). Default {"user_ids":{{users}},"message":"{{payload}}"}.
	PublishBodyMulti string
	PublishHdrs      []string // header templates for publishes; default "Authorization: Bearer {{api_key}}" when APIKey is set
	APIKey           string   // the publisher's key ({{api_key}})

	JWTSecret  string        // mint user tokens: HS256, sub = user, exp = now + TokenTTL
	TokensFile string        // or read "USER TOKEN" lines from this file (users in file order)
	TokenTTL   time.Duration // default 1h
	UserPrefix string        // generated user ids are UserPrefix + number; default "bench-<random>-"

	Streams int // open streams; default 1000
	Users   int // users the streams are spread over (round robin); default Streams
	// Shuffle publishes to the users in a fixed random order instead of
	// the order of their ids: consecutive publishes then name users far
	// apart in a store's per-user indexes, as an application's would.
	Shuffle    bool
	Publishers int     // concurrent publishing requests; default 16
	Publishes  int     // publish requests: default 1000 (targeted), 10 (broadcast)
	Batch      int     // users per publish request (user_ids): default 1 (targeted, storm), 1000 (broadcast)
	Rate       float64 // publish requests per second, paced; 0: as fast as they go
	Missed     int     // storm: notifications each user misses while down; default 5

	Duration time.Duration // idle: how long to hold the streams (default 10s); else a cap on publishing (default 60s)
	Drain    time.Duration // how long to wait for deliveries after the last publish; default 30s
	Timeout  time.Duration // hard deadline of the whole run; default 5m

	Procs       int // worker processes; default: one per PerProc streams (1: in-process)
	PerProc     int // streams per process when Procs is 0; default 15000
	SourceAddrs int // local 127.0.0.x addresses to dial from; default 16 (loopback IPv4 targets only)
	BufSize     int // read buffer per stream; default 2048
	ConnConc    int // streams connecting at once per process; default 256
	// ReconnectConc bounds the streams reconnecting at once per process in
	// a storm; default 0: all at once, as after a server restart.
	ReconnectConc int
	SyncEvent     string // a stream is connected when this event arrives; default "sync"; "-": at the response head
	CPUProfile    string // write a CPU profile of the in-process run here
	ServerPID     int    // the server's pid for RSS and CPU; default: the process listening on the stream port
	AllowRemote   bool   // allow non-loopback hosts

	Rounds     int // floor: frames written to each socket; default 20
	FrameBytes int // floor: size of the frame; default 300

	// WorkerCommand starts a worker process; default: this executable with
	// the arguments "bench --worker".
	WorkerCommand []string
}

// setDefaults fills the zero values and checks the rest.
// Errors: a usage error describing the bad value.
func (c *Config) setDefaults() error {
	if c.Scenario == "" {
		c.Scenario = "targeted"
	}
	switch c.Scenario {
	case "idle", "targeted", "broadcast", "storm", "floor":
	default:
		return fmt.Errorf("unknown scenario %q (idle, targeted, broadcast, storm, floor)", c.Scenario)
	}
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&c.Streams, 1000)
	def(&c.Users, c.Streams)
	c.Users = min(c.Users, c.Streams)
	def(&c.Publishers, 16)
	if c.Scenario == "broadcast" {
		def(&c.Publishes, 10)
		def(&c.Batch, 1000)
	} else {
		def(&c.Publishes, 1000)
		def(&c.Batch, 1)
	}
	c.Batch = min(c.Batch, c.Users)
	def(&c.Missed, 5)
	def(&c.PerProc, 15000)
	def(&c.SourceAddrs, 16)
	def(&c.BufSize, 2048)
	def(&c.ConnConc, 256)
	def(&c.Rounds, 20)
	def(&c.FrameBytes, 300)
	if c.Duration <= 0 {
		c.Duration = 60 * time.Second
		if c.Scenario == "idle" {
			c.Duration = 10 * time.Second
		}
	}
	if c.Drain <= 0 {
		c.Drain = 30 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = time.Hour
	}
	if c.SyncEvent == "" {
		c.SyncEvent = "sync"
	}
	if c.URL == "" {
		c.URL = "http://127.0.0.1:8080"
	}
	base := strings.TrimRight(c.URL, "/")
	if c.StreamURL == "" {
		c.StreamURL = base + "/notifications/stream?token={{token}}"
	}
	if c.PublishURL == "" {
		c.PublishURL = base + "/api/notifications"
	}
	if c.PublishBody == "" {
		c.PublishBody = `{"user_id":"{{user}}","message":"{{payload}}"}`
	}
	if c.PublishBodyMulti == "" {
		c.PublishBodyMulti = `{"user_ids":{{users}},"message":"{{payload}}"}`
	}
	if c.PublishHdrs == nil && c.APIKey != "" {
		c.PublishHdrs = []string{"Authorization: Bearer {{api_key}}"}
	}
	if c.UserPrefix == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		c.UserPrefix = "bench-" + hex.EncodeToString(b[:]) + "-"
	}
	if c.Procs <= 0 {
		c.Procs = (c.Streams + c.PerProc - 1) / c.PerProc
	}
	return nil
}

// target is where the stream clients dial.
type target struct {
	addr     string // host:port to dial
	sources  []string
	hostPort string // the Host header
}

// checkURL parses a rendered URL and refuses non-loopback hosts unless
// allowRemote. Errors: a usage error.
func checkURL(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bad URL %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: scheme must be http or https", raw)
	}
	if !allowRemote && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("URL %q is not on this machine (loopback); pass --allow-remote to load a remote server", raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// streamTarget resolves where the stream clients dial, and the local
// source addresses they spread over (127.0.0.1..N for a loopback IPv4
// target; none otherwise).
func (c *Config) streamTarget(u *url.URL) (target, error) {
	if u.Scheme != "http" {
		return target{}, fmt.Errorf("the stream URL must be http:// (the lean stream clients do not speak TLS)")
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	t := target{addr: net.JoinHostPort(host, port), hostPort: u.Host}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() && ip.To4() != nil {
		for i := 1; i <= c.SourceAddrs && i < 255; i++ {
			t.sources = append(t.sources, "127.0.0."+strconv.Itoa(i))
		}
	}
	return t, nil
}

// users returns the user ids and their tokens (empty strings when neither
// a secret nor a tokens file is given). Errors: the tokens file cannot be
// read or holds no user.
func (c *Config) users() (ids, tokens []string, err error) {
	ids, tokens, err = c.readUsers()
	if err == nil && c.Shuffle {
		shuffleUsers(ids, tokens)
	}
	return ids, tokens, err
}

// shuffleUsers puts ids and their tokens in the same random order, the
// same in every run.
func shuffleUsers(ids, tokens []string) {
	r := mrand.New(mrand.NewPCG(1, 2))
	r.Shuffle(len(ids), func(i, j int) {
		ids[i], ids[j] = ids[j], ids[i]
		tokens[i], tokens[j] = tokens[j], tokens[i]
	})
}

func (c *Config) readUsers() (ids, tokens []string, err error) {
	if c.TokensFile != "" {
		f, err := os.Open(c.TokensFile)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 64<<10)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) == 0 || strings.HasPrefix(fs[0], "#") {
				continue
			}
			if len(fs) != 2 {
				return nil, nil, fmt.Errorf("%s: want lines \"USER TOKEN\"", c.TokensFile)
			}
			ids, tokens = append(ids, fs[0]), append(tokens, fs[1])
		}
		if err := sc.Err(); err != nil {
			return nil, nil, err
		}
		if len(ids) == 0 {
			return nil, nil, fmt.Errorf("%s holds no users", c.TokensFile)
		}
		// The streams spread over the file's users, or over the first
		// --users of them.
		if len(ids) > c.Users {
			ids, tokens = ids[:c.Users], tokens[:c.Users]
		}
		c.Users = len(ids)
		c.Batch = min(c.Batch, c.Users)
		return ids, tokens, nil
	}
	ids = make([]string, c.Users)
	tokens = make([]string, c.Users)
	exp := jwt.NewNumericDate(time.Now().Add(c.TokenTTL))
	for i := range ids {
		ids[i] = c.UserPrefix + strconv.Itoa(i)
		if c.JWTSecret == "" {
			continue
		}
		claims := jwt.RegisteredClaims{Subject: ids[i], ExpiresAt: exp}
		tokens[i], err = jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(c.JWTSecret))
		if err != nil {
			return nil, nil, err
		}
	}
	return ids, tokens, nil
}

// streamSpecs renders each stream's request head: stream i belongs to user
// i mod Users. Errors: a template or URL error.
func (c *Config) streamSpecs(ids, tokens []string) ([]streamSpec, target, error) {
	ut, err := ParseTemplate(c.StreamURL)
	if err != nil {
		return nil, target{}, err
	}
	hts := make([]*Template, len(c.StreamHdrs))
	for i, h := range c.StreamHdrs {
		if !strings.Contains(h, ":") {
			return nil, target{}, fmt.Errorf("stream header %q: want \"Name: value\"", h)
		}
		if hts[i], err = ParseTemplate(h); err != nil {
			return nil, target{}, err
		}
	}
	specs := make([]streamSpec, c.Streams)
	var tg target
	var b []byte
	for i := range specs {
		u := i % len(ids)
		v := Vars{"user": ids[u], "token": url.QueryEscape(tokens[u])}
		raw := ut.Render(v)
		if i < len(ids) { // every distinct URL is checked once
			pu, err := checkURL(raw, c.AllowRemote)
			if err != nil {
				return nil, target{}, err
			}
			if i == 0 {
				if tg, err = c.streamTarget(pu); err != nil {
					return nil, target{}, err
				}
			} else if pu.Host != tg.hostPort {
				return nil, target{}, fmt.Errorf("the stream URL's host must not depend on the user")
			}
			b = b[:0]
			b = append(b, "GET "...)
			b = append(b, pu.RequestURI()...)
			b = append(b, " HTTP/1.1\r\nHost: "...)
			b = append(b, pu.Host...)
			b = append(b, "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n"...)
			hv := Vars{"user": ids[u], "token": tokens[u]}
			for _, ht := range hts {
				b = ht.Append(b, hv)
				b = append(b, "\r\n"...)
			}
			specs[i] = streamSpec{User: ids[u], Head: string(b)}
		} else {
			specs[i] = specs[u]
		}
	}
	return specs, tg, nil
}
