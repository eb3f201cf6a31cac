//go:build !unix

package httpapi

import (
	"net"
	"time"
)

// peekFast: without MSG_PEEK every connection goes to net/http.
func peekFast(net.Conn, time.Duration) (bool, error) { return false, nil }
