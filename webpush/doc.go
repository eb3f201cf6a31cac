// Package webpush is belfry's Web Push sender: Client implements
// belfry.PushSender with the standard library alone.
//
// A push request (RFC 8030) is a POST to the subscription's endpoint, a URL
// of the browser's push service:
//
//   - the payload is encrypted for the browser (RFC 8291): an ECDH key of
//     our own for each message, the subscription's p256dh key and auth
//     secret, a random salt, and one aes128gcm record (RFC 8188) of record
//     size 4096 padded with the delimiter alone, so a payload may be at
//     most MaxPayload (3993) bytes (encrypt.go);
//   - the request carries `Authorization: vapid t=<JWT>, k=<public key>`
//     (RFC 8292): an ES256 JWT whose aud is the endpoint's origin, exp 12
//     hours ahead and sub the configured contact, signed with the server's
//     Key, which LoadOrCreateKey keeps in a PEM file (key.go). A JWT is
//     reused for its audience until an hour before it expires (vapid.go);
//   - and the headers TTL, Urgency and Topic (client.go).
//
// The answer is a belfry.Delivery: the status and Retry-After (seconds or
// an HTTP date). What a status means (201 sent, 404 or 410 gone, 413 too
// large, 429 slow down) is the caller's business.
//
// Endpoints come from browsers, that is from users, so a Policy limits
// where requests go (policy.go): https only, hosts on an allow list (by
// default the browsers' push services, DefaultHosts), never a literal
// inside address; and the Client's dialer refuses inside addresses after
// DNS resolution, so a name that resolves or rebinds to one is refused
// too. The Client uses no proxy and follows no redirect.
//
// The tests check the Client against independent implementations run by
// Node (testdata/receiver.mjs): http_ece decrypts what it sends and Node's
// crypto verifies the VAPID JWT. They need node on the PATH and
// `npm ci` in web/, and skip without them; they take about half a second,
// so -short runs them too:
//
//	(cd web && npm ci) && go test -race ./webpush/
package webpush
