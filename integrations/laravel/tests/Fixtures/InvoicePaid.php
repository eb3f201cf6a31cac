<?php

namespace Belfry\Laravel\Tests\Fixtures;

use Belfry\Laravel\BelfryMessage;
use Illuminate\Notifications\Notification;

/** Sent at once, through the channel named 'belfry', with every field set. */
class InvoicePaid extends Notification
{
    public int $invoice;

    public function __construct(int $invoice)
    {
        $this->invoice = $invoice;
    }

    public function via($notifiable)
    {
        return ['belfry'];
    }

    public function toBelfry($notifiable)
    {
        return BelfryMessage::make("Invoice #{$this->invoice} was paid")
            ->title('Invoice paid')
            ->link("/invoices/{$this->invoice}")
            ->category('billing')
            ->data(['invoice_id' => $this->invoice])
            ->avatar('/img/billing.png')
            ->actions([['id' => 'view', 'label' => 'View', 'url' => "/invoices/{$this->invoice}"]])
            ->action('dismiss', 'Dismiss')
            ->expiresAt(new \DateTimeImmutable('2036-01-02T03:04:05Z'))
            ->push('never');
    }
}
