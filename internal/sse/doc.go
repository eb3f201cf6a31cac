// Package sse parses Server-Sent Events (text/event-stream) as the HTML
// standard's EventSource does: one leading byte order mark is dropped;
// lines end in CRLF, LF or CR alone; a line starting with ':' is a comment;
// "field: value" loses one space after the colon, and a line without a
// colon is a field with an empty value; data lines are joined with "\n";
// an event is dispatched at a blank line, and only if it had a data line;
// the last event id persists from event to event, and an id containing
// NUL is ignored; retry takes ASCII digits only; unknown fields are
// ignored; an event the stream ends inside of is never dispatched.
//
// Parser is the core, for callers that own their buffers (the load
// generator reads 10,000+ streams and allocates nothing per event): it is
// fed bytes and hands out events whose slices stay valid until the next
// call. Reader is the convenience over an io.Reader (belfry tail).
package sse
