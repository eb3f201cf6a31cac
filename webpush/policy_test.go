package webpush

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/belfry/belfry"
)

func TestPolicyCheckEndpoint(t *testing.T) {
	var (
		zero     = Policy{}
		custom   = Policy{Hosts: []string{"push.example.org", "*.Push.Example.NET."}}
		anyHost  = Policy{Hosts: []string{"*"}}
		loopback = Policy{AllowLoopback: true}
	)
	for _, tc := range []struct {
		p        Policy
		endpoint string
		err      string // "" when allowed
	}{
		// The browsers' services, as they send them.
		{zero, "https://fcm.googleapis.com/fcm/send/dQ4w:APA91bH", ""},
		{zero, "https://fcm.googleapis.com/wp/dQ4w:APA91bH", ""},
		{zero, "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk", ""},
		{zero, "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAD", ""},
		{zero, "https://web.push.apple.com/QGuQyavXutnMH", ""},
		{zero, "https://api.push.apple.com/x", ""},
		{zero, "https://FCM.GoogleAPIs.com./fcm/send/x", ""},
		{zero, "https://fcm.googleapis.com:443/fcm/send/x", ""},
		// Form.
		{zero, "", "missing"},
		{zero, "https://fcm.googleapis.com/" + strings.Repeat("a", MaxEndpointLen), "longer than 2048 bytes"},
		{zero, "/fcm/send/x", "absolute https:// URL"},
		{zero, "fcm.googleapis.com/fcm/send/x", "absolute https:// URL"},
		{zero, "https:fcm.googleapis.com", "absolute https:// URL"},
		{zero, "https://%zz/", "absolute https:// URL"},
		{zero, "https://user:pw@fcm.googleapis.com/x", "user info"},
		{zero, "https:///x", "no host"},
		// https only.
		{zero, "http://fcm.googleapis.com/fcm/send/x", "must use https://, not http://"},
		{zero, "ftp://fcm.googleapis.com/x", "must use https://, not ftp://"},
		{loopback, "http://fcm.googleapis.com/x", "must use https://"},
		// The allow list: exact hosts and *.suffix.
		{zero, "https://example.com/x", "example.com is not on the allow list"},
		{zero, "https://fcm.googleapis.com.evil.example/x", "not on the allow list"},
		{zero, "https://evilfcm.googleapis.com/x", "not on the allow list"},
		{zero, "https://notify.windows.com/x", "not on the allow list"},
		{zero, "https://evilnotify.windows.com/x", "not on the allow list"},
		{zero, "https://a.b.notify.windows.com/x", ""},
		{zero, "https://push.apple.com/x", "not on the allow list"},
		{custom, "https://push.example.org/x", ""},
		{custom, "https://eu.push.example.net/x", ""},
		{custom, "https://push.example.net/x", "not on the allow list"},
		{custom, "https://fcm.googleapis.com/x", "not on the allow list"},
		{anyHost, "https://self-hosted.example/x", ""},
		{anyHost, "https://8.8.8.8/x", ""},
		{anyHost, "https://[2001:4860:4860::8888]/x", ""},
		// Literal inside addresses, whatever the list.
		{anyHost, "https://127.0.0.1/x", "127.0.0.1 is a loopback address"},
		{anyHost, "https://[::1]/x", "::1 is a loopback address"},
		{anyHost, "https://10.1.2.3/x", "a private address"},
		{anyHost, "https://172.16.0.1/x", "a private address"},
		{anyHost, "https://192.168.1.1:8443/x", "a private address"},
		{anyHost, "https://[fd00:ec2::254]/x", "a private address"},
		{anyHost, "https://169.254.169.254/latest/meta-data", "a link-local address"},
		{anyHost, "https://[fe80::1]/x", "a link-local address"},
		{anyHost, "https://0.0.0.0/x", "an unspecified address"},
		{anyHost, "https://[::]/x", "an unspecified address"},
		{anyHost, "https://224.0.0.1/x", "a multicast address"},
		{anyHost, "https://[ff02::1]/x", "a multicast address"},
		{anyHost, "https://[::ffff:10.0.0.1]/x", "a private address"},
		{anyHost, "https://[64:ff9b::7f00:1]/x", "a loopback address"},
		{anyHost, "https://100.64.0.1/x", "shared (carrier-grade NAT)"},
		{zero, "https://10.0.0.1/x", "a private address"},
		// AllowLoopback.
		{loopback, "http://127.0.0.1:8080/push/1", ""},
		{loopback, "http://[::1]:8080/push/1", ""},
		{loopback, "http://localhost:8080/push/1", ""},
		{loopback, "https://localhost:8443/push/1", ""},
		{loopback, "http://127.0.0.1/push/1", "needs an explicit port"},
		{loopback, "http://10.0.0.1:8080/x", "must use https://"},
		{loopback, "https://10.0.0.1:8080/x", "a private address"},
		{loopback, "https://127.0.0.2:8080/x", "a loopback address"},
		{loopback, "https://fcm.googleapis.com/x", ""},
		{zero, "http://127.0.0.1:8080/push/1", "must use https://"},
		{zero, "https://localhost:8080/push/1", "not on the allow list"},
	} {
		err := tc.p.CheckEndpoint(tc.endpoint)
		if tc.err == "" {
			if err != nil {
				t.Errorf("%+v %s: %v", tc.p, tc.endpoint, err)
			}
			continue
		}
		if belfry.ErrorCode(err) != belfry.EINVALID || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%+v %.80s: %v, want EINVALID saying %q", tc.p, tc.endpoint, err, tc.err)
		}
	}
}

