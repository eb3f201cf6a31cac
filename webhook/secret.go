package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// SecretPrefix starts a symmetric signing secret in its serialized form.
const SecretPrefix = "whsec_"

// The lengths, in decoded bytes, that ParseSecret accepts: the Standard
// Webhooks specification asks for at least 24 random bytes (192 bits) and at
// most 512 bits.
const (
	MinKeyLen = 24
	MaxKeyLen = 64
)

// newKeyLen is the length of the keys NewSecret makes.
const newKeyLen = 32

// ParseSecret decodes a signing secret, "whsec_" followed by the key in
// standard base64 (with padding), into the HMAC key. The prefix may be left
// out: every Standard Webhooks verifier accepts a bare base64 key, and
// providers often show the secret that way, so a receiver's configuration
// can be pasted in as it is. Spaces around the secret (a trailing newline
// from a file) are ignored. A key shorter than MinKeyLen or longer than
// MaxKeyLen bytes is refused, and so is an asymmetric key ("whsk_",
// "whpk_"), which this package does not sign with.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "whsk_") || strings.HasPrefix(s, "whpk_") {
		return nil, fmt.Errorf("webhook secret: %s… is an asymmetric (ed25519) key; want a %s secret", s[:5], SecretPrefix)
	}
	b64 := strings.TrimPrefix(s, SecretPrefix)
	if b64 == "" {
		return nil, fmt.Errorf("webhook secret is empty")
	}
	key, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("webhook secret: want %s followed by standard base64: %w", SecretPrefix, err)
	}
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("webhook secret: the key is %d bytes; Standard Webhooks asks for at least %d random bytes (make one with NewSecret)", len(key), MinKeyLen)
	}
	if len(key) > MaxKeyLen {
		return nil, fmt.Errorf("webhook secret: the key is %d bytes; Standard Webhooks allows at most %d", len(key), MaxKeyLen)
	}
	return key, nil
}

// FormatSecret serializes key the way ParseSecret reads it, with the prefix.
func FormatSecret(key []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// NewSecret returns a fresh signing secret of 32 random bytes, serialized
// with the prefix.
func NewSecret() string {
	key := make([]byte, newKeyLen)
	rand.Read(key) // never fails: crypto/rand crashes the program rather than return an error
	return FormatSecret(key)
}
