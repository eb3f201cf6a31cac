package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/redisbus"
)

// AdminFlags are serve's operator page settings (docs/operations.md, "The
// operator page").
type AdminFlags struct {
	// Key opens /admin (as a bearer token or in its sign-in form); ""
	// turns the page off (404). At least httpapi.MinAdminKeyLen bytes.
	Key string
}

// define adds the flags to fs.
func (f *AdminFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.Key, "admin-key", f.Key, fmt.Sprintf("`key` that opens the operator page /admin (%d bytes or more, e.g. openssl rand -hex 16); default off", httpapi.MinAdminKeyLen))
}

// check validates the flags. The key itself is never shown: the message
// goes to logs.
func (f *AdminFlags) check() error {
	if f.Key != "" && len(f.Key) < httpapi.MinAdminKeyLen {
		return fmt.Errorf("--admin-key must be at least %d bytes (e.g. openssl rand -hex 16); it has %d",
			httpapi.MinAdminKeyLen, len(f.Key))
	}
	return nil
}

// config is the httpapi setting; nil when the page is off. With a Redis
// broker the presence lists the deployment's nodes.
func (f *AdminFlags) config(storeURL, brokerURL string, presence belfry.Presence) *httpapi.AdminConfig {
	if f.Key == "" {
		return nil
	}
	c := &httpapi.AdminConfig{Key: f.Key, Store: schemeOf(storeURL), Broker: schemeOf(brokerURL)}
	if rp, ok := presence.(*redisbus.Presence); ok {
		c.NodeID = rp.NodeID()
		c.Nodes = func(ctx context.Context) ([]httpapi.AdminNode, error) {
			ns, err := rp.Nodes(ctx)
			out := make([]httpapi.AdminNode, len(ns))
			for i, n := range ns {
				out[i] = httpapi.AdminNode{ID: n.ID, Beat: n.Beat, Live: n.Live}
			}
			return out, err
		}
	}
	return c
}
