package webpush

import (
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/belfry/belfry"
)

// MaxEndpointLen bounds a subscription's endpoint URL, in bytes (the
// stores keep up to this many).
const MaxEndpointLen = 2048

// DefaultHosts are the push services of the browsers, which a Policy with
// no Hosts allows:
//
//   - fcm.googleapis.com: Chrome, Edge on Android, Opera, Samsung Internet
//     and the other Chromium browsers (https://fcm.googleapis.com/fcm/send/…
//     and /wp/…);
//   - updates.push.services.mozilla.com and *.push.services.mozilla.com:
//     Firefox (https://updates.push.services.mozilla.com/wpush/v2/…; the
//     wildcard keeps other Mozilla push hosts working);
//   - *.notify.windows.com: Edge on Windows, through WNS
//     (https://wns2-par02p.notify.windows.com/w/?token=…);
//   - web.push.apple.com and *.push.apple.com: Safari on macOS and iOS
//     (https://web.push.apple.com/…; Apple asks servers that restrict
//     push endpoints to allow all of *.push.apple.com).
//
// Left out on purpose: android.googleapis.com (the legacy GCM endpoint,
// shut down; browsers now subscribe at fcm.googleapis.com) and Mozilla's
// staging hosts (updates-autopush.stage.mozaws.net and the like), which
// only test builds of Firefox use; add them to Policy.Hosts when needed.
var DefaultHosts = []string{
	"fcm.googleapis.com",
	"updates.push.services.mozilla.com",
	"*.push.services.mozilla.com",
	"*.notify.windows.com",
	"web.push.apple.com",
	"*.push.apple.com",
}

// Policy says which endpoints belfry may send push requests to, so that a
// subscription cannot make belfry call a host inside its own network
// (server-side request forgery). The HTTP layer checks each subscription
// with CheckSubscription; the Client checks the endpoint again before every
// request, and its dialer checks the address each connection goes to after
// DNS resolution, so a host name that resolves (or rebinds) to an inside
// address is refused too. The zero Policy allows DefaultHosts over https.
type Policy struct {
	// Hosts are the allowed hosts: an exact name ("fcm.googleapis.com"),
	// or "*.suffix", which allows every name that ends with ".suffix" (not
	// suffix itself), or "*", which allows any host (for a self-hosted push
	// service; the address checks still apply). Case does not matter.
	// Default (nil or empty) DefaultHosts.
	Hosts []string
	// AllowLoopback additionally allows http:// and https:// endpoints on
	// 127.0.0.1, [::1] and localhost with an explicit port, and lets the
	// dialer connect to loopback addresses (never to the other inside
	// ranges). For tests only.
	AllowLoopback bool
}

// CheckSubscription checks that s can be pushed to: CheckEndpoint and
// CheckKeys. Errors: EINVALID, saying which rule failed.
func (p *Policy) CheckSubscription(s belfry.Subscription) error {
	if err := p.CheckEndpoint(s.Endpoint); err != nil {
		return err
	}
	return CheckKeys(s.P256DH, s.Auth)
}

// CheckEndpoint checks a push endpoint against the policy: at most
// MaxEndpointLen bytes, an absolute https:// URL without user info, whose
// host is not a literal IP address in a private, loopback, link-local,
// unspecified, multicast or otherwise non-public range and is on the allow
// list. Errors: EINVALID, saying which rule failed.
func (p *Policy) CheckEndpoint(endpoint string) error {
	_, err := p.parse(endpoint)
	return err
}

// parse checks endpoint as CheckEndpoint does and returns it parsed.
func (p *Policy) parse(endpoint string) (*url.URL, error) {
	if endpoint == "" {
		return nil, belfry.Errorf(belfry.EINVALID, "push endpoint is missing")
	}
	if len(endpoint) > MaxEndpointLen {
		return nil, belfry.Errorf(belfry.EINVALID, "push endpoint is longer than %d bytes", MaxEndpointLen)
	}
	u, err := url.Parse(endpoint)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return nil, belfry.Errorf(belfry.EINVALID, "push endpoint must be an absolute https:// URL")
	}
	if u.User != nil {
		return nil, belfry.Errorf(belfry.EINVALID, "push endpoint must not contain user info")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return nil, belfry.Errorf(belfry.EINVALID, "push endpoint has no host")
	}
	if p.AllowLoopback && (u.Scheme == "http" || u.Scheme == "https") && isLoopbackHost(host) {
		if u.Port() == "" {
			return nil, belfry.Errorf(belfry.EINVALID, "a loopback push endpoint needs an explicit port")
		}
		return u, nil
	}
	if u.Scheme != "https" {
		return nil, belfry.Errorf(belfry.EINVALID, "push endpoint must use https://, not %s://", u.Scheme)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := inside(ip); why != "" {
			return nil, belfry.Errorf(belfry.EINVALID, "push endpoint host %s is %s address", host, why)
		}
	}
	if !p.allowed(host) {
		return nil, belfry.Errorf(belfry.EINVALID, "push endpoint host %s is not on the allow list of push services", host)
	}
	return u, nil
}

// allowed reports whether host (lower case, no trailing dot) is on the
// allow list.
func (p *Policy) allowed(host string) bool {
	hosts := p.Hosts
	if len(hosts) == 0 {
		hosts = DefaultHosts
	}
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.ToLower(h), ".")
		switch {
		case h == "*":
			return true
		case strings.HasPrefix(h, "*."):
			if strings.HasSuffix(host, h[1:]) && len(host) > len(h)-1 {
				return true
			}
		case h == host:
			return true
		}
	}
	return false
}

func isLoopbackHost(host string) bool {
	return host == "127.0.0.1" || host == "::1" || host == "localhost"
}

// nonPublic are ranges that netip's predicates do not cover and that no
// push service lives in.
var nonPublic = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved"},
}

// nat64 is the well-known NAT64 prefix (RFC 6052): its addresses reach the
// IPv4 address in their last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// inside returns what kind of non-public address ip is, with its article
// ("a private"), or "" when it is a public one.
func inside(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case ip.IsLoopback():
		return "a loopback"
	case ip.IsPrivate():
		return "a private"
	case ip.IsLinkLocalUnicast():
		return "a link-local"
	case ip.IsUnspecified():
		return "an unspecified"
	case ip.IsMulticast():
		return "a multicast"
	}
	for _, r := range nonPublic {
		if r.prefix.Contains(ip) {
			return r.what
		}
	}
	return ""
}

// control is the Client's net.Dialer.Control: it runs after DNS
// resolution, with the address the connection is about to reach, and
// refuses inside addresses (AllowLoopback lets loopback ones through).
func (p *Policy) control(network, address string, _ syscall.RawConn) error {
	return p.checkDial(address)
}

func (p *Policy) checkDial(address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return &dialRefused{address: address, why: "an unparsable"}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return &dialRefused{address: address, why: "an unparsable"}
	}
	why := inside(ip)
	if why == "" || (why == "a loopback" && p.AllowLoopback) {
		return nil
	}
	return &dialRefused{address: address, why: why}
}

// dialRefused is the error of a connection the policy refused at dial time.
type dialRefused struct{ address, why string }

func (e *dialRefused) Error() string {
	return "push endpoint resolves to " + e.why + " address (" + e.address + ")"
}
