<?php

namespace Belfry\Laravel\Tests;

use Illuminate\Contracts\Debug\ExceptionHandler;
use Throwable;

/** The app's exception handler in the tests: it keeps what the queue worker reports. */
class RecordingHandler implements ExceptionHandler
{
    /** @var Throwable[] */
    public array $reported = [];

    public function report(Throwable $e)
    {
        $this->reported[] = $e;
    }

    public function shouldReport(Throwable $e)
    {
        return true;
    }

    public function render($request, Throwable $e)
    {
        throw $e;
    }

    public function renderForConsole($output, Throwable $e)
    {
        throw $e;
    }
}
