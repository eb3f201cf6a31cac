<?php

namespace Belfry\Laravel\Tests\Fixtures;

use Belfry\Laravel\BelfryMessage;
use Illuminate\Notifications\Notification;

/** A notification whose body differs on every send (a counter in data). */
class Stamped extends Notification
{
    public static int $sends = 0;

    public function via($notifiable)
    {
        return ['belfry'];
    }

    public function toBelfry($notifiable)
    {
        self::$sends++;

        return BelfryMessage::make('Stamped')->data(['send' => self::$sends]);
    }
}
