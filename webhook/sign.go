package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Sign returns the Standard Webhooks symmetric signature of a message,
// "v1," followed by the standard base64 of HMAC-SHA256(key, id + "." + ts +
// "." + body), ts in unix seconds. The receiver computes the same from the
// webhook-id and webhook-timestamp headers and the body as received.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signatures is the webhook-signature header: one signature per key,
// space-separated, in the order of keys. A receiver accepts the message when
// any of them matches its own key, so while a secret is rotated the sender
// signs with the new key and the old one, and receivers configured with
// either keep verifying.
func signatures(keys [][]byte, id string, ts time.Time, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, id, ts, body)
	}
	return strings.Join(sigs, " ")
}

// validID reports whether id can be a webhook-id: not empty, visible ASCII
// only (it goes in a header) and no '.', which delimits the signed content:
// the specification forbids it, since with a dot in the id one signature
// would also cover another split of the same bytes into id, timestamp and
// body.
func validID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '.' {
			return false
		}
	}
	return true
}
