<?php

namespace Belfry\Laravel\Tests;

use Belfry\Laravel\BelfryServiceProvider;
use Illuminate\Config\Repository;
use Illuminate\Contracts\Debug\ExceptionHandler;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Foundation\Application;
use Illuminate\Support\Facades\Facade;
use Illuminate\Support\Facades\Http;
use Illuminate\Support\Facades\Schema;
use PHPUnit\Framework\TestCase as BaseTestCase;

/**
 * A Laravel application built from Debian's framework packages, as small
 * as the package needs: config, events, database (SQLite in memory, for
 * the users and the database queue), queue, bus, notifications, views and
 * routing. belfry's provider comes in by auto-discovery (the Composer
 * app of BELFRY_TEST_APP), or by name without it.
 *
 * belfry itself is real: BELFRY_URL, BELFRY_API_KEY and BELFRY_JWT_SECRET
 * name the server laravel_test.go started.
 */
abstract class TestCase extends BaseTestCase
{
    protected Application $app;

    protected RecordingHandler $handler;

    /** A number no other test uses, for user ids on the shared belfry. */
    protected int $base;

    protected function setUp(): void
    {
        parent::setUp();
        foreach (['BELFRY_URL', 'BELFRY_API_KEY', 'BELFRY_JWT_SECRET'] as $name) {
            if ((string) getenv($name) === '') {
                $this->markTestSkipped("{$name} is not set: run the tests with go test ./integrations/laravel/, which starts belfry");
            }
        }
        $this->base = random_int(1, 1000000) * 1000;
        $this->app = $this->createApplication($this->belfryConfig());
    }

    protected function tearDown(): void
    {
        Facade::clearResolvedInstances();
        Facade::setFacadeApplication(null);
        parent::tearDown();
    }

    /** Config of the belfry key set before the provider merges its defaults. */
    protected function belfryConfig(): array
    {
        return ['token_route' => ['enabled' => true, 'path' => 'belfry/token', 'middleware' => []]];
    }

    protected function createApplication(array $belfry): Application
    {
        $discovered = (string) getenv('BELFRY_TEST_APP') !== '';
        $base = $discovered ? getenv('BELFRY_TEST_APP') : sys_get_temp_dir().'/belfry-laravel-tests';
        $tmp = sys_get_temp_dir().'/belfry-laravel-'.getmypid();
        foreach ([$base.'/bootstrap/cache', $tmp.'/views', $tmp.'/compiled'] as $dir) {
            if (! is_dir($dir)) {
                mkdir($dir, 0777, true);
            }
        }

        $app = new Application($base);
        $this->handler = new RecordingHandler();
        $app->instance(ExceptionHandler::class, $this->handler);
        $providers = [
            \Illuminate\Bus\BusServiceProvider::class,
            \Illuminate\Database\DatabaseServiceProvider::class,
            \Illuminate\Filesystem\FilesystemServiceProvider::class,
            \Illuminate\Notifications\NotificationServiceProvider::class,
            \Illuminate\Queue\QueueServiceProvider::class,
            \Illuminate\View\ViewServiceProvider::class,
        ];
        if (! $discovered) {
            $providers[] = BelfryServiceProvider::class;
        }
        $app->instance('config', new Repository([
            'app' => ['name' => 'belfry-test', 'env' => 'testing', 'debug' => true, 'url' => 'http://localhost', 'providers' => $providers],
            'database' => [
                'default' => 'sqlite',
                'connections' => ['sqlite' => ['driver' => 'sqlite', 'database' => ':memory:', 'prefix' => '', 'foreign_key_constraints' => true]],
            ],
            'queue' => [
                'default' => 'database',
                'connections' => [
                    'database' => ['driver' => 'database', 'connection' => 'sqlite', 'table' => 'jobs', 'queue' => 'default', 'retry_after' => 90],
                    'sync' => ['driver' => 'sync'],
                ],
                'failed' => ['driver' => 'null'],
            ],
            'view' => ['paths' => [$tmp.'/views'], 'compiled' => $tmp.'/compiled'],
            'belfry' => $belfry,
        ]));
        Facade::clearResolvedInstances();
        Facade::setFacadeApplication($app);
        $app->registerConfiguredProviders();
        $app->boot();
        // As the app's RouteServiceProvider does once the routes are loaded.
        $app['router']->getRoutes()->refreshNameLookups();

        Schema::create('users', function (Blueprint $table) {
            $table->unsignedBigInteger('id')->primary();
            $table->string('name');
        });
        Schema::create('jobs', function (Blueprint $table) {
            $table->bigIncrements('id');
            $table->string('queue')->index();
            $table->longText('payload');
            $table->unsignedTinyInteger('attempts');
            $table->unsignedInteger('reserved_at')->nullable();
            $table->unsignedInteger('available_at');
            $table->unsignedInteger('created_at');
        });

        return $app;
    }

    /**
     * The user's notifications as belfry lists them to the user's bell:
     * GET /notifications with a token from Belfry::token().
     */
    protected function inbox($user): array
    {
        $token = $this->app->make(\Belfry\Laravel\BelfryClient::class)->token($user);
        $response = Http::withToken($token)->acceptJson()->get(rtrim(getenv('BELFRY_URL'), '/').'/notifications?limit=100&status=all');
        $this->assertSame(200, $response->status(), 'GET /notifications: '.$response->body());

        return $response->json();
    }

    protected function user(int $n, string $name = 'user'): Fixtures\User
    {
        return Fixtures\User::create(['id' => $this->base + $n, 'name' => $name.$n]);
    }
}
