<?php

namespace Belfry\Laravel\Tests;

use Illuminate\Http\Request;
use Illuminate\Support\Facades\Http;
use Illuminate\Support\Facades\Route;

/** GET /belfry/token, the bell's token-url. */
class TokenRouteTest extends TestCase
{
    public function testItMintsATokenBelfryAccepts(): void
    {
        $alice = $this->user(1);
        $this->assertTrue(Route::has('belfry.token'));

        $request = Request::create('/belfry/token', 'GET');
        $request->setUserResolver(function () use ($alice) {
            return $alice;
        });
        $response = $this->dispatch($request);

        $this->assertSame(200, $response->getStatusCode());
        $this->assertStringContainsString('no-store', $response->headers->get('Cache-Control'));
        $token = json_decode($response->getContent(), true)['token'];
        $answer = Http::withToken($token)->get(rtrim(getenv('BELFRY_URL'), '/').'/notifications');
        $this->assertSame(200, $answer->status(), $answer->body());
    }

    public function testWithoutAUserItAnswers401(): void
    {
        $response = $this->dispatch(Request::create('/belfry/token', 'GET'));

        $this->assertSame(401, $response->getStatusCode());
    }

    public function testItIsOffUnlessEnabled(): void
    {
        $this->app = $this->createApplication([]);

        $this->assertFalse(Route::has('belfry.token'));
    }

    /** Routes the request as the app's HTTP kernel does (which binds it as 'request' first). */
    private function dispatch(Request $request)
    {
        $this->app->instance('request', $request);

        return $this->app['router']->dispatch($request);
    }
}
