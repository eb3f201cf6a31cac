package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir and
// returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "belfry test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// streamOver opens alice's stream with client and returns the protocol it
// was served over and the first new-notification it carries after one is
// published.
func streamOver(t *testing.T, client *http.Client, url string) (proto, data string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := &syncBuffer{}
	tail := &Tail{URL: url, Secret: testSecret, User: "alice", Client: client, Out: out,
		MinDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- tail.Run(ctx) }()
	waitUntil(t, 30*time.Second, "the sync event", func() bool { return countEvents(out.lines(), "sync") == 1 })
	s := &Send{URL: url, APIKey: testAPIKey, Users: []string{"alice"}, Message: "over " + url, Client: client}
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the notification", func() bool { return countEvents(out.lines(), "new-notification") == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, l := range out.lines() {
		if _, ev, d := splitTailLine(t, l); ev == "new-notification" {
			data = d
		}
	}
	return resp.Proto, data
}

// TestServeTLS: with --tls-cert and --tls-key the server speaks HTTPS,
// HTTP/2 included, and streams work over it.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	s := startServer(t, dir, "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(s.url, "https://127.0.0.1:") {
		t.Fatalf("url %s", s.url)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	proto, data := streamOver(t, &http.Client{Transport: tr}, s.url)
	if proto != "HTTP/2.0" {
		t.Errorf("served over %s, want HTTP/2.0", proto)
	}
	if !strings.Contains(data, `"message":"over https://`) {
		t.Errorf("notification %s", data)
	}
}

// TestServeH2C: with --h2c a client speaking cleartext HTTP/2 gets its
// stream over HTTP/2; HTTP/1.1 still works.
func TestServeH2C(t *testing.T) {
	s := startServer(t, t.TempDir(), "--h2c")
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	defer tr.CloseIdleConnections()
	proto, data := streamOver(t, &http.Client{Transport: tr}, s.url)
	if proto != "HTTP/2.0" || !strings.Contains(data, `"message":"over http://`) {
		t.Errorf("h2c: %s %s", proto, data)
	}
	if proto, _ := streamOver(t, &http.Client{Transport: &http.Transport{}}, s.url); proto != "HTTP/1.1" {
		t.Errorf("plain client served over %s", proto)
	}
}

// TestServeTLSBadCertificate: a certificate that cannot be loaded fails the
// start with a message, before anything listens.
func TestServeTLSBadCertificate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t, nil, "serve", "--addr", "127.0.0.1:0", "--store", "sqlite:"+filepath.Join(dir, "b.db"),
		"--jwt-secret", testSecret, "--api-key", testAPIKey, "--tls-cert", bad, "--tls-key", bad)
	if code != 1 || !strings.Contains(errOut, "--tls-cert") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
