//go:build !unix

package httpapi

import "net"

// initRawWrite leaves every answer to the poller: there is no
// non-blocking write(2) to try first.
func (fc *fastConn) initRawWrite(net.Conn) {}
