// Package webhook is belfry's webhook sender (belfry.WebhookSender): it
// posts events to the app's endpoint signed as the Standard Webhooks
// specification says (https://www.standardwebhooks.com), so that the app can
// check them with any Standard Webhooks library.
//
// Each request is a POST of the JSON body with the headers
//
//	webhook-id: <the job's id, the same on every attempt>
//	webhook-timestamp: <the attempt's time, unix seconds>
//	webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>
//
// The key is the decoded secret, "whsec_" + base64 (ParseSecret; NewSecret
// makes one). A Client may hold several keys; it then sends one signature
// per key, space-separated, which is how the specification rotates a
// secret without downtime: sign with the old and the new key until every
// receiver has the new one.
//
// Deliver reports the peer's status as it is and never follows a redirect;
// whether a status means done, retry (with the answer's Retry-After) or give
// up is the caller's decision. Only a request that got no answer is an error
// (EUNAVAILABLE).
package webhook
