package webpush

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/belfry/belfry"
)

// Key is the server's VAPID key pair (RFC 8292): a P-256 key that signs
// the JWT of every push request, and whose public half browsers are given
// as the applicationServerKey when they subscribe.
type Key struct {
	priv *ecdsa.PrivateKey
	pub  string // base64url of the uncompressed point
}

// GenerateKey returns a new random Key.
func GenerateKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return newKey(priv)
}

func newKey(priv *ecdsa.PrivateKey) (*Key, error) {
	if priv.Curve != elliptic.P256() {
		return nil, errors.New("a VAPID key must be on the P-256 curve")
	}
	pub, err := priv.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	return &Key{priv: priv, pub: base64.RawURLEncoding.EncodeToString(pub)}, nil
}

// PublicKey returns the public key as browsers take it: the uncompressed
// P-256 point (65 bytes), base64url without padding.
func (k *Key) PublicKey() string { return k.pub }

// LoadOrCreateKey reads the VAPID key from the file at path, or creates the
// file with a new key (mode 0600) when there is none; created says which.
// The file is PEM: the key is written as an "EC PRIVATE KEY" block (SEC 1,
// what `openssl ecparam -name prime256v1 -genkey -noout` writes), and a
// "PRIVATE KEY" block (PKCS #8, what `openssl genpkey -algorithm EC
// -pkeyopt ec_paramgen_curve:P-256` writes) is read too. The directory must
// exist. A file that group or others may read or write is refused (on
// systems with Unix permissions), as is a key on another curve. Keep the
// file: browsers subscribed with its public key, and a new key means every
// subscription must be made again. Errors: EINVALID (the file is
// unusable, saying why; Err holds the cause).
func LoadOrCreateKey(path string) (k *Key, created bool, err error) {
	k, err = loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	k, err = createKey(path)
	if errors.Is(err, fs.ErrExist) { // created meanwhile by another process
		k, err = loadKey(path)
		return k, false, err
	}
	return k, err == nil, err
}

func loadKey(path string) (*Key, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, keyError(path, "cannot be read", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, keyError(path, "is not a regular file", nil)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, belfry.Errorf(belfry.EINVALID,
			"VAPID key file %s has mode %04o: it must not be open to group or others (chmod 600 %s)",
			path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, keyError(path, "cannot be read", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, keyError(path, "holds no PEM block", nil)
	}
	var priv *ecdsa.PrivateKey
	switch block.Type {
	case "EC PRIVATE KEY":
		priv, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		var parsed any
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		if err == nil {
			var ok bool
			if priv, ok = parsed.(*ecdsa.PrivateKey); !ok {
				return nil, keyError(path, "holds a key that is not an EC key", nil)
			}
		}
	default:
		return nil, keyError(path, "holds a "+block.Type+" block, not an EC PRIVATE KEY or PRIVATE KEY", nil)
	}
	if err != nil {
		return nil, keyError(path, "holds an unreadable key", err)
	}
	k, err := newKey(priv)
	if err != nil {
		return nil, keyError(path, "holds a key that is not on P-256", err)
	}
	return k, nil
}

// createKey writes a new key to path, which must not exist.
func createKey(path string) (*Key, error) {
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return nil, keyError(path, "cannot be created: its directory is missing", err)
	}
	k, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(k.priv)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	if err != nil {
		return nil, keyError(path, "cannot be created", err)
	}
	err = pem.Encode(f, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, keyError(path, "cannot be written", err)
	}
	return k, nil
}

func keyError(path, what string, err error) *belfry.Error {
	return &belfry.Error{Code: belfry.EINVALID, Message: "VAPID key file " + path + " " + what, Err: err}
}
