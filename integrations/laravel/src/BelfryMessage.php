<?php

namespace Belfry\Laravel;

use DateTimeInterface;
use JsonSerializable;

/**
 * A notification for belfry, as a notification's toBelfry() returns it.
 * The setters are named after the fields of belfry's publish body
 * (POST /api/notifications); a field never set is left out, so belfry's
 * defaults apply.
 *
 *     return BelfryMessage::make("Invoice #{$this->invoice->id} was paid")
 *         ->title('Invoice paid')
 *         ->link("/invoices/{$this->invoice->id}")
 *         ->category('billing')
 *         ->data(['invoice_id' => $this->invoice->id]);
 */
class BelfryMessage implements JsonSerializable
{
    /** @var array<string, mixed> */
    protected array $fields = [];

    public function __construct(string $message = '')
    {
        $this->fields['message'] = $message;
    }

    public static function make(string $message = ''): self
    {
        return new static($message);
    }

    /** The text of the notification (required, at most 4 KiB). */
    public function message(string $message): self
    {
        $this->fields['message'] = $message;

        return $this;
    }

    /** The title (at most 256 bytes). */
    public function title(?string $title): self
    {
        return $this->set('title', $title);
    }

    /** Where a click goes: an http(s) URL or a path starting with /. */
    public function link(?string $link): self
    {
        return $this->set('link', $link);
    }

    /** The category (at most 64 bytes): the bell's tabs and the users' preferences go by it. */
    public function category(?string $category): self
    {
        return $this->set('category', $category);
    }

    /** Any JSON object (at most 16 KiB), handed to the browser as is. */
    public function data(?array $data): self
    {
        return $this->set('data', $data);
    }

    /** An image for the item: an http(s) URL or a path starting with /. */
    public function avatar(?string $avatar): self
    {
        return $this->set('avatar', $avatar);
    }

    /**
     * Up to 3 buttons: [['id' => 'approve', 'label' => 'Approve', 'url' => '/leave/9/approve'], …]
     * (url optional).
     */
    public function actions(array $actions): self
    {
        return $this->set('actions', array_values($actions));
    }

    /** One more button (see actions()). */
    public function action(string $id, string $label, ?string $url = null): self
    {
        $action = ['id' => $id, 'label' => $label];
        if ($url !== null) {
            $action['url'] = $url;
        }
        $this->fields['actions'][] = $action;

        return $this;
    }

    /**
     * When the notification expires: from then on belfry never lists it.
     * A date, or an RFC 3339 string.
     */
    public function expiresAt($at): self
    {
        if ($at instanceof DateTimeInterface) {
            $at = $at->format(DateTimeInterface::RFC3339);
        }

        return $this->set('expires_at', $at);
    }

    /** Expiry in seconds from when belfry stores it (instead of expiresAt). */
    public function ttl(?int $seconds): self
    {
        return $this->set('ttl', $seconds);
    }

    /** Web Push: "never", "offline" (belfry's default) or "always". */
    public function push(?string $when): self
    {
        if ($when !== null && ! in_array($when, ['never', 'offline', 'always'], true)) {
            throw new \InvalidArgumentException("push must be never, offline or always, not {$when}");
        }

        return $this->set('push', $when);
    }

    /** The publish body's fields, without the recipients. */
    public function toArray(): array
    {
        return $this->fields;
    }

    public function jsonSerialize(): array
    {
        return $this->toArray();
    }

    protected function set(string $field, $value): self
    {
        if ($value === null) {
            unset($this->fields[$field]);
        } else {
            $this->fields[$field] = $value;
        }

        return $this;
    }
}
