<?php

namespace Belfry\Laravel\Tests;

use Belfry\Laravel\BelfryClient;
use Belfry\Laravel\BelfryException;
use Belfry\Laravel\Tests\Fixtures\QueuedInvoicePaid;
use Illuminate\Notifications\ChannelManager;
use Illuminate\Notifications\Events\NotificationSent;
use Illuminate\Queue\WorkerOptions;
use Illuminate\Support\Facades\DB;
use Illuminate\Support\Facades\Event;
use Illuminate\Support\Facades\Notification;
use RuntimeException;

/**
 * ShouldQueue notifications on Laravel's database queue (SQLite), run by
 * Laravel's own queue worker, one job at a time.
 */
class QueueTest extends TestCase
{
    public function testAQueuedNotificationIsSentByTheWorker(): void
    {
        $alice = $this->user(1);
        $bob = $this->user(2);

        Notification::send([$alice, $bob], new QueuedInvoicePaid(11));

        $this->assertSame(2, DB::table('jobs')->count(), 'one job per notifiable');
        $this->assertCount(0, $this->inbox($alice), 'nothing is sent before the worker runs');
        $this->work();
        $this->work();
        $this->assertSame(0, DB::table('jobs')->count());
        $this->assertSame([], $this->handler->reported);
        foreach ([$alice, $bob] as $user) {
            $inbox = $this->inbox($user);
            $this->assertCount(1, $inbox);
            $this->assertSame('Invoice #11 was paid', $inbox[0]['message']);
            $this->assertSame(['invoice_id' => 11], $inbox[0]['data']);
        }
    }

    public function testARetriedJobMakesNoDuplicate(): void
    {
        $alice = $this->user(1);
        // The job fails after belfry stored the notification: a listener of
        // NotificationSent throws the first time, so the worker releases
        // the job and runs it again.
        $runs = 0;
        $answers = [];
        Event::listen(NotificationSent::class, function (NotificationSent $e) use (&$runs, &$answers) {
            $answers[] = $e->response;
            if (++$runs === 1) {
                throw new RuntimeException('failed after the send');
            }
        });

        $alice->notify(new QueuedInvoicePaid(12));
        $this->work();
        $this->assertCount(1, $this->handler->reported);
        $this->assertSame('failed after the send', $this->handler->reported[0]->getMessage());
        $job = DB::table('jobs')->first();
        $this->assertNotNull($job, 'the failed job is back on the queue');
        $this->assertSame(1, (int) $job->attempts);

        $this->work();

        $this->assertSame(0, DB::table('jobs')->count());
        $this->assertSame(2, $runs, 'the job ran twice');
        $this->assertCount(1, $this->inbox($alice), 'and stored one notification');
        $this->assertSame($answers[0], $answers[1], 'the second run got the first answer');
    }

    /**
     * Notification::send to two users queues a job per user; each job
     * fails after its send the first time and is run again, and each user
     * gets the notification once.
     *
     * bell_test.go runs this test alone with BELFRY_TEST_BELL_BASE set
     * (the users are that number + 1 and + 2, the invoice that number)
     * while a bell of each user is open in Chromium.
     */
    public function testNotificationSendToManyWithRetriesMakesOneEach(): void
    {
        $base = (string) getenv('BELFRY_TEST_BELL_BASE') !== '' ? (int) getenv('BELFRY_TEST_BELL_BASE') : $this->base;
        $users = [
            Fixtures\User::create(['id' => $base + 1, 'name' => 'alice']),
            Fixtures\User::create(['id' => $base + 2, 'name' => 'bob']),
        ];
        $runs = [];
        Event::listen(NotificationSent::class, function (NotificationSent $e) use (&$runs) {
            $key = (int) $e->notifiable->getKey();
            $runs[$key] = ($runs[$key] ?? 0) + 1;
            if ($runs[$key] === 1) {
                throw new RuntimeException("failed after the send to {$key}");
            }
        });

        Notification::send($users, new QueuedInvoicePaid($base));
        $this->assertSame(2, DB::table('jobs')->count(), 'one job per notifiable');
        for ($i = 0; $i < 4 && DB::table('jobs')->count() > 0; $i++) {
            $this->work();
        }

        $this->assertSame(0, DB::table('jobs')->count(), 'every job is done after its retry');
        $this->assertSame([$base + 1 => 2, $base + 2 => 2], $runs, 'each job ran twice');
        $this->assertCount(2, $this->handler->reported, 'each first run failed');
        foreach ($users as $user) {
            $inbox = $this->inbox($user);
            $this->assertCount(1, $inbox, "the inbox of {$user->getKey()}");
            $this->assertSame("Invoice #{$base} was paid", $inbox[0]['message']);
        }
    }

    public function testAnErrorFromBelfryFailsTheJobAndItsRetrySends(): void
    {
        $alice = $this->user(1);
        $this->useApiKey('not-the-key');

        $alice->notify(new QueuedInvoicePaid(13));
        $this->work();

        $this->assertCount(1, $this->handler->reported);
        $e = $this->handler->reported[0];
        $this->assertInstanceOf(BelfryException::class, $e);
        $this->assertSame('unauthorized', $e->errorCode());
        $this->assertSame(401, $e->status());
        $this->assertSame(1, DB::table('jobs')->count(), 'the job waits for its retry');

        $this->useApiKey(getenv('BELFRY_API_KEY'));
        $this->work();

        $this->assertSame(0, DB::table('jobs')->count());
        $this->assertCount(1, $this->inbox($alice));
    }

    /** Runs the next job of the database queue as `queue:work --tries=3 --backoff=0` would. */
    private function work(): void
    {
        $options = new WorkerOptions();
        $options->maxTries = 3;
        $options->backoff = 0;
        $options->sleep = 0;
        $this->app->make('queue.worker')->runNextJob('database', 'default', $options);
    }

    private function useApiKey(string $key): void
    {
        $this->app['config']->set('belfry.api_key', $key);
        // The client and the channel holding it are built again, as in a
        // worker started after the change.
        $this->app->forgetInstance(BelfryClient::class);
        $this->app->forgetInstance(ChannelManager::class);
    }
}
