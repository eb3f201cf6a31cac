// Package bench is belfry's load generator, run as `belfry bench`. It can
// be pointed at a belfry or at any other SSE server: the stream URL, its
// headers and the publish request are templates.
//
// # Design
//
// Stream clients are lean raw-TCP clients, not net/http: each dials with
// net.Dialer (LocalAddr spread over 127.0.0.1..127.0.0.N, so the ephemeral
// port range of one source address is not the limit), writes a minimal
// hand-written HTTP/1.1 request, checks the status line, undoes chunked
// transfer encoding in place and parses Server-Sent Events from one small
// buffer (2 KiB by default) with internal/sse's Parser, which allocates
// nothing per event. One goroutine per stream.
//
// One process holds at most 15,000 streams (the open-files cap is 20,000):
// more are spread over worker processes. A worker is the same binary
// re-executed as `<executable> bench --worker` (Config.WorkerCommand): it
// reads commands as JSON lines on stdin and answers with JSON lines on
// stdout; its stderr is the parent's. With one process the same worker code
// runs in-process over pipes, so both paths speak the same protocol.
//
// The publishing side runs in the parent: --publishers goroutines, each
// with one keep-alive HTTP/1.1 connection of its own (httpConn), not
// net/http. A goroutine writes each request in one write from a reused
// buffer and reads the answer itself (Content-Length, chunked, or to the
// close), so no reader and writer goroutines hand it over; a reused
// connection the server has closed is found before the request is written
// and replaced, and a request once written is never sent again. The
// publish URL must be http:// (https is refused: bench targets loopback);
// placeholders may be in its path and query only.
//
// Every publish carries "seq=<request number> t=<unix nanos>" in its
// message (the {{payload}} of the body template); stream clients find both
// in the event data, so they measure publish → deliver latency and, once
// told which requests were acknowledged, report for every stream what was
// lost, duplicated or unexpected.
//
// Scenarios: idle (memory per stream), targeted (each publish to one user,
// or --batch users with user_ids), broadcast (few requests, many users
// each), storm (every stream drops and resumes with Last-Event-ID at once,
// each having missed --missed notifications) and floor (no server: the
// kernel's cost of writing one frame to a loopback socket).
//
// Safety: traffic goes only to the URLs given, loopback unless
// --allow-remote; every run is bounded by --timeout and stops by itself.
package bench
