<?php

namespace Belfry\Laravel\Tests;

use Illuminate\Support\Facades\View;

/** <x-belfry-bell />, compiled by Blade and rendered. */
class BellTest extends TestCase
{
    public function testTheBellWithTheTokenRoute(): void
    {
        $html = $this->render('<x-belfry-bell tabs="billing:Billing,comments:Comments" theme="auto" all-url="/notifications" desktop-notifications />');

        $this->assertStringContainsString('<script type="module" src="/assets/belfry/notification-bell.js"></script>', $html);
        $this->assertMatchesRegularExpression('~<notification-bell [^>]*></notification-bell>~', $html);
        $this->assertStringContainsString('token-url="/belfry/token"', $html);
        $this->assertStringContainsString('tabs="billing:Billing,comments:Comments"', $html);
        $this->assertStringContainsString('theme="auto"', $html);
        $this->assertStringContainsString('all-url="/notifications"', $html);
        $this->assertStringContainsString('desktop-notifications', $html);
        $this->assertStringNotContainsString('endpoint=', $html, 'same origin: no endpoint');
    }

    public function testAnExplicitEndpointAndToken(): void
    {
        $this->app['config']->set('belfry.public_url', 'https://belfry.example.com/');
        $html = $this->render('<x-belfry-bell token="a<b" limit="20" />');

        $this->assertStringContainsString('<script type="module" src="https://belfry.example.com/assets/notification-bell.js"></script>', $html);
        $this->assertStringContainsString('endpoint="https://belfry.example.com"', $html);
        $this->assertStringContainsString('token="a&lt;b"', $html, 'attribute values are escaped');
        $this->assertStringContainsString('limit="20"', $html);
        $this->assertStringNotContainsString('token-url', $html, 'a token given: no token-url');
    }

    public function testTheSessionCookieBellHasNoToken(): void
    {
        $this->app['config']->set('belfry.token_route.enabled', false);
        $this->app['config']->set('belfry.script_url', '/js/belfry/notification-bell.js');
        $html = $this->render('<x-belfry-bell />');

        $this->assertStringContainsString('<script type="module" src="/js/belfry/notification-bell.js"></script>', $html);
        $this->assertStringContainsString('<notification-bell ></notification-bell>', $html);
    }

    private function render(string $blade): string
    {
        $name = 'page'.md5($blade);
        file_put_contents(View::getFinder()->getPaths()[0].'/'.$name.'.blade.php', $blade);

        return View::make($name)->render();
    }
}
