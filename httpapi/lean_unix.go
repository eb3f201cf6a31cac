//go:build unix

package httpapi

// leanSupported: a hijacked connection's descriptor takes non-blocking
// write(2) and a peek (leanconn.go).
const leanSupported = true
