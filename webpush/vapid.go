package webpush

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/belfry/belfry"
)

const (
	// jwtLifetime is how long a VAPID JWT is good for; push services
	// refuse more than 24 hours (RFC 8292, section 2).
	jwtLifetime = 12 * time.Hour
	// jwtRenew is how long before its expiry a cached JWT is replaced, so
	// a push service whose clock is ahead of ours still takes it.
	jwtRenew = time.Hour
	// maxCachedJWTs bounds the cache: there is one audience per push
	// service, so a handful, unless Policy.Hosts is "*".
	maxCachedJWTs = 64
)

// checkSubject checks the VAPID subject: a mailto: or an https: URL the
// push service's operators can reach the sender at (RFC 8292, section 2.1).
func checkSubject(sub string) error {
	switch {
	case strings.HasPrefix(sub, "mailto:") && len(sub) > len("mailto:"):
	case strings.HasPrefix(sub, "https://") && len(sub) > len("https://"):
	default:
		return belfry.Errorf(belfry.EINVALID, "VAPID subject must be a mailto: or https:// URL, not %q", sub)
	}
	return nil
}

// signer signs VAPID JWTs and keeps each audience's JWT until it nears its
// expiry.
type signer struct {
	key     *Key
	subject string

	mu    sync.Mutex
	cache map[string]cachedJWT // by audience
}

type cachedJWT struct {
	token string
	exp   time.Time
}

// token returns a JWT for the audience (the endpoint's origin), signed no
// earlier than needed to be valid for at least jwtRenew after now.
func (s *signer) token(aud string, now time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cache[aud]; ok && now.Add(jwtRenew).Before(c.exp) {
		return c.token, nil
	}
	exp := now.Add(jwtLifetime).Truncate(time.Second)
	t, err := signJWT(s.key.priv, aud, s.subject, exp)
	if err != nil {
		return "", err
	}
	if s.cache == nil {
		s.cache = make(map[string]cachedJWT)
	}
	if len(s.cache) >= maxCachedJWTs {
		for a, c := range s.cache {
			if !now.Add(jwtRenew).Before(c.exp) {
				delete(s.cache, a)
			}
		}
		if len(s.cache) >= maxCachedJWTs {
			clear(s.cache)
		}
	}
	s.cache[aud] = cachedJWT{token: t, exp: exp}
	return t, nil
}

// signJWT returns an ES256 JWT with the claims aud, exp and sub: the
// signature is r and s, 32 bytes each (RFC 7518, section 3.4), not DER.
func signJWT(priv *ecdsa.PrivateKey, aud, sub string, exp time.Time) (string, error) {
	claims, err := json.Marshal(struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}{aud, exp.Unix(), sub})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`)) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, priv, digest[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + enc.EncodeToString(sig), nil
}
