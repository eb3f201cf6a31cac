// Package peers runs, for belfry's tests, receivers written against other
// authors' libraries: a Standard Webhooks receiver (the standardwebhooks
// npm package) and a Web Push service and browser (http_ece, Node's
// crypto). They are independent second opinions on what belfry sends.
// They need node and web/node_modules (npm ci in web/); Start* skip the
// test without them.
package peers
