// Types of notification-bell.js, the <notification-bell> custom element.
// See docs/web-component.md for the attributes, parts and CSS properties.

import type { BelfryClient, BelfryError, BelfryNotification, BelfryState, BelfryStatus } from "./belfry-client.js";

/** The element's events: bubbling and composed, with the client's detail. */
export interface NotificationBellEventMap extends HTMLElementEventMap {
  "belfry-change": CustomEvent<BelfryState>;
  "belfry-notification": CustomEvent<BelfryNotification>;
  "belfry-status": CustomEvent<BelfryStatus>;
  "belfry-error": CustomEvent<{ error: BelfryError }>;
}

/**
 * <notification-bell endpoint token token-url limit shared desktop-notifications title-count>.
 * Changing endpoint, token, token-url, limit or shared reconnects.
 */
export class NotificationBell extends HTMLElement {
  static readonly observedAttributes: string[];

  /** The client the bell renders; null while the element is not in a document. */
  client: BelfryClient | null;
  /** Whether the dropdown is open. */
  readonly open: boolean;

  /** Opens or closes the dropdown. */
  toggle(): void;
  /** Opens the dropdown. */
  show(): void;
  /** Closes the dropdown; with focusButton, the focus returns to the bell. */
  close(focusButton?: boolean): void;
  /** Asks the user for desktop notifications (call it from a click handler). */
  requestDesktopPermission(): Promise<NotificationPermission | "unsupported">;

  addEventListener<K extends keyof NotificationBellEventMap>(type: K,
    listener: (this: NotificationBell, ev: NotificationBellEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof NotificationBellEventMap>(type: K,
    listener: (this: NotificationBell, ev: NotificationBellEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "notification-bell": NotificationBell;
  }
}
