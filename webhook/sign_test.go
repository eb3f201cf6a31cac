package webhook

import (
	"strings"
	"testing"
	"time"
)

// The known answer was computed with the standardwebhooks npm package
// (Webhook.sign) and with openssl; it is also the one in the
// specification's own library tests.
func TestSignKnownAnswer(t *testing.T) {
	key := mustB64(t, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	got := Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestSignCoversEveryPart(t *testing.T) {
	key := []byte(strings.Repeat("k", 24))
	at := time.Unix(1700000000, 0)
	base := Sign(key, "msg_1", at, []byte(`{}`))
	for name, other := range map[string]string{
		"id":        Sign(key, "msg_2", at, []byte(`{}`)),
		"timestamp": Sign(key, "msg_1", at.Add(time.Second), []byte(`{}`)),
		"body":      Sign(key, "msg_1", at, []byte(`{ }`)),
		"key":       Sign([]byte(strings.Repeat("K", 24)), "msg_1", at, []byte(`{}`)),
	} {
		if other == base {
			t.Errorf("changing the %s left the signature %q", name, base)
		}
	}
	// Only whole seconds are signed, as the header carries only those.
	if got := Sign(key, "msg_1", at.Add(999*time.Millisecond), []byte(`{}`)); got != base {
		t.Errorf("a fraction of a second changed the signature")
	}
}

func TestSignaturesOnePerKey(t *testing.T) {
	k1, k2 := []byte(strings.Repeat("1", 24)), []byte(strings.Repeat("2", 32))
	at := time.Unix(1700000000, 0)
	got := signatures([][]byte{k1, k2}, "msg_1", at, []byte("x"))
	want := Sign(k1, "msg_1", at, []byte("x")) + " " + Sign(k2, "msg_1", at, []byte("x"))
	if got != want {
		t.Fatalf("signatures = %q, want %q", got, want)
	}
}

func TestValidID(t *testing.T) {
	for _, id := range []string{"msg_1", "01JF8ZQ3-abc", "a", strings.Repeat("z", 64), "~!#"} {
		if !validID(id) {
			t.Errorf("validID(%q) = false", id)
		}
	}
	for _, id := range []string{"", "msg.1", "a b", "a\nb", "é", "a\x00"} {
		if validID(id) {
			t.Errorf("validID(%q) = true", id)
		}
	}
}
