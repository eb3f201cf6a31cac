package redisbus

import (
	"encoding/json"
	"errors"

	"github.com/belfry/belfry"
)

// appendMessage appends m's payload to b. A new notification is written
// with belfry's own encoder and no user_id at the top (the channel names the
// user; the notification carries it too); anything else is the
// encoding/json form of belfry.Message.
func appendMessage(b []byte, m *belfry.Message) ([]byte, error) {
	if m.Kind == belfry.KindNew && m.New != nil {
		b = append(b, `{"kind":"new-notification","notification":`...)
		b = m.New.AppendJSON(b)
		return append(b, '}'), nil
	}
	p, err := json.Marshal(m)
	if err != nil {
		return b, err
	}
	return append(b, p...), nil
}

var errUserMismatch = errors.New("payload user_id differs from the channel's user")

// decodeMessage decodes a payload received on user's channel.
func decodeMessage(user string, payload string) (belfry.Message, error) {
	var m belfry.Message
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		return m, err
	}
	if m.UserID == "" {
		m.UserID = user
	}
	if m.UserID != user || (m.New != nil && m.New.UserID != user) {
		return m, errUserMismatch
	}
	return m, nil
}
