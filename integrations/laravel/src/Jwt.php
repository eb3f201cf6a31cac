<?php

namespace Belfry\Laravel;

/**
 * The HS256 JSON Web Tokens belfry verifies (RFC 7519), without a JWT
 * library: the header and claims are fixed, so signing is one HMAC.
 */
final class Jwt
{
    /** Signs $claims with $secret: base64url(header).base64url(claims).base64url(HMAC-SHA256). */
    public static function sign(array $claims, string $secret): string
    {
        $header = self::base64url(json_encode(['alg' => 'HS256', 'typ' => 'JWT']));
        $payload = self::base64url(json_encode($claims, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR));
        $signature = hash_hmac('sha256', $header.'.'.$payload, $secret, true);

        return $header.'.'.$payload.'.'.self::base64url($signature);
    }

    private static function base64url(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }
}
