package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
)

// PusherFlags are serve's Pusher HTTP API settings (docs/pusher.md): with
// an app id, key and secret, belfry answers POST /apps/{app_id}/events
// and /batch_events as Pusher does, so an app's Pusher server SDK
// (Laravel's BROADCAST_DRIVER=pusher) publishes to it.
type PusherFlags struct {
	AppID  string // "" with Key and Secret: the endpoints are off
	Key    string
	Secret string
	// UserChannel is the channel of one user, {id} standing for the user
	// id; default httpapi.DefaultPusherUserChannel, Laravel's.
	UserChannel string
}

func defaultPusherFlags() PusherFlags {
	return PusherFlags{UserChannel: httpapi.DefaultPusherUserChannel}
}

// define adds the flags to fs.
func (f *PusherFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.AppID, "pusher-app-id", f.AppID, "Pusher app `id` that the Pusher HTTP API endpoints (/apps/{id}/events) answer for; with --pusher-key and --pusher-secret, an app's Pusher SDK publishes to belfry")
	fs.StringVar(&f.Key, "pusher-key", f.Key, "Pusher app `key` (auth_key of the SDK's signed requests)")
	fs.StringVar(&f.Secret, "pusher-secret", f.Secret, "Pusher app `secret` that signs the SDK's requests (16 bytes or more)")
	fs.StringVar(&f.UserChannel, "pusher-user-channel", f.UserChannel, "Pusher `channel` of one user, {id} standing for the belfry user id: notifications broadcast on it are stored for that user")
}

// on reports whether the Pusher endpoints are configured.
func (f *PusherFlags) on() bool { return f.AppID != "" || f.Key != "" || f.Secret != "" }

// check validates the flags: all three of app id, key and secret, or none.
func (f *PusherFlags) check() error {
	if !f.on() {
		return nil
	}
	if f.AppID == "" || f.Key == "" || f.Secret == "" {
		return errors.New("--pusher-app-id, --pusher-key and --pusher-secret go together: set all three, or none")
	}
	c := f.config()
	if err := c.Validate(); err != nil {
		return fmt.Errorf("--pusher-*: %s", belfry.ErrorMessage(err))
	}
	return nil
}

// config is the httpapi setting; nil when the endpoints are off.
func (f *PusherFlags) config() *httpapi.PusherConfig {
	if !f.on() {
		return nil
	}
	return &httpapi.PusherConfig{AppID: f.AppID, Key: f.Key, Secret: f.Secret, UserChannel: f.UserChannel}
}
