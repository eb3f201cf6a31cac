<?php

namespace Belfry\Laravel\Facades;

use Belfry\Laravel\BelfryClient;
use Illuminate\Support\Facades\Facade;

/**
 * belfry's publisher API.
 *
 * @method static array publish(mixed $to, \Belfry\Laravel\BelfryMessage|array|string $message, ?string $idempotencyKey = null)
 * @method static void retract(mixed $user, int $id)
 * @method static array preferences(mixed $user, ?array $patch = null)
 * @method static array presence(mixed $users)
 * @method static string token(mixed $user, ?int $ttl = null)
 * @method static string userId(mixed $user)
 *
 * @see \Belfry\Laravel\BelfryClient
 */
class Belfry extends Facade
{
    protected static function getFacadeAccessor()
    {
        return BelfryClient::class;
    }
}
