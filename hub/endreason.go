package hub

import (
	"context"
	"errors"
	"os"

	"github.com/belfry/belfry"
)

// More reasons a stream ends (see ErrSlowStream and the others).
var (
	// ErrClientGone: the client hung up, or a write found it gone.
	ErrClientGone = errors.New("belfry: client gone")
	// ErrTokenExpired: the stream's credential expired; its last event
	// said so (token-expired).
	ErrTokenExpired = errors.New("belfry: token expired")
)

// EndReason says why a stream ended. Every end is counted by reason
// (Stats.Ends) and logged at debug with the user and the stream's id.
type EndReason uint8

// The reasons, in Stats.Ends order.
const (
	EndClosed       EndReason = iota // the server closed it (Close)
	EndClientGone                    // the client hung up or went away
	EndSlow                          // its queue overflowed, or a write waited past the write timeout
	EndTokenExpired                  // its credential expired
	EndShutdown                      // the node is shutting down
	EndStoreDown                     // the store stayed down past Config.StoreOutage
	numEndReasons
)

var endReasonNames = [numEndReasons]string{"closed", "client_gone", "slow", "token_expired", "shutdown", "store_unavailable"}

// String returns the reason's label, as in the metrics.
func (r EndReason) String() string {
	if r < numEndReasons {
		return endReasonNames[r]
	}
	return "unknown"
}

// EndReasons lists every reason, for metrics.
func EndReasons() []EndReason {
	out := make([]EndReason, numEndReasons)
	for i := range out {
		out[i] = EndReason(i)
	}
	return out
}

// endReasonOf maps the error a stream was cut with to its reason. A write
// error that is not a timeout means the client is gone.
func endReasonOf(err error) EndReason {
	switch {
	case err == nil, errors.Is(err, ErrStreamClosed):
		return EndClosed
	case errors.Is(err, ErrSlowStream), errors.Is(err, os.ErrDeadlineExceeded):
		return EndSlow
	case errors.Is(err, ErrShutdown):
		return EndShutdown
	case errors.Is(err, ErrTokenExpired):
		return EndTokenExpired
	case errors.Is(err, context.Canceled), errors.Is(err, ErrClientGone):
		return EndClientGone
	case belfry.ErrorCode(err) == belfry.EUNAVAILABLE:
		return EndStoreDown
	}
	return EndClientGone
}

// ended counts a stream's end and logs it at debug.
func (h *Hub) ended(user string, id uint64, reason error) {
	r := endReasonOf(reason)
	h.ends[r].Add(1)
	h.log.Debug("stream ended", "user", user, "stream", id, "reason", r.String())
}
