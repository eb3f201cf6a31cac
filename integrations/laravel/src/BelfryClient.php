<?php

namespace Belfry\Laravel;

use Illuminate\Contracts\Auth\Authenticatable;
use Illuminate\Http\Client\ConnectionException;
use Illuminate\Http\Client\Factory;
use Illuminate\Http\Client\PendingRequest;
use Illuminate\Http\Client\Response;
use InvalidArgumentException;
use stdClass;
use Traversable;

/**
 * belfry's publisher API (docs/API.md), behind the Belfry facade.
 *
 * Calls go through Laravel's HTTP client (Illuminate\Http\Client), so
 * Http::fake() works in the app's own tests. Every method throws
 * BelfryException for an error answer (with belfry's code: unauthorized,
 * invalid_request, …) and for a belfry that cannot be reached (status 0,
 * code unavailable).
 *
 * Users are given as ids (int or string), as Authenticatable users or as
 * models (their key).
 */
class BelfryClient
{
    protected Factory $http;

    /** @var array<string, mixed> */
    protected array $config;

    public function __construct(Factory $http, array $config)
    {
        $this->http = $http;
        $this->config = $config;
    }

    /**
     * Publishes one notification: to one user (the answer is the stored
     * notification, or {"skipped": [id]} when the user turned its category
     * off), or to several (an array of users; the answer is the list of
     * stored notifications). With $idempotencyKey, a repeat of the same
     * call creates nothing and answers what the first one did.
     *
     * @param  mixed  $to  a user, or an array or collection of users
     * @param  BelfryMessage|array|string  $message
     */
    public function publish($to, $message, ?string $idempotencyKey = null): array
    {
        if (is_string($message)) {
            $message = BelfryMessage::make($message);
        }
        $body = $message instanceof BelfryMessage ? $message->toArray() : $message;
        if (is_array($to) || $to instanceof Traversable) {
            $ids = [];
            foreach ($to as $user) {
                $ids[] = $this->userId($user);
            }
            $body = ['user_ids' => $ids] + $body;
        } else {
            $body = ['user_id' => $this->userId($to)] + $body;
        }
        $headers = [];
        if ($idempotencyKey !== null && $idempotencyKey !== '') {
            $headers['Idempotency-Key'] = $idempotencyKey;
        }

        return $this->send('POST', '/api/notifications', $body, $headers)->json() ?? [];
    }

    /** Retracts notification $id of $user: it leaves the user's inbox and open bells. */
    public function retract($user, int $id): void
    {
        $this->send('DELETE', '/api/users/'.rawurlencode($this->userId($user)).'/notifications/'.$id);
    }

    /**
     * The user's preferences ({"default": {...}, "categories": {...}}); with
     * $patch, changes them first (a category's switches, or null to drop
     * it) and answers them as they are now.
     */
    public function preferences($user, ?array $patch = null): array
    {
        $path = '/api/users/'.rawurlencode($this->userId($user)).'/preferences';
        if ($patch === null) {
            return $this->send('GET', $path)->json();
        }

        return $this->send('PUT', $path, $patch)->json();
    }

    /**
     * Who has a bell open: one entry per user, keyed by id, with online,
     * streams, and since or last_seen. At most 100 users per call.
     *
     * @param  mixed  $users  a user, or an array or collection of users
     */
    public function presence($users): array
    {
        if (! is_array($users) && ! $users instanceof Traversable) {
            $users = [$users];
        }
        $query = [];
        foreach ($users as $user) {
            $query[] = 'user_id='.rawurlencode($this->userId($user));
        }

        return $this->send('GET', '/api/presence?'.implode('&', $query))->json();
    }

    /**
     * A user token for belfry: an HS256 JWT signed with jwt_secret, with
     * sub = the user's id, iat and exp (now + $ttl seconds, default
     * token_ttl). The bell sends it to belfry; belfry verifies it with its
     * --jwt-secret.
     */
    public function token($user, ?int $ttl = null): string
    {
        $secret = (string) ($this->config['jwt_secret'] ?? '');
        if ($secret === '') {
            throw new InvalidArgumentException('belfry.jwt_secret (BELFRY_JWT_SECRET) is not set');
        }
        $now = time();

        return Jwt::sign([
            'sub' => $this->userId($user),
            'iat' => $now,
            'exp' => $now + ($ttl ?? (int) ($this->config['token_ttl'] ?? 900)),
        ], $secret);
    }

    /**
     * The id belfry knows a user by: a scalar as is, an Authenticatable's
     * identifier, a model's key; always as a string (belfry answers
     * user_id as a string).
     */
    public function userId($user): string
    {
        if ($user instanceof Authenticatable) {
            $user = $user->getAuthIdentifier();
        } elseif (is_object($user) && method_exists($user, 'getKey')) {
            $user = $user->getKey();
        }
        if (is_object($user) && method_exists($user, '__toString')) {
            $user = (string) $user; // a MongoDB ObjectId
        }
        if (is_int($user) || (is_string($user) && $user !== '')) {
            return (string) $user;
        }

        throw new InvalidArgumentException('a belfry user is an id (int or non-empty string), an Authenticatable or a model with a key');
    }

    protected function request(): PendingRequest
    {
        $timeout = (float) ($this->config['timeout'] ?? 5);

        return $this->http
            ->withHeaders(['Authorization' => 'Bearer '.($this->config['api_key'] ?? '')])
            ->accept('application/json')
            ->withOptions(['timeout' => $timeout, 'connect_timeout' => $timeout]);
    }

    /**
     * Sends one call. The JSON body is encoded here, not by Guzzle, so that
     * the same message always gives the same bytes: belfry replays an
     * Idempotency-Key only for a byte-identical body.
     */
    protected function send(string $method, string $path, ?array $body = null, array $headers = []): Response
    {
        $url = rtrim((string) ($this->config['url'] ?? ''), '/').$path;
        $request = $this->request()->withHeaders($headers);
        $options = [];
        if ($body !== null) {
            $json = self::encode($body);
            $request = $request->withBody($json, 'application/json');
            $options['body'] = $json;
        }
        try {
            $response = $request->send($method, $url, $options);
        } catch (ConnectionException $e) {
            throw new BelfryException(0, 'unavailable', 'belfry: cannot reach '.$url.': '.$e->getMessage(), null, $e);
        }
        if ($response->failed()) {
            throw BelfryException::fromResponse($response->status(), $response->body(), $response->header('Retry-After') ?: null);
        }

        return $response;
    }

    /** JSON of a publish or preferences body; an empty data is {} (belfry wants an object). */
    public static function encode(array $body): string
    {
        if (array_key_exists('data', $body) && $body['data'] === []) {
            $body['data'] = new stdClass();
        }

        return json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
    }
}
