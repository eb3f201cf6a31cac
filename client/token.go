package client

import (
	"fmt"
	"time"

	"github.com/belfry/belfry"
	"github.com/golang-jwt/jwt/v5"
)

// MintToken returns a user token for belfry's user endpoints and stream:
// an HS256 JWT signed with secret (the server's --jwt-secret) with sub =
// user, iat = now and exp = now + ttl rounded up to the whole second. The
// browser passes it as Authorization: Bearer, the belfry_token cookie or
// ?token=. Errors (plain errors): an empty secret, an invalid user id, a
// ttl that is not positive.
func MintToken(secret []byte, user string, ttl time.Duration) (string, error) {
	if len(secret) == 0 {
		return "", fmt.Errorf("belfry client: the JWT secret is empty")
	}
	if err := belfry.ValidateUserID(user); err != nil {
		return "", fmt.Errorf("belfry client: %s", belfry.ErrorMessage(err))
	}
	if ttl <= 0 {
		return "", fmt.Errorf("belfry client: the token lifetime must be positive")
	}
	now := time.Now()
	exp := now.Add(ttl)
	if t := exp.Truncate(time.Second); t.Before(exp) {
		exp = t.Add(time.Second)
	}
	claims := jwt.RegisteredClaims{Subject: user, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp)}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("belfry client: signing the token: %w", err)
	}
	return tok, nil
}
