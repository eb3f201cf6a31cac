// Package httpapi is belfry's HTTP API: routes, handlers, the SSE stream
// writer and authentication. cmd/belfry builds a Server with New, serves
// Server.Handler with the *http.Server that NewHTTPServer returns, and on
// exit calls Server.Shutdown (which ends every stream so clients reconnect
// elsewhere and resume) before http.Server.Shutdown.
//
// # Routes (net/http.ServeMux patterns)
//
//	POST   /api/notifications            publisher  201 + notification (user_id) or array (user_ids)
//	GET    /notifications                user       200 array, newest first; limit 1..100 (default 10),
//	                                                before=<id>, unread=true; Link: <…>; rel="next"
//	GET    /notifications/stream         user       SSE: retry, replay after Last-Event-ID, sync, live
//	GET    /notifications/unread-count   user       200 {"unread": N}
//	POST   /notifications/{id}/read      user       200 + notification
//	POST   /notifications/{id}/unread    user       200 + notification
//	POST   /notifications/read-all       user       200 {"updated": n, "unread_count": m}
//	DELETE /notifications/{id}           user       204
//	POST   /apps/{app_id}/events         Pusher     Config.Pusher only: 200 {} (pusher.go)
//	POST   /apps/{app_id}/batch_events   Pusher     Config.Pusher only: 200 {"batch":[{},…]}
//	GET    /healthz                      anyone     200 {"status":"ok"} while the process runs
//	GET    /readyz                       anyone     200, or 503 naming the store and/or broker that failed
//	GET    /metrics                      anyone     Prometheus text (only when Config.Registry is set)
//	GET    /demo/token?user=…            anyone     Config.Demo only: {"token",…} for the user (default "demo")
//	POST   /demo/token                   anyone     Config.Demo only: the same for {"user_id"}
//	POST   /demo/notifications          user       Config.Demo only: publish to oneself, 201
//	GET    /assets/…, GET /favicon.ico   anyone     Config.Assets only
//	GET    /, GET /inbox                 anyone     Config.Assets and Config.Demo only: the demo page, its sample link
//
// A known path with the wrong method answers 405 with an Allow header; an
// unknown path 404; both with the JSON error below.
//
// # Authentication
//
// Users: an HS256 JWT signed with Config.JWTSecret, sub = the user id, exp
// required, from "Authorization: Bearer", the belfry_token cookie or
// ?token= (tried in that order; the first valid one wins), then
// Config.UserAuth (AuthURL asks the app, keyed on its session cookie,
// with at most AuthURLConfig.Concurrency calls in flight). A cookie
// credential on a state-changing request must be same-origin
// (http.CrossOriginProtection). Publishers: one of Config.APIKeys as
// "Authorization: Bearer" or "X-API-Key", compared in constant time. No or a bad credential: 401. The wrong kind (a user token
// on the publish endpoint, an API key on a user endpoint): 403. Another
// user's notification id: 404, as if it did not exist. MintToken makes
// user tokens. Query tokens, and every other credential-like parameter
// or JWT in the path or query, are logged as REDACTED (RedactedURI).
//
// # Rate limits (ratelimit.go)
//
// Failed authentications are limited per client address (the peer, or
// what a Config.TrustedProxies peer names in X-Forwarded-For; IPv6 per
// /64): a token bucket of Config.AuthFailBurst (30) refilled at
// Config.AuthFailRate (2/s). Only a 401 for a credential not recognized
// cheaply is charged; once the bucket is empty, such credentials get 429
// rate_limited with Retry-After unchecked, while a JWT signed with the
// secret (expired or not) or an API key goes through. Config.PublishRate
// limits each API key's publishes (off by default). Both are counted in
// belfry_rate_limited_total{limit}.
//
// # Errors
//
// Every error is {"error": {"code": "…", "message": "…"}}. Handlers return
// a *belfry.Error; StatusOf maps its code to the status, in one place:
//
//	invalid_request 400   unauthorized 401   forbidden 403   not_found 404
//	method_not_allowed 405   conflict 409   payload_too_large 413
//	unsupported_media_type 415   rate_limited 429   internal 500   unavailable 503
//
// The publish body must be Content-Type application/json (415), at most
// 64 KiB (413), one JSON object with only the fields user_id | user_ids,
// message, title, link, category, data (400 otherwise); ids are strings
// or integers. Bad input changes nothing.
//
// # The stream
//
// Plain HTTP/1.1 streams are lean by default (streamlean.go): the
// connection is hijacked and handed to the Hub, which writes it from the
// publishing goroutine with no goroutine of its own (Config.DisableLean
// turns that off). HTTP/2 and TLS streams, and all streams with
// DisableLean, run the handler loop below; both paths send the same bytes.
// On both, a stream's credential is checked first (a JWT on a goroutine of
// its own, so the handler's stack stays small; Config.UserAuth with its
// own bound), then the stream waits for one of Config.SetupConcurrency
// places (default 64) for its store reads and replay, and gives it back
// once it is live; the gauge belfry_stream_setups_waiting counts those
// waiting.
//
// Headers Content-Type: text/event-stream, Cache-Control: no-cache,
// X-Accel-Buffering: no. First "retry: <Config.Retry in ms>". The client
// resumes with the Last-Event-ID header or ?last_event_id= (a non-negative
// integer, else 400; empty is a fresh stream). Each batch is written under
// a deadline of hub.Config.WriteTimeout and flushed; a comment ": ping" goes
// out when nothing was written for hub.Config.Heartbeat (a lean stream gets
// one every hub.Config.Heartbeat, up to a quarter of it late, whatever else
// was written); when the token
// expires the stream sends "event: token-expired" and ends. A stream the
// Hub cut as slow, or ended by Shutdown, just ends: the client reconnects
// and resumes. The server's own ReadTimeout and WriteTimeout are lifted
// per stream, so HTTP/1.1 and HTTP/2 streams live as long as the client.
package httpapi
