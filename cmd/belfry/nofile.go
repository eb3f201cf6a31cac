package main

import "log/slog"

// Sizing --max-streams from the process's open-files limit (RLIMIT_NOFILE).
// Every open stream holds a descriptor, its socket. The rest of the process
// needs descriptors too: the listener, the API's and the publishers'
// requests, the store's connections (SQLite's database and WAL files, a
// PostgreSQL or MongoDB pool), the broker's connections, the profiler. A
// node whose streams took them all could no longer answer /healthz, the
// API or a publish; with the limit, one more stream gets a 503 instead.

// minNofileReserve is the least number of descriptors kept from streams.
const minNofileReserve = 64

// maxStreamsUnknownLimit is --max-streams's default where the process has
// no open-files limit to read (Windows).
const maxStreamsUnknownLimit = 10000

// maxStreamsFor is the most streams that leave the rest of the process
// room under an open-files limit: limit - max(64, limit/10), at least 1.
// For 1,024 that is 922; for 65,536, 58,983; for 1,048,576, 943,719.
func maxStreamsFor(limit uint64) int {
	limit = min(limit, 1<<40) // RLIM_INFINITY and the like: no overflow below
	reserve := max(minNofileReserve, limit/10)
	if limit <= reserve {
		return 1
	}
	return int(limit - reserve)
}

// defaultMaxStreams is --max-streams's default: maxStreamsFor the limit the
// process runs with (Go raises its soft limit to the hard one at start),
// or maxStreamsUnknownLimit where there is none to read.
func defaultMaxStreams() int {
	limit, ok := openFilesLimit()
	if !ok {
		return maxStreamsUnknownLimit
	}
	return maxStreamsFor(limit)
}

// noLimitIfZero turns a flag's 0 (no limit) into hub.Config's -1, where 0
// means the default.
func noLimitIfZero(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// warnNofile logs when --max-streams (or no limit) lets streams take the
// descriptors the rest of the process needs: the node would then fail
// requests and store connections with "too many open files" instead of
// refusing streams.
func (m *Main) warnNofile(log *slog.Logger) {
	limit, ok := openFilesLimit()
	if !ok {
		return
	}
	if room := maxStreamsFor(limit); m.MaxStreams == 0 || m.MaxStreams > room {
		log.Warn("--max-streams leaves too few file descriptors for the API, the store and the broker; raise the open-files limit (LimitNOFILE) or lower --max-streams",
			"max_streams", m.MaxStreams, "open_files_limit", limit, "suggested_max_streams", room)
	}
}
