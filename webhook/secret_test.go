package webhook

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestParseSecret(t *testing.T) {
	key24 := bytes.Repeat([]byte{0xA5}, 24)
	key64 := bytes.Repeat([]byte{0x5A}, 64)
	good := []struct {
		in   string
		want []byte
	}{
		{"whsec_" + base64.StdEncoding.EncodeToString(key24), key24},
		{base64.StdEncoding.EncodeToString(key24), key24}, // without the prefix
		{" whsec_" + base64.StdEncoding.EncodeToString(key64) + "\n", key64},
		// The secret of the specification's own test suites.
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", mustB64(t, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
	}
	for _, g := range good {
		got, err := ParseSecret(g.in)
		if err != nil {
			t.Fatalf("ParseSecret(%q): %v", g.in, err)
		}
		if !bytes.Equal(got, g.want) {
			t.Fatalf("ParseSecret(%q) = %x, want %x", g.in, got, g.want)
		}
	}

	bad := []struct{ in, says string }{
		{"", "empty"},
		{"whsec_", "empty"},
		{"whsec_" + base64.StdEncoding.EncodeToString(key24[:23]), "at least 24"},
		{"whsec_" + base64.StdEncoding.EncodeToString(append(key64, 1)), "at most 64"},
		{"whsec_" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xFF}, 30)), "base64"},
		{"whsec_" + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 25)), "base64"}, // no padding
		{"whsec_not base64 at all!", "base64"},
		{"whsk_" + base64.StdEncoding.EncodeToString(key64), "asymmetric"},
		{"whpk_" + base64.StdEncoding.EncodeToString(key24), "asymmetric"},
	}
	for _, b := range bad {
		_, err := ParseSecret(b.in)
		if err == nil {
			t.Fatalf("ParseSecret(%q) accepted it", b.in)
		}
		if !strings.Contains(err.Error(), b.says) {
			t.Fatalf("ParseSecret(%q): %q does not say %q", b.in, err, b.says)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if !strings.HasPrefix(a, SecretPrefix) {
		t.Fatalf("NewSecret() = %q, want the %s prefix", a, SecretPrefix)
	}
	ka, err := ParseSecret(a)
	if err != nil {
		t.Fatalf("ParseSecret(NewSecret()): %v", err)
	}
	if len(ka) != 32 {
		t.Fatalf("NewSecret's key is %d bytes, want 32", len(ka))
	}
	if a == b {
		t.Fatalf("two NewSecret calls gave %q", a)
	}
	if got := FormatSecret(ka); got != a {
		t.Fatalf("FormatSecret(ParseSecret(%q)) = %q", a, got)
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
