<?php

namespace Belfry\Laravel\Tests\Fixtures;

use Belfry\Laravel\BelfryChannel;
use Illuminate\Notifications\Notification;

/** Through BelfryChannel::class, with toBelfry() returning a string (or null: nothing is sent). */
class Mentioned extends Notification
{
    public ?string $text;

    public function __construct(?string $text)
    {
        $this->text = $text;
    }

    public function via($notifiable)
    {
        return [BelfryChannel::class];
    }

    public function toBelfry($notifiable)
    {
        return $this->text;
    }
}
