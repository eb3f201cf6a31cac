<?php

namespace Belfry\Laravel\Tests;

use Belfry\Laravel\BelfryClient;
use Belfry\Laravel\BelfryServiceProvider;
use Belfry\Laravel\Facades\Belfry;
use Illuminate\Foundation\PackageManifest;

/** The package as Composer installed it into an app, found by package discovery. */
class DiscoveryTest extends TestCase
{
    public function testTheProviderAndFacadeAreDiscovered(): void
    {
        if ((string) getenv('BELFRY_TEST_APP') === '') {
            $this->markTestSkipped('BELFRY_TEST_APP (a Composer app with the package installed) is not set');
        }
        $manifest = $this->app->make(PackageManifest::class);

        $this->assertContains(BelfryServiceProvider::class, $manifest->providers());
        $this->assertSame(Belfry::class, $manifest->aliases()['Belfry'] ?? null);
        $this->assertTrue($this->app->providerIsLoaded(BelfryServiceProvider::class));
    }

    public function testTheConfigReadsTheEnvironment(): void
    {
        $config = $this->app['config'];

        $this->assertSame(getenv('BELFRY_URL'), $config->get('belfry.url'));
        $this->assertSame(getenv('BELFRY_API_KEY'), $config->get('belfry.api_key'));
        $this->assertSame(getenv('BELFRY_JWT_SECRET'), $config->get('belfry.jwt_secret'));
        $this->assertSame(5.0, $config->get('belfry.timeout'));
        $this->assertSame($this->app->make(BelfryClient::class), $this->app->make('belfry'));
    }
}
