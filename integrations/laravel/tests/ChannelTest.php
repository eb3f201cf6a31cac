<?php

namespace Belfry\Laravel\Tests;

use Belfry\Laravel\BelfryChannel;
use Belfry\Laravel\Tests\Fixtures\InvoicePaid;
use Belfry\Laravel\Tests\Fixtures\Keyless;
use Belfry\Laravel\Tests\Fixtures\Member;
use Belfry\Laravel\Tests\Fixtures\Mentioned;
use Belfry\Laravel\Tests\Fixtures\Stamped;
use Belfry\Laravel\Tests\Fixtures\Team;
use Illuminate\Notifications\ChannelManager;
use Illuminate\Notifications\Events\NotificationSent;
use Illuminate\Support\Facades\Event;
use Illuminate\Support\Facades\Notification;
use Illuminate\Support\Str;
use InvalidArgumentException;

class ChannelTest extends TestCase
{
    public function testSendStoresOneNotificationPerUserWithTheFieldsSet(): void
    {
        $alice = $this->user(1);
        $bob = $this->user(2);

        Notification::send([$alice, $bob], new InvoicePaid(7));

        foreach ([$alice, $bob] as $user) {
            $inbox = $this->inbox($user);
            $this->assertCount(1, $inbox, 'one notification for user '.$user->id);
            $n = $inbox[0];
            $this->assertSame((string) $user->id, $n['user_id']);
            $this->assertSame('Invoice #7 was paid', $n['message']);
            $this->assertSame('Invoice paid', $n['title']);
            $this->assertSame('/invoices/7', $n['link']);
            $this->assertSame('billing', $n['category']);
            $this->assertSame(['invoice_id' => 7], $n['data']);
            $this->assertSame('/img/billing.png', $n['avatar']);
            $this->assertSame([
                ['id' => 'view', 'label' => 'View', 'url' => '/invoices/7'],
                ['id' => 'dismiss', 'label' => 'Dismiss'],
            ], $n['actions']);
            $this->assertSame('2036-01-02T03:04:05.000Z', $n['expires_at']);
            $this->assertIsInt($n['id']);
            $this->assertArrayNotHasKey('_id', $n);
        }
    }

    public function testSendingTheSameNotificationAgainCreatesNothing(): void
    {
        $alice = $this->user(1);
        $answers = [];
        Event::listen(NotificationSent::class, function (NotificationSent $e) use (&$answers) {
            $answers[] = $e->response;
        });
        $notification = new InvoicePaid(8);
        $notification->id = (string) Str::uuid();

        $alice->notify($notification);
        $alice->notify($notification); // a retry: the same notification id

        $this->assertCount(1, $this->inbox($alice));
        $this->assertCount(2, $answers);
        $this->assertSame($answers[0], $answers[1], 'the repeat gets the first answer');
    }

    public function testARetryWithAnotherBodyIsTakenAsAlreadySent(): void
    {
        $alice = $this->user(1);
        $notification = new Stamped();
        $notification->id = (string) Str::uuid();

        $alice->notify($notification);
        $alice->notify($notification); // toBelfry() gives other data now

        $inbox = $this->inbox($alice);
        $this->assertCount(1, $inbox);
        $this->assertSame(['send' => Stamped::$sends - 1], $inbox[0]['data']);
    }

    public function testEveryNotifiableGetsItsOwnIdempotencyKey(): void
    {
        $users = [$this->user(1), $this->user(2), $this->user(3)];
        $ids = [];
        Event::listen(NotificationSent::class, function (NotificationSent $e) use (&$ids) {
            $ids[] = $e->notification->id;
        });

        Notification::send($users, new InvoicePaid(9));

        $this->assertCount(3, array_unique($ids));
        foreach ($users as $user) {
            $this->assertCount(1, $this->inbox($user));
        }
    }

    public function testTheRecipientIsTheRouteElseTheKey(): void
    {
        // routeNotificationForBelfry() wins over the key.
        $member = Member::create(['id' => $this->base + 5, 'name' => 'member']);
        $member->notify(new InvoicePaid(1));
        $this->assertCount(0, $this->inbox($member->id));
        $this->assertCount(1, $this->inbox('member-'.$member->id));

        // An on-demand notifiable.
        $anon = 'anon-'.$this->base;
        Notification::route('belfry', $anon)->notify(new InvoicePaid(2));
        $this->assertCount(1, $this->inbox($anon));

        // A route may name several users: one publish with user_ids.
        $team = ['team-'.$this->base.'-a', 'team-'.$this->base.'-b'];
        $answers = [];
        Event::listen(NotificationSent::class, function (NotificationSent $e) use (&$answers) {
            $answers[] = $e->response;
        });
        (new Team($team))->notify(new InvoicePaid(3));
        $this->assertCount(2, end($answers), 'user_ids answers a list');
        $this->assertCount(1, $this->inbox($team[0]));
        $this->assertCount(1, $this->inbox($team[1]));

        // Without a route or a key, nothing can be sent.
        try {
            (new Keyless())->notify(new InvoicePaid(4));
            $this->fail('a notifiable without a route or a key was sent to');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('routeNotificationForBelfry', $e->getMessage());
        }
        try {
            Notification::route('mail', 'a@example.com')->notify(new InvoicePaid(5));
            $this->fail('an on-demand notifiable without a belfry route was sent to');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString("route('belfry'", $e->getMessage());
        }
    }

    public function testTheChannelByClassNameAndAStringMessage(): void
    {
        $alice = $this->user(1);

        $alice->notify(new Mentioned('You were mentioned'));
        $alice->notify(new Mentioned(null)); // toBelfry() null: nothing to send

        $inbox = $this->inbox($alice);
        $this->assertCount(1, $inbox);
        $this->assertSame('You were mentioned', $inbox[0]['message']);
        $this->assertNull($inbox[0]['title']);
        $manager = $this->app->make(ChannelManager::class);
        $this->assertInstanceOf(BelfryChannel::class, $manager->driver('belfry'));
        $this->assertInstanceOf(BelfryChannel::class, $manager->driver(BelfryChannel::class));
    }
}
