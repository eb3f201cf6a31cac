<?php

namespace Belfry\Laravel;

use Illuminate\Notifications\AnonymousNotifiable;
use Illuminate\Notifications\Notification;
use InvalidArgumentException;

/**
 * The "belfry" notification channel: via() returns ['belfry'] (or
 * BelfryChannel::class) and the notification's toBelfry($notifiable)
 * returns a BelfryMessage (or a string, the message alone; null sends
 * nothing).
 *
 * The recipient is the notifiable's routeNotificationForBelfry($notification)
 * (an id, a user, or an array of them), else Notification::route('belfry', …)
 * for an on-demand notifiable, else the notifiable's key.
 *
 * Each send carries Idempotency-Key = the notification's id: Laravel gives
 * every notifiable its own UUID, kept in the queued job, so a job that runs
 * again (a retry, a worker that died before deleting it) publishes nothing
 * new; belfry answers the repeat with the first answer.
 */
class BelfryChannel
{
    protected BelfryClient $client;

    public function __construct(BelfryClient $client)
    {
        $this->client = $client;
    }

    /**
     * Publishes the notification to belfry and returns belfry's answer (the
     * stored notification, or the list of them). Throws BelfryException
     * when belfry refuses it or cannot be reached, so a queued send fails
     * and is retried.
     *
     * @param  mixed  $notifiable
     */
    public function send($notifiable, Notification $notification): ?array
    {
        if (! method_exists($notification, 'toBelfry')) {
            throw new InvalidArgumentException(get_class($notification).' is sent via belfry but has no toBelfry($notifiable) method');
        }
        $message = $notification->toBelfry($notifiable);
        if ($message === null) {
            return null;
        }
        if (is_string($message)) {
            $message = BelfryMessage::make($message);
        }
        if (! $message instanceof BelfryMessage) {
            throw new InvalidArgumentException(get_class($notification).'::toBelfry() must return a BelfryMessage, a string or null');
        }
        $key = is_string($notification->id ?? null) && $notification->id !== '' ? $notification->id : null;

        try {
            return $this->client->publish($this->recipient($notifiable, $notification), $message, $key);
        } catch (BelfryException $e) {
            // The key was used before with another body: this notification
            // reached this notifiable already, from a run whose toBelfry()
            // gave other bytes (a timestamp in data, say). Sending it again
            // would make the duplicate the key exists to prevent.
            if ($key !== null && $e->errorCode() === 'idempotency_conflict') {
                return null;
            }
            throw $e;
        }
    }

    /**
     * Whom the notification is for: routeNotificationForBelfry(), the
     * on-demand route, else the notifiable's key.
     *
     * @param  mixed  $notifiable
     * @return mixed  an id, a user, or an array of them
     */
    protected function recipient($notifiable, Notification $notification)
    {
        if (method_exists($notifiable, 'routeNotificationFor')) {
            $to = $notifiable->routeNotificationFor('belfry', $notification);
            if ($to !== null) {
                return $to;
            }
        }
        if ($notifiable instanceof AnonymousNotifiable) {
            throw new InvalidArgumentException("an on-demand notification via belfry needs Notification::route('belfry', \$userId)");
        }
        if (is_object($notifiable) && method_exists($notifiable, 'getKey') && $notifiable->getKey() !== null) {
            return $notifiable->getKey();
        }

        throw new InvalidArgumentException('cannot tell the belfry user of '.(is_object($notifiable) ? get_class($notifiable) : gettype($notifiable)).': give it routeNotificationForBelfry()');
    }
}
