package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/belfry/belfry/httpapi"
)

// demoUser is the user the demo banner's commands publish to and watch.
const demoUser = "alice"

// demoTokenTTL is how long the banner's token for alice is valid.
const demoTokenTTL = 24 * time.Hour

// randomSecret returns n random bytes as unpadded URL-safe base64.
func randomSecret(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// printDemo prints the generated credentials and commands that work as
// pasted, so a first run shows a notification arriving within a minute.
func (m *Main) printDemo(url string) {
	token, err := httpapi.MintToken([]byte(m.JWTSecret), demoUser, demoTokenTTL)
	if err != nil {
		token = "(could not mint: " + err.Error() + ")"
	}
	w := m.Stdout
	where := ""
	if m.demoLoopback {
		where = `
 It listens on 127.0.0.1 only: other machines cannot connect. To
 listen on every interface, add --addr :8080 (or BELFRY_ADDR=:8080).`
	}
	fmt.Fprintf(w, `
=====================================================================
 DEMO MODE - NOT FOR PRODUCTION
 No --jwt-secret or --api-key was set, so both were generated below.
 They are kept in %[8]s for the next demo start
 (delete it for new ones). Set BELFRY_JWT_SECRET and BELFRY_API_KEY
 (or the flags) to run for real.%[7]s
=====================================================================

JWT secret:  %[2]s
API key:     %[3]s

Demo page:   %[1]s/?user=%[5]s  (open it in two tabs)

Publish a notification to user %[5]s:

  curl -sS -X POST %[1]s/api/notifications \
    -H 'Authorization: Bearer %[3]s' \
    -H 'Content-Type: application/json' \
    -d '{"user_id":"%[5]s","message":"Hello from belfry","link":"/inbox"}'

Token for %[5]s (valid %[6]s):

  %[4]s

Watch %[5]s's stream:

  curl -N -H 'Authorization: Bearer %[4]s' %[1]s/notifications/stream
  %[9]s tail --url %[1]s --token %[4]s

`, url, m.JWTSecret, m.APIKeys[0], token, demoUser, strings.TrimSuffix(demoTokenTTL.String(), "0m0s"), where, m.demoFileOrDefault(), m.selfOrDefault())
}

// demoFileOrDefault is the credentials file the banner names: the one Run
// used, or where it would be.
func (m *Main) demoFileOrDefault() string {
	if m.demoFile != "" {
		return m.demoFile
	}
	return filepath.Join(demoDir(m.Store), demoCredentialsName)
}

// selfOrDefault is how the banner's commands run belfry: m.self if set,
// else selfCommand.
func (m *Main) selfOrDefault() string {
	if m.self != "" {
		return m.self
	}
	return selfCommand()
}
