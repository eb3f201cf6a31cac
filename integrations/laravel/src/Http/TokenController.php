<?php

namespace Belfry\Laravel\Http;

use Belfry\Laravel\BelfryClient;
use Illuminate\Http\JsonResponse;
use Illuminate\Http\Request;

/**
 * GET belfry/token: {"token": "…"} for the signed-in user, the answer the
 * bell's token-url expects. The route's middleware (web, auth by default)
 * authenticates; a request without a user gets 401.
 */
class TokenController
{
    public function __invoke(Request $request, BelfryClient $belfry): JsonResponse
    {
        $user = $request->user();
        if ($user === null) {
            return new JsonResponse(['message' => 'Unauthenticated.'], 401);
        }

        return new JsonResponse(['token' => $belfry->token($user)], 200, [
            'Cache-Control' => 'no-store, private',
        ]);
    }
}
