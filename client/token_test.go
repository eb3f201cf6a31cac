package client_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/belfry/belfry/client"
	"github.com/golang-jwt/jwt/v5"
)

// A minted token is an HS256 JWT the server accepts for the user.
func TestMintToken(t *testing.T) {
	e := newEnv(t, envOpts{})
	before := time.Now()
	tok, err := client.MintToken(testSecret, "alice", 90*time.Second+time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.RegisteredClaims
	if _, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return testSecret, nil },
		jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatal(err)
	}
	if claims.Subject != "alice" || claims.ExpiresAt.Before(before.Add(90*time.Second)) ||
		claims.ExpiresAt.After(time.Now().Add(92*time.Second)) {
		t.Fatalf("claims %+v", claims)
	}
	resp := e.userGet("alice", "/notifications/counts")
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the server refused the token: %d", resp.StatusCode)
	}
	for _, c := range []struct {
		secret []byte
		user   string
		ttl    time.Duration
	}{{nil, "alice", time.Hour}, {testSecret, "", time.Hour}, {testSecret, "a\nb", time.Hour}, {testSecret, "alice", 0}} {
		if _, err := client.MintToken(c.secret, c.user, c.ttl); err == nil {
			t.Errorf("MintToken(%q, %q, %v): no error", c.secret, c.user, c.ttl)
		}
	}
}
