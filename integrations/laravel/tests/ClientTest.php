<?php

namespace Belfry\Laravel\Tests;

use Belfry\Laravel\BelfryClient;
use Belfry\Laravel\BelfryException;
use Belfry\Laravel\BelfryMessage;
use Belfry\Laravel\Facades\Belfry;
use Illuminate\Support\Facades\Http;
use Illuminate\Support\Str;

/** The Belfry facade against the real belfry. */
class ClientTest extends TestCase
{
    public function testPublishToOneAndToMany(): void
    {
        $alice = $this->user(1);
        $n = Belfry::publish($alice, BelfryMessage::make('Hello')->title('Hi')->data([]));
        $this->assertSame((string) $alice->id, $n['user_id']);
        $this->assertSame('Hello', $n['message']);
        $this->assertSame([], $n['data'], 'an empty data is sent as {}');

        $ids = ['many-'.$this->base.'-1', 'many-'.$this->base.'-2'];
        $list = Belfry::publish($ids, 'To both', Str::uuid()->toString());
        $this->assertSame($ids, array_column($list, 'user_id'));
        $this->assertCount(1, $this->inbox($ids[1]));

        // A collection of users works as an array does.
        $this->assertCount(2, Belfry::publish(collect($ids), 'Again'));
        $this->assertCount(2, $this->inbox($ids[0]));
    }

    public function testAnIdempotencyKeyReplaysTheFirstAnswer(): void
    {
        $key = Str::uuid()->toString();
        $to = 'idem-'.$this->base;
        $first = Belfry::publish($to, BelfryMessage::make('Once')->link('/once'), $key);
        $again = Belfry::publish($to, BelfryMessage::make('Once')->link('/once'), $key);
        $this->assertSame($first, $again);
        $this->assertCount(1, $this->inbox($to));

        try {
            Belfry::publish($to, 'Another body', $key);
            $this->fail('another body with the same key was accepted');
        } catch (BelfryException $e) {
            $this->assertSame(409, $e->status());
            $this->assertSame('idempotency_conflict', $e->errorCode());
        }
    }

    public function testRetract(): void
    {
        $to = 'retract-'.$this->base;
        $keep = Belfry::publish($to, 'Keep');
        $gone = Belfry::publish($to, 'Gone');

        Belfry::retract($to, $gone['id']);

        $this->assertSame([$keep['id']], array_column($this->inbox($to), 'id'));
        try {
            Belfry::retract($to, $gone['id']);
            $this->fail('retracting twice succeeded');
        } catch (BelfryException $e) {
            $this->assertSame('not_found', $e->errorCode());
        }
    }

    public function testPreferencesGetAndSet(): void
    {
        $user = $this->user(1);
        $prefs = Belfry::preferences($user);
        $this->assertSame(['in_app' => true, 'push' => true, 'webhook' => true], $prefs['default']);

        $prefs = Belfry::preferences($user, ['categories' => ['marketing' => ['in_app' => false]]]);
        $this->assertFalse($prefs['categories']['marketing']['in_app']);
        $this->assertSame($prefs, Belfry::preferences($user));

        // belfry now skips the user for that category.
        $answer = Belfry::publish($user, BelfryMessage::make('Sale!')->category('marketing'));
        $this->assertSame(['skipped' => [(string) $user->id]], $answer);
        $this->assertCount(0, $this->inbox($user));
    }

    public function testPresence(): void
    {
        $online = 'online-'.$this->base;
        $offline = 'offline-'.$this->base;
        $this->assertFalse(Belfry::presence($online)[$online]['online']);

        // Open the user's stream, as a bell does, with a token from token().
        $url = rtrim(getenv('BELFRY_URL'), '/').'/notifications/stream?token='.rawurlencode(Belfry::token($online));
        $stream = fopen($url, 'r', false, stream_context_create(['http' => ['header' => "Accept: text/event-stream\r\n", 'timeout' => 10]]));
        $this->assertNotFalse($stream, 'the stream opens with the token');
        try {
            $deadline = microtime(true) + 10;
            do {
                $presence = Belfry::presence([$online, $offline]);
                if ($presence[$online]['online']) {
                    break;
                }
                usleep(20000);
            } while (microtime(true) < $deadline);
            $this->assertTrue($presence[$online]['online']);
            $this->assertSame(1, $presence[$online]['streams']);
            $this->assertFalse($presence[$offline]['online']);
        } finally {
            fclose($stream);
        }
    }

    public function testTokenIsAcceptedByBelfry(): void
    {
        $alice = $this->user(1);
        $token = Belfry::token($alice, 60);
        [$header, $claims] = array_map(function ($part) {
            return json_decode(base64_decode(strtr($part, '-_', '+/')), true);
        }, array_slice(explode('.', $token), 0, 2));
        $this->assertSame(['alg' => 'HS256', 'typ' => 'JWT'], $header);
        $this->assertSame((string) $alice->id, $claims['sub']);
        $this->assertEqualsWithDelta(time() + 60, $claims['exp'], 2);

        $base = rtrim(getenv('BELFRY_URL'), '/');
        $this->assertSame(200, Http::withToken($token)->get($base.'/notifications')->status());

        // Signed with another secret, belfry refuses it.
        $other = new BelfryClient(new \Illuminate\Http\Client\Factory(), ['jwt_secret' => str_repeat('x', 32)]);
        $this->assertSame(401, Http::withToken($other->token($alice))->get($base.'/notifications')->status());
    }

    public function testErrorsCarryBelfrysCode(): void
    {
        $this->assertError(401, 'unauthorized', function () {
            (new BelfryClient(new \Illuminate\Http\Client\Factory(), ['url' => getenv('BELFRY_URL'), 'api_key' => 'wrong']))
                ->publish('x', 'nope');
        });
        $this->assertError(400, 'invalid_request', function () {
            Belfry::publish('x', BelfryMessage::make('bad link')->link('javascript:alert(1)'));
        });
        $this->assertError(0, 'unavailable', function () {
            // A port nothing listens on: belfry cannot be reached.
            $socket = stream_socket_server('tcp://127.0.0.1:0');
            $addr = stream_socket_get_name($socket, false);
            fclose($socket);
            (new BelfryClient(new \Illuminate\Http\Client\Factory(), ['url' => 'http://'.$addr, 'timeout' => 2]))->publish('x', 'nope');
        });
    }

    public function testUserIds(): void
    {
        $client = $this->app->make(BelfryClient::class);
        $this->assertSame('42', $client->userId(42));
        $this->assertSame('alice', $client->userId('alice'));
        $this->assertSame((string) ($this->base + 1), $client->userId($this->user(1)));
        $this->expectException(\InvalidArgumentException::class);
        $client->userId(null);
    }

    private function assertError(int $status, string $code, callable $call): void
    {
        try {
            $call();
            $this->fail("expected {$code}");
        } catch (BelfryException $e) {
            $this->assertSame($status, $e->status(), $e->getMessage());
            $this->assertSame($code, $e->errorCode(), $e->getMessage());
        }
    }
}
