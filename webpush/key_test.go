package webpush

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/belfry/belfry"
)

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vapid.pem")
	k, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateKey: created %v, %v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if block, _ := pem.Decode(data); block == nil || block.Type != "EC PRIVATE KEY" {
		t.Errorf("key file is not an EC PRIVATE KEY PEM block:\n%s", data)
	}
	pub, err := base64.RawURLEncoding.DecodeString(k.PublicKey())
	if err != nil || len(pub) != 65 || pub[0] != 4 {
		t.Errorf("PublicKey %q is not a base64url uncompressed point", k.PublicKey())
	}

	again, created, err := LoadOrCreateKey(path)
	if err != nil || created {
		t.Fatalf("second LoadOrCreateKey: created %v, %v", created, err)
	}
	if again.PublicKey() != k.PublicKey() || !again.priv.Equal(k.priv) {
		t.Error("the reloaded key differs")
	}
}

func TestLoadOrCreateKeyRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	good, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	goodDER, _ := x509.MarshalECPrivateKey(good)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalECPrivateKey(p384)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)

	cases := []struct {
		name, path, err string
	}{
		{"missing directory", filepath.Join(dir, "nope", "vapid.pem"), "its directory is missing"},
		{"a directory", dir, "not a regular file"},
		{"not PEM", write("text.pem", 0o600, []byte("hello")), "no PEM block"},
		{"a certificate", write("cert.pem", 0o600, pemOf("CERTIFICATE", []byte{1})), "holds a CERTIFICATE block"},
		{"garbage DER", write("bad.pem", 0o600, pemOf("EC PRIVATE KEY", []byte{1, 2, 3})), "unreadable key"},
		{"P-384", write("p384.pem", 0o600, pemOf("EC PRIVATE KEY", p384DER)), "not on P-256"},
		{"RSA", write("rsa.pem", 0o600, pemOf("PRIVATE KEY", rsaDER)), "not an EC key"},
	}
	if runtime.GOOS != "windows" {
		cases = append(cases,
			struct{ name, path, err string }{"group readable", write("g.pem", 0o640, pemOf("EC PRIVATE KEY", goodDER)), "mode 0640: it must not be open to group or others"},
			struct{ name, path, err string }{"world readable", write("o.pem", 0o604, pemOf("EC PRIVATE KEY", goodDER)), "mode 0604"},
			struct{ name, path, err string }{"group writable", write("w.pem", 0o620, pemOf("EC PRIVATE KEY", goodDER)), "mode 0620"},
		)
	}
	for _, tc := range cases {
		k, created, err := LoadOrCreateKey(tc.path)
		if k != nil || created || belfry.ErrorCode(err) != belfry.EINVALID || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, created %v, %v; want EINVALID saying %q", tc.name, k, created, err, tc.err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); !os.IsNotExist(err) {
		t.Error("LoadOrCreateKey created the missing directory")
	}
}

// TestLoadKeyPKCS8 reads a PKCS #8 key, as openssl genpkey writes it.
func TestLoadKeyPKCS8(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vapid.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	k, created, err := LoadOrCreateKey(path)
	if err != nil || created {
		t.Fatalf("created %v, %v", created, err)
	}
	pub, _ := priv.PublicKey.Bytes()
	if k.PublicKey() != base64.RawURLEncoding.EncodeToString(pub) {
		t.Error("the public key differs from the file's")
	}
}
