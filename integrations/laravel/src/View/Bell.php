<?php

namespace Belfry\Laravel\View;

use Illuminate\View\Component;

/**
 * <x-belfry-bell />: belfry's <notification-bell> element and its script.
 *
 * endpoint defaults to belfry.public_url ('' = the page's origin); the
 * token comes from token-url, by default the package's token route when
 * it is enabled, or the attribute token; with neither, the bell relies on
 * the session cookie (belfry's --auth-url). Every other attribute (tabs,
 * theme, limit, badge, lang, all-url, desktop-notifications, sw-url,
 * title-count, shared, class, …) is passed to the element as written.
 */
class Bell extends Component
{
    public string $endpoint;

    public ?string $token;

    public ?string $tokenUrl;

    public string $scriptUrl;

    public function __construct(?string $endpoint = null, ?string $token = null, ?string $tokenUrl = null)
    {
        $config = app('config');
        $this->endpoint = rtrim($endpoint ?? (string) $config->get('belfry.public_url', ''), '/');
        $this->token = $token;
        if ($tokenUrl === null && ($token === null || $token === '') && $config->get('belfry.token_route.enabled')) {
            $tokenUrl = '/'.ltrim((string) $config->get('belfry.token_route.path', 'belfry/token'), '/');
        }
        $this->tokenUrl = $tokenUrl;
        $script = $config->get('belfry.script_url');
        if (! is_string($script) || $script === '') {
            $public = rtrim((string) $config->get('belfry.public_url', ''), '/');
            $script = $public !== '' ? $public.'/assets/notification-bell.js' : '/assets/belfry/notification-bell.js';
        }
        $this->scriptUrl = $script;
    }

    /** The element's own attributes, those that are set. */
    public function bellAttributes(): array
    {
        return array_filter([
            'endpoint' => $this->endpoint,
            'token' => $this->token,
            'token-url' => $this->tokenUrl,
        ], static function ($v) {
            return $v !== null && $v !== '';
        });
    }

    public function render()
    {
        return view('belfry::bell');
    }
}
