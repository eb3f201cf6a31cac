<?php

// belfry's settings. Publish this file with
//   php artisan vendor:publish --tag=belfry-config
// or leave it unpublished and set the environment variables.

return [

    // Where the app's backend reaches belfry (publish, retract, preferences,
    // presence). Usually an address on the private network.
    'url' => env('BELFRY_URL', 'http://127.0.0.1:8080'),

    // One of belfry's --api-key values: the publisher's credential.
    'api_key' => env('BELFRY_API_KEY'),

    // belfry's --jwt-secret (32 bytes or more): Belfry::token() signs the
    // users' tokens with it. Leave it unset when belfry resolves users
    // from the session cookie (--auth-url).
    'jwt_secret' => env('BELFRY_JWT_SECRET'),

    // Seconds a call to belfry may take before it fails (a queued send is
    // then retried by the queue).
    'timeout' => (float) env('BELFRY_TIMEOUT', 5),

    // Lifetime of the tokens Belfry::token() mints, in seconds. The bell
    // fetches a new one when its token expires.
    'token_ttl' => (int) env('BELFRY_TOKEN_TTL', 900),

    // The route that mints the bell's token for the signed-in user:
    // GET /belfry/token → {"token": "…"}. Off unless enabled.
    'token_route' => [
        'enabled' => (bool) env('BELFRY_TOKEN_ROUTE', false),
        'path' => 'belfry/token',
        'middleware' => ['web', 'auth'],
    ],

    // Where the browser reaches belfry, for <x-belfry-bell />: '' when
    // belfry is mounted under the app's own origin (nginx), else its public
    // base URL (https://belfry.example.com, which must then be allowed
    // with --allow-origin).
    'public_url' => env('BELFRY_PUBLIC_URL', ''),

    // The URL of notification-bell.js. Default: public_url/assets/…
    // when public_url is set, else /assets/belfry/notification-bell.js
    // (the nginx location that passes /assets/belfry/ to belfry's /assets/).
    'script_url' => env('BELFRY_SCRIPT_URL'),

];
