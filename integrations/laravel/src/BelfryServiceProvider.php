<?php

namespace Belfry\Laravel;

use Belfry\Laravel\View\Bell;
use Illuminate\Http\Client\Factory;
use Illuminate\Notifications\ChannelManager;
use Illuminate\Support\ServiceProvider;
use Illuminate\View\Compilers\BladeCompiler;

/**
 * Registers belfry with the app (auto-discovered through composer.json's
 * extra.laravel): the config, the client behind the Belfry facade, the
 * "belfry" notification channel, the token route (when enabled) and the
 * <x-belfry-bell /> component.
 */
class BelfryServiceProvider extends ServiceProvider
{
    public function register(): void
    {
        $this->mergeConfigFrom(__DIR__.'/../config/belfry.php', 'belfry');

        $this->app->singleton(BelfryClient::class, function ($app) {
            return new BelfryClient($app->make(Factory::class), $app['config']->get('belfry', []));
        });
        $this->app->alias(BelfryClient::class, 'belfry');

        $this->callAfterResolving(ChannelManager::class, function (ChannelManager $channels) {
            $channels->extend('belfry', function ($app) {
                return $app->make(BelfryChannel::class);
            });
        });
    }

    public function boot(): void
    {
        if ($this->app->runningInConsole()) {
            $this->publishes([
                __DIR__.'/../config/belfry.php' => $this->app->configPath('belfry.php'),
            ], 'belfry-config');
        }

        $this->loadRoutesFrom(__DIR__.'/../routes/belfry.php');
        $this->loadViewsFrom(__DIR__.'/../resources/views', 'belfry');
        $this->callAfterResolving(BladeCompiler::class, function (BladeCompiler $blade) {
            $blade->component('belfry-bell', Bell::class);
        });
    }
}
