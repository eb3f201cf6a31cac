package webpush

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/belfry/belfry"
)

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSealRFC8291 encrypts the example of RFC 8291, appendix A, with its
// keys and salt, and compares with the body the RFC gives.
func TestSealRFC8291(t *testing.T) {
	as, err := ecdh.P256().NewPrivateKey(b64(t, "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(as.PublicKey().Bytes()); got != "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8" {
		t.Fatalf("the application server's public key is %s", got)
	}
	ua, auth, err := decodeKeys(
		"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
		"BTBZMqHH6r4Tts7J_aSIgg")
	if err != nil {
		t.Fatal(err)
	}
	body, err := seal([]byte("When I grow up, I want to be a watermelon"), ua, auth, as, b64(t, "DGv6ra1nlYgDCS1FRnbzlw"))
	if err != nil {
		t.Fatal(err)
	}
	want := "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
	if got := base64.RawURLEncoding.EncodeToString(body); got != want {
		t.Fatalf("body\n%s\nwant\n%s", got, want)
	}
}

// TestEncryptRoundTrip decrypts what encrypt makes, as a browser would,
// for sizes up to MaxPayload, and checks that each message has a fresh
// salt and key.
func TestEncryptRoundTrip(t *testing.T) {
	uaPriv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	seen := map[string]bool{}
	for _, n := range []int{0, 1, 100, MaxPayload} {
		plain := bytes.Repeat([]byte{'a'}, n)
		body, err := encrypt(plain, uaPriv.PublicKey(), auth)
		if err != nil {
			t.Fatal(err)
		}
		if len(body) > recordSize {
			t.Errorf("%d bytes: body of %d bytes", n, len(body))
		}
		header := string(body[:headerLen])
		if seen[header[:16]] || seen[header[21:]] {
			t.Errorf("%d bytes: a salt or key used before", n)
		}
		seen[header[:16]], seen[header[21:]] = true, true
		got, err := decryptForTest(body, uaPriv, auth)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%d bytes: decrypted %d bytes, %v", n, len(got), err)
		}
	}
	if _, err := encrypt(make([]byte, MaxPayload+1), uaPriv.PublicKey(), auth); belfry.ErrorCode(err) != belfry.EINVALID {
		t.Errorf("encrypt of MaxPayload+1 bytes: %v, want EINVALID", err)
	}
}

// decryptForTest is the browser's side of RFC 8291 for one record.
func decryptForTest(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	salt, rs, keyID := body[:16], binary.BigEndian.Uint32(body[16:20]), body[21:21+int(body[20])]
	if rs != recordSize {
		return nil, errorString("rs is not 4096")
	}
	as, err := ecdh.P256().NewPublicKey(keyID)
	if err != nil {
		return nil, err
	}
	shared, err := ua.ECDH(as)
	if err != nil {
		return nil, err
	}
	ikm, err := hkdf.Key(sha256.New, shared, auth, "WebPush: info\x00"+string(ua.PublicKey().Bytes())+string(keyID), 32)
	if err != nil {
		return nil, err
	}
	cek, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	rec, err := gcm.Open(nil, nonce, body[21+len(keyID):], nil)
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexFunc(rec, func(r rune) bool { return r != 0 })
	if i < 0 || rec[i] != 2 {
		return nil, errorString("no 0x02 delimiter")
	}
	return rec[:i], nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestCheckKeys(t *testing.T) {
	priv, _ := ecdh.P256().GenerateKey(rand.Reader)
	pt := priv.PublicKey().Bytes()
	auth := make([]byte, 16)
	rand.Read(auth)
	url, std := base64.RawURLEncoding, base64.StdEncoding
	offCurve := bytes.Clone(pt)
	offCurve[64] ^= 1
	compressed := append([]byte{2 | pt[64]&1}, pt[1:33]...)
	for _, tc := range []struct {
		name, p256dh, auth, err string
	}{
		{"base64url", url.EncodeToString(pt), url.EncodeToString(auth), ""},
		{"base64url padded", base64.URLEncoding.EncodeToString(pt), base64.URLEncoding.EncodeToString(auth), ""},
		{"standard base64", std.EncodeToString(pt), std.EncodeToString(auth), ""},
		{"standard base64 unpadded", base64.RawStdEncoding.EncodeToString(pt), base64.RawStdEncoding.EncodeToString(auth), ""},
		{"p256dh not base64", "!!" + url.EncodeToString(pt), url.EncodeToString(auth), "p256dh is not base64url"},
		{"p256dh compressed", url.EncodeToString(compressed), url.EncodeToString(auth), "uncompressed P-256 point (65 bytes), not 33"},
		{"p256dh off the curve", url.EncodeToString(offCurve), url.EncodeToString(auth), "not a point of P-256"},
		{"p256dh empty", "", url.EncodeToString(auth), "not 0 bytes"},
		{"auth short", url.EncodeToString(pt), url.EncodeToString(auth[:12]), "auth must be 16 bytes, not 12"},
		{"auth not base64", url.EncodeToString(pt), "a*b", "auth is not base64url"},
	} {
		err := CheckKeys(tc.p256dh, tc.auth)
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if belfry.ErrorCode(err) != belfry.EINVALID || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want EINVALID saying %q", tc.name, err, tc.err)
		}
	}
}
