<?php

namespace Belfry\Laravel\Tests\Fixtures;

/** A user that names its belfry id itself. */
class Member extends User
{
    public function routeNotificationForBelfry($notification)
    {
        return 'member-'.$this->getKey();
    }
}
