// Package web holds belfry's browser side, embedded in the binary: the
// headless client (belfry-client.js, a facade over belfry-state.js, the
// inbox rules, and belfry-tabs.js, one stream per browser), the
// <notification-bell> custom element (notification-bell.js), the Vue 2
// single-file component (vue2/NotificationBell.vue), what the two share
// (belfry-ui.js: the DOM's rules, stylesheet and icons; belfry-i18n.js: the
// strings; belfry-push.js: the desktop switch's Web Push), the Web Push
// service worker (belfry-sw.js, a classic script), the .d.ts types and the
// demo page. They are plain ES modules:
// no build step and no runtime dependencies. The pure modules are
// unit-tested with Node's test runner (web/test); the rest runs in Chromium
// (the *_test.go files here), where one test body checks both the element
// and the Vue component.
//
// Handler serves them under /assets/ and the demo page at /; the HTTP API
// mounts it as httpapi.Config.Assets.
package web
