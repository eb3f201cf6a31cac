<?php

namespace Belfry\Laravel\Tests\Fixtures;

use Illuminate\Notifications\Notifiable;

/** A notifiable belfry cannot tell a user of. */
class Keyless
{
    use Notifiable;
}
