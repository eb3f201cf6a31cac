<?php

namespace Belfry\Laravel\Tests\Fixtures;

use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;

/** The same, queued: Laravel sends it from a job on the queue. */
class QueuedInvoicePaid extends InvoicePaid implements ShouldQueue
{
    use Queueable;
}
