package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/belfry/belfry/sqlite"
)

// demoCredentialsName is the file demo mode keeps its generated JWT secret
// and API key in, so that tokens (belfry tail, open pages) and the banner's
// commands keep working across restarts.
const demoCredentialsName = "belfry-demo.json"

// demoDir is where demo mode keeps its files: beside the SQLite database,
// or the working directory with another store.
func demoDir(store string) string {
	if schemeOf(store) == "sqlite" {
		if p, err := sqlite.ParseDSN(store); err == nil && p != ":memory:" && !strings.HasPrefix(p, "file::memory:") {
			return filepath.Dir(p)
		}
	}
	return "."
}

// demoCredentials is the content of belfry-demo.json.
type demoCredentials struct {
	JWTSecret string `json:"jwt_secret"`
	APIKey    string `json:"api_key"`
}

// keepDemoCredentials makes demo mode's credentials survive a restart: it
// reads them from belfry-demo.json beside the store, or writes the ones
// ParseFlags generated there (mode 0600) when the file does not exist.
// Only Run calls it, and only in demo mode: a start with real credentials
// neither reads nor writes the file.
func (m *Main) keepDemoCredentials(log *slog.Logger) error {
	path := filepath.Join(demoDir(m.Store), demoCredentialsName)
	m.demoFile = path
	c, err := readDemoCredentials(path)
	if errors.Is(err, fs.ErrNotExist) {
		c = demoCredentials{JWTSecret: m.JWTSecret, APIKey: m.APIKeys[0]}
		err = writeDemoCredentials(path, c)
		if errors.Is(err, fs.ErrExist) {
			// Another demo start wrote it first: use its credentials.
			c, err = readDemoCredentials(path)
		} else if err == nil {
			log.Info("demo mode: wrote the generated credentials for the next start", "file", path)
		}
	}
	if err != nil {
		return fmt.Errorf("demo credentials: %w (delete the file to generate new ones)", err)
	}
	m.JWTSecret, m.APIKeys = c.JWTSecret, []string{c.APIKey}
	return nil
}

// readDemoCredentials reads and checks a belfry-demo.json.
func readDemoCredentials(path string) (demoCredentials, error) {
	var c demoCredentials
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.JWTSecret) < minJWTSecretLen || len(c.APIKey) < minAPIKeyLen {
		return c, fmt.Errorf("%s: jwt_secret needs %d bytes or more and api_key %d", path, minJWTSecretLen, minAPIKeyLen)
	}
	return c, nil
}

// writeDemoCredentials creates path with mode 0600; fs.ErrExist when it
// exists already.
func writeDemoCredentials(path string, c demoCredentials) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
