package webpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"

	"github.com/belfry/belfry"
)

// Sizes of the aes128gcm content coding (RFC 8188) as Web Push uses it
// (RFC 8291).
const (
	recordSize = 4096
	saltLen    = 16
	pointLen   = 65 // an uncompressed P-256 point
	authLen    = 16
	tagLen     = 16
	headerLen  = saltLen + 4 + 1 + pointLen // salt, rs, idlen, keyid = 86
	// MaxPayload is the largest plaintext Push sends, in bytes. The
	// message is one record of record size 4096, and push services need
	// not take a body larger than 4096 bytes (RFC 8030, section 7.2), so
	// the body (the 86-byte header, the plaintext, the padding delimiter
	// and the 16-byte tag) is held to 4096 bytes too: 3993 bytes of
	// plaintext (RFC 8291, section 4).
	MaxPayload = recordSize - headerLen - 1 - tagLen
)

// CheckKeys checks a subscription's keys: p256dh, the browser's public key,
// must be an uncompressed P-256 point (65 bytes) and auth a 16-byte secret.
// Both are base64url, with or without padding; standard base64 is
// accepted too. Errors: EINVALID, saying which.
func CheckKeys(p256dh, auth string) error {
	_, _, err := decodeKeys(p256dh, auth)
	return err
}

func decodeKeys(p256dh, auth string) (*ecdh.PublicKey, []byte, error) {
	pb, err := decodeBase64(p256dh)
	if err != nil {
		return nil, nil, belfry.Errorf(belfry.EINVALID, "subscription key p256dh is not base64url")
	}
	if len(pb) != pointLen || pb[0] != 4 {
		return nil, nil, belfry.Errorf(belfry.EINVALID, "subscription key p256dh must be an uncompressed P-256 point (65 bytes), not %d bytes", len(pb))
	}
	pub, err := ecdh.P256().NewPublicKey(pb)
	if err != nil {
		return nil, nil, belfry.Errorf(belfry.EINVALID, "subscription key p256dh is not a point of P-256")
	}
	ab, err := decodeBase64(auth)
	if err != nil {
		return nil, nil, belfry.Errorf(belfry.EINVALID, "subscription key auth is not base64url")
	}
	if len(ab) != authLen {
		return nil, nil, belfry.Errorf(belfry.EINVALID, "subscription key auth must be 16 bytes, not %d", len(ab))
	}
	return pub, ab, nil
}

// decodeBase64 decodes base64url or standard base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}

// encrypt encrypts plaintext for the browser whose public key is ua and
// auth secret is auth (RFC 8291): an ephemeral ECDH key of our own, a
// random salt, one aes128gcm record of record size 4096 whose padding is
// the delimiter 0x02 alone. It returns the whole body: the header (salt,
// record size, our public key as the key id), then the record.
func encrypt(plaintext []byte, ua *ecdh.PublicKey, auth []byte) ([]byte, error) {
	if len(plaintext) > MaxPayload {
		return nil, belfry.Errorf(belfry.EINVALID, "push payload of %d bytes is larger than %d bytes", len(plaintext), MaxPayload)
	}
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	return seal(plaintext, ua, auth, as, salt)
}

// seal is encrypt with the ephemeral key and the salt given.
func seal(plaintext []byte, ua *ecdh.PublicKey, auth []byte, as *ecdh.PrivateKey, salt []byte) ([]byte, error) {
	shared, err := as.ECDH(ua)
	if err != nil {
		return nil, belfry.Errorf(belfry.EINVALID, "subscription key p256dh is unusable")
	}
	uaPub, asPub := ua.Bytes(), as.PublicKey().Bytes()

	// IKM = HKDF(auth, ecdh_secret, "WebPush: info" 0x00 ua_public as_public, 32)
	prkKey, err := hkdf.Extract(sha256.New, shared, auth)
	if err != nil {
		return nil, err
	}
	info := "WebPush: info\x00" + string(uaPub) + string(asPub)
	ikm, err := hkdf.Expand(sha256.New, prkKey, info, 32)
	if err != nil {
		return nil, err
	}

	// CEK and NONCE from HKDF(salt, IKM, ...) (RFC 8188, section 2.2).
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}

	body := make([]byte, headerLen, headerLen+len(plaintext)+1+tagLen)
	copy(body, salt)
	binary.BigEndian.PutUint32(body[saltLen:], recordSize)
	body[saltLen+4] = pointLen
	copy(body[saltLen+5:], asPub)
	record := append(append(make([]byte, 0, len(plaintext)+1), plaintext...), 0x02)
	// The only record is record 0: its nonce is NONCE itself.
	return gcm.Seal(body, nonce, record, nil), nil
}