func TestPolicyCheckSubscription(t *testing.T) {
	var p Policy
	good := belfry.Subscription{
		Endpoint: "https://fcm.googleapis.com/fcm/send/x",
		P256DH:   "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
		Auth:     "BTBZMqHH6r4Tts7J_aSIgg",
	}
	if err := p.CheckSubscription(good); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.Endpoint = "https://example.com/x"
	if err := p.CheckSubscription(bad); belfry.ErrorCode(err) != belfry.EINVALID || !strings.Contains(err.Error(), "allow list") {
		t.Errorf("bad endpoint: %v", err)
	}
	bad = good
	bad.Auth = "AAAA"
	if err := p.CheckSubscription(bad); belfry.ErrorCode(err) != belfry.EINVALID || !strings.Contains(err.Error(), "auth") {
		t.Errorf("bad auth: %v", err)
	}
}

// TestPolicyDial checks the addresses the dialer may connect to, after DNS
// resolution.
func TestPolicyDial(t *testing.T) {
	for _, tc := range []struct {
		loopback bool
		address  string
		err      string
	}{
		{false, "142.250.74.106:443", ""},
		{false, "[2a00:1450:4007:80e::200a]:443", ""},
		{false, "127.0.0.1:443", "a loopback address"},
		{false, "[::1]:443", "a loopback address"},
		{false, "10.0.0.5:443", "a private address"},
		{false, "192.168.0.1:443", "a private address"},
		{false, "169.254.169.254:80", "a link-local address"},
		{false, "[fe80::1%eth0]:443", "a link-local address"},
		{false, "0.0.0.0:443", "an unspecified address"},
		{false, "[::ffff:192.168.0.1]:443", "a private address"},
		{false, "nonsense", "an unparsable address"},
		{true, "127.0.0.1:443", ""},
		{true, "[::1]:443", ""},
		{true, "10.0.0.5:443", "a private address"},
		{true, "169.254.169.254:80", "a link-local address"},
		{true, "142.250.74.106:443", ""},
	} {
		p := Policy{AllowLoopback: tc.loopback}
		err := p.checkDial(tc.address)
		if tc.err == "" {
			if err != nil {
				t.Errorf("loopback %v, %s: %v", tc.loopback, tc.address, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("loopback %v, %s: %v, want %q", tc.loopback, tc.address, err, tc.err)
		}
	}
}

// TestPushDialRefused pushes to a host name that the allow list takes and
// that resolves to a loopback address: the dialer refuses to connect, and
// the server never sees a connection.
func TestPushDialRefused(t *testing.T) {
	connected := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ConnState = func(net.Conn, http.ConnState) {
		select {
		case connected <- struct{}{}:
		default:
		}
	}
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	key, _ := GenerateKey()
	c, err := New(Options{Key: key, Subject: testSubject, Policy: Policy{Hosts: []string{"localhost"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Push(context.Background(), belfry.PushRequest{
		Subscription: belfry.Subscription{
			Endpoint: "https://localhost:" + port + "/push",
			P256DH:   "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
			Auth:     "BTBZMqHH6r4Tts7J_aSIgg",
		},
		Payload: []byte("hi"),
	})
	var refused *dialRefused
	if belfry.ErrorCode(err) != belfry.EINVALID || !errors.As(err, &refused) ||
		!strings.Contains(err.Error(), "resolves to a loopback address") {
		t.Fatalf("Push to localhost: %v, want EINVALID: resolves to a loopback address", err)
	}
	select {
	case <-connected:
		t.Fatal("the server saw a connection")
	default:
	}
}

// TestPushUnavailable pushes to a loopback port nothing listens on.
func TestPushUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	key, _ := GenerateKey()
	c, err := New(Options{Key: key, Subject: testSubject, Policy: Policy{AllowLoopback: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Push(context.Background(), belfry.PushRequest{
		Subscription: belfry.Subscription{
			Endpoint: "http://" + addr + "/push",
			P256DH:   "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
			Auth:     "BTBZMqHH6r4Tts7J_aSIgg",
		},
	})
	if belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Push to a closed port: %v, want EUNAVAILABLE", err)
	}
}
