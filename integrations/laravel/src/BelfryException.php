<?php

namespace Belfry\Laravel;

use RuntimeException;
use Throwable;

/**
 * An error from belfry, or from reaching it.
 *
 * belfry answers every error with {"error": {"code", "message"}}; the code
 * is stable (unauthorized, invalid_request, idempotency_conflict,
 * rate_limited, unavailable, …, see docs/API.md) and the message is for
 * people. getCode() is the HTTP status, 0 when belfry could not be reached
 * (then errorCode() is "unavailable"). Thrown from a queued notification,
 * it fails the job, so the queue retries it.
 */
class BelfryException extends RuntimeException
{
    protected string $errorCode;

    protected ?int $retryAfter;

    public function __construct(int $status, string $errorCode, string $message, ?int $retryAfter = null, ?Throwable $previous = null)
    {
        parent::__construct($message, $status, $previous);
        $this->errorCode = $errorCode;
        $this->retryAfter = $retryAfter;
    }

    /** The HTTP status belfry answered; 0 when it could not be reached. */
    public function status(): int
    {
        return $this->getCode();
    }

    /** belfry's stable error code, e.g. "unauthorized". */
    public function errorCode(): string
    {
        return $this->errorCode;
    }

    /** The seconds of a 429 or 503's Retry-After header, else null. */
    public function retryAfter(): ?int
    {
        return $this->retryAfter;
    }

    /**
     * Builds the exception of an error answer. A body that is not belfry's
     * error JSON (a proxy's 502 page) gets a code from the status.
     */
    public static function fromResponse(int $status, string $body, ?string $retryAfter): self
    {
        $decoded = json_decode($body, true);
        $code = $decoded['error']['code'] ?? null;
        $message = $decoded['error']['message'] ?? null;
        if (! is_string($code) || $code === '') {
            $code = $status === 401 ? 'unauthorized'
                : ($status === 403 ? 'forbidden'
                : ($status === 404 ? 'not_found'
                : ($status === 429 ? 'rate_limited'
                : ($status >= 500 ? 'unavailable' : 'invalid_request'))));
        }
        if (! is_string($message) || $message === '') {
            $message = 'belfry answered '.$status;
        }
        $after = ($retryAfter !== null && ctype_digit($retryAfter)) ? (int) $retryAfter : null;

        return new self($status, $code, "belfry: {$message} ({$code}, {$status})", $after);
    }
}
