<?php

namespace Belfry\Laravel\Tests\Fixtures;

use Illuminate\Notifications\Notifiable;

/** A notifiable with no key that routes to several belfry users. */
class Team
{
    use Notifiable;

    /** @var array<int, string> */
    public array $members;

    public function __construct(array $members)
    {
        $this->members = $members;
    }

    public function routeNotificationForBelfry($notification)
    {
        return $this->members;
    }
}
