<?php

use Belfry\Laravel\Http\TokenController;
use Illuminate\Support\Facades\Route;

if (config('belfry.token_route.enabled')) {
    Route::middleware(config('belfry.token_route.middleware', ['web', 'auth']))
        ->get(config('belfry.token_route.path', 'belfry/token'), TokenController::class)
        ->name('belfry.token');
}
