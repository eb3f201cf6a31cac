// Package web holds belfry's browser side, embedded in the binary: the
// headless client (belfry-client.js), the <notification-bell> custom element
// (notification-bell.js), the Vue 2 single-file component
// (vue2/NotificationBell.vue) and the demo page. They are plain ES modules:
// no build step and no runtime dependencies.
//
// Handler serves them under /assets/ and the demo page at /; the HTTP API
// mounts it as httpapi.Config.Assets.
package web
