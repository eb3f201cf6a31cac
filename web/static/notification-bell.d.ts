// Types of notification-bell.js, the <notification-bell> custom element.
// See docs/web-component.md for the attributes, parts and CSS properties.

import type { BelfryAction, BelfryClient, BelfryError, BelfryNotification, BelfryState, BelfryStatus,
  BelfryViewKey } from "./belfry-client.js";

/** The detail of "belfry-action": the action taken, and its notification as it is now. */
export interface BelfryActionDetail {
  notification: BelfryNotification;
  action: BelfryAction;
}

/** The element's events: bubbling and composed. */
export interface NotificationBellEventMap extends HTMLElementEventMap {
  "belfry-change": CustomEvent<BelfryState>;
  "belfry-notification": CustomEvent<BelfryNotification>;
  "belfry-status": CustomEvent<BelfryStatus>;
  "belfry-error": CustomEvent<{ error: BelfryError }>;
  /** Once the server recorded an action; cancelable: preventDefault() keeps the bell from opening its url. */
  "belfry-action": CustomEvent<BelfryActionDetail>;
}

/**
 * <notification-bell endpoint token token-url limit shared tabs badge theme
 * lang all-url desktop-notifications sw-url title-count>.
 * Changing endpoint, token, token-url, limit or shared reconnects; the
 * others apply at once.
 */
export class NotificationBell extends HTMLElement {
  static readonly observedAttributes: string[];

  /** The client the bell renders; null while the element is not in a document. */
  client: BelfryClient | null;
  /** Whether the panel is open. */
  readonly open: boolean;
  /** The tab shown. */
  readonly tab: BelfryViewKey;

  /** Opens or closes the panel. */
  toggle(): void;
  /** Opens the panel (which marks the notifications shown as seen). */
  show(): void;
  /** Closes the panel; with focusButton, the focus returns to the bell. */
  close(focusButton?: boolean): void;
  /** Shows a tab: "all", "unread", "archived" or "category:<name>" of the tabs attribute. */
  selectTab(key: BelfryViewKey): void;
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

/**
 * Adds a language (or changes strings of one) for every bell on the page:
 * the keys are those of the English table in belfry-i18n.js.
 */
export function addStrings(lang: string, strings: Record<string, string>): void;

declare global {
  interface HTMLElementTagNameMap {
    "notification-bell": NotificationBell;
  }
}
