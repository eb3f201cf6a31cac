package main

import "fmt"

// minJWTSecretLen is the shortest JWT secret serve accepts, and so the
// shortest token signs with: a token signed with a shorter one would be
// refused by every server.
const minJWTSecretLen = 32

// errShortSecret is the refusal of a JWT secret under minJWTSecretLen.
func errShortSecret(flag string) error {
	return fmt.Errorf("%s must be at least %d bytes (e.g. openssl rand -base64 32)", flag, minJWTSecretLen)
}
