package webpush

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

func TestSignJWT(t *testing.T) {
	key, _ := GenerateKey()
	exp := time.Unix(1_800_000_000, 0)
	tok, err := signJWT(key.priv, "https://fcm.googleapis.com", testSubject, exp)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	var header, claims map[string]any
	for i, v := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	if header["alg"] != "ES256" || header["typ"] != "JWT" {
		t.Errorf("header %v", header)
	}
	if claims["aud"] != "https://fcm.googleapis.com" || claims["sub"] != testSubject || claims["exp"] != float64(1_800_000_000) {
		t.Errorf("claims %v", claims)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature of %d bytes, %v", len(sig), err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(&key.priv.PublicKey, digest[:], r, s) {
		t.Error("the signature does not verify")
	}
}

// TestSignerCache checks that a JWT is reused for its audience until an
// hour before it expires, and that audiences do not share one.
func TestSignerCache(t *testing.T) {
	key, _ := GenerateKey()
	s := signer{key: key, subject: testSubject}
	t0 := time.Unix(1_800_000_000, 0)
	a := "https://fcm.googleapis.com"
	first, _ := s.token(a, t0)
	if again, _ := s.token(a, t0.Add(10*time.Hour+59*time.Minute)); again != first {
		t.Error("a new JWT before the renewal time")
	}
	if other, _ := s.token("https://web.push.apple.com", t0); other == first {
		t.Error("two audiences share a JWT")
	}
	renewed, _ := s.token(a, t0.Add(11*time.Hour))
	if renewed == first {
		t.Error("the JWT was not renewed an hour before its expiry")
	}
	if exp := jwtExp(t, renewed); exp != t0.Add(23*time.Hour).Unix() {
		t.Errorf("renewed exp %d, want %d", exp, t0.Add(23*time.Hour).Unix())
	}

	for i := range maxCachedJWTs * 2 {
		s.token("https://h"+strings.Repeat("x", i)+".example", t0)
	}
	if len(s.cache) > maxCachedJWTs {
		t.Errorf("%d cached JWTs, more than %d", len(s.cache), maxCachedJWTs)
	}
}

func jwtExp(t *testing.T, tok string) int64 {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Exp int64 }
	json.Unmarshal(b, &c)
	return c.Exp
}

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://fcm.googleapis.com/fcm/send/x?y=1": "https://fcm.googleapis.com",
		"https://FCM.googleapis.com:443/x":          "https://fcm.googleapis.com",
		"https://push.example:8443/x":               "https://push.example:8443",
		"http://127.0.0.1:8080/push":                "http://127.0.0.1:8080",
		"http://localhost:80/push":                  "http://localhost",
		"http://[::1]:8080/push":                    "http://[::1]:8080",
		"https://[2001:db8::1]/push":                "https://[2001:db8::1]",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := origin(u); got != want {
			t.Errorf("origin(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestNewOptions(t *testing.T) {
	key, _ := GenerateKey()
	for _, sub := range []string{"mailto:ops@belfry.example", "https://belfry.example/contact"} {
		if _, err := New(Options{Key: key, Subject: sub}); err != nil {
			t.Errorf("subject %s: %v", sub, err)
		}
	}
	for _, sub := range []string{"", "ops@belfry.example", "mailto:", "http://belfry.example", "https://"} {
		if _, err := New(Options{Key: key, Subject: sub}); belfry.ErrorCode(err) != belfry.EINVALID {
			t.Errorf("subject %q: %v, want EINVALID", sub, err)
		}
	}
	if _, err := New(Options{Subject: testSubject}); belfry.ErrorCode(err) != belfry.EINVALID {
		t.Errorf("no key: %v, want EINVALID", err)
	}
}

func TestCheckHeaders(t *testing.T) {
	ok := []belfry.PushRequest{
		{},
		{TTL: time.Hour, Urgency: "very-low", Topic: "a"},
		{Urgency: "low"}, {Urgency: "normal"}, {Urgency: "high"},
		{Topic: strings.Repeat("A", 32)},
		{Topic: "abc-XYZ_019"},
	}
	for _, r := range ok {
		if err := checkHeaders(r); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	bad := []belfry.PushRequest{
		{TTL: -time.Second},
		{Urgency: "urgent"},
		{Urgency: "High"},
		{Topic: strings.Repeat("A", 33)},
		{Topic: "a b"},
		{Topic: "a+b"},
		{Topic: "a=="},
		{Topic: "é"},
	}
	for _, r := range bad {
		if err := checkHeaders(r); belfry.ErrorCode(err) != belfry.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", r, err)
		}
	}
}
