// Types of belfry-client.js, the headless browser client of belfry.
// See docs/web-component.md ("The headless client") and docs/API.md.

/** A button on a notification (at most 3). */
export interface BelfryAction {
  id: string;
  label: string;
  /** Opened after the action is recorded; absent when it has none. */
  url?: string;
}

/** A notification as the API returns it. */
export interface BelfryNotification {
  /** The user's sequence number: strictly increasing, never reused; also the SSE event id. */
  id: number;
  user_id: string;
  message: string;
  title: string | null;
  /** An absolute http(s) URL or a path starting with "/". */
  link: string | null;
  category: string | null;
  data: Record<string, unknown> | null;
  /** An ISO timestamp; null while unread. */
  read_at: string | null;
  created_at: string;
  /** An absolute http(s) URL or a path starting with "/". */
  avatar: string | null;
  /** [] when none. */
  actions: BelfryAction[];
  /** The id of the action taken, null if none. */
  action: string | null;
  acted_at: string | null;
  /** Null while unseen (opening the bell marks seen; reading does too). */
  seen_at: string | null;
  /** Null unless archived. */
  archived_at: string | null;
  /** From then on it is never listed or counted. */
  expires_at: string | null;
}

/** Unread and unseen notifications (archived and expired ones are not counted). */
export interface BelfryCount {
  unread: number;
  unseen: number;
}

/** The counts; byCategory lists the categories with something unread or unseen. */
export interface BelfryCounts extends BelfryCount {
  byCategory: Record<string, BelfryCount>;
}

/**
 * A list the client keeps: "all" (not archived), "unread", "archived", or
 * "category:<name>" (not archived, of that category).
 */
export type BelfryViewKey = "all" | "unread" | "archived" | `category:${string}`;

/** One view's notifications (client.view(key)). */
export interface BelfryView {
  /** Newest first; the client's own objects: do not change them. */
  items: readonly BelfryNotification[];
  hasMore: boolean;
  /** False until its first page came: load() it. */
  loaded: boolean;
  loading: boolean;
}

/** One channel's switches. */
export interface BelfryChannels {
  in_app: boolean;
  push: boolean;
  webhook: boolean;
}

/** The user's preferences: default, and the categories set apart from it. */
export interface BelfryPreferences {
  default: BelfryChannels;
  categories: Record<string, BelfryChannels>;
}

/** A change of preferences: absent switches keep their value; a category given null follows the default again. */
export interface BelfryPreferencesPatch {
  default?: Partial<BelfryChannels>;
  categories?: Record<string, Partial<BelfryChannels> | null>;
}

/** The connection status. */
export type BelfryStatus = "connecting" | "live" | "reconnecting" | "closed";

/**
 * Why the server refuses the stream while the status is "reconnecting":
 * "too-many-streams" (429: the user holds as many streams as a node allows
 * one user) or "busy" (503: the server is full, or cannot reach its store).
 */
export type BelfryRefusal = "" | "too-many-streams" | "busy";

/** The tab's part in sharing one stream per browser. */
export type BelfryRole = "none" | "solo" | "leader" | "follower";

/** A snapshot for rendering (client.state, the "change" event's detail). */
export interface BelfryState {
  /** The "all" view, newest first; the client's own objects: do not change them. */
  items: readonly BelfryNotification[];
  unread: number;
  unseen: number;
  byCategory: Record<string, BelfryCount>;
  status: BelfryStatus;
  refusal: BelfryRefusal;
  hasMore: boolean;
  loading: boolean;
  role: BelfryRole;
}

export interface BelfryClientOptions {
  /** belfry's base URL; "" or omitted: the page's origin. */
  endpoint?: string;
  /** A user JWT; omitted: the cookie or the app's session (--auth-url). */
  token?: string;
  /** GET answers {"token": "..."}; used at start without a token, on token-expired and after a 401. */
  tokenUrl?: string;
  /** Page size of the list, 1 to 100 (default 10). */
  limit?: number | string;
  /** Share one stream between the user's tabs (default true). */
  shared?: boolean;
}

/** A failed request: status is the HTTP status when the server answered. */
export interface BelfryError extends Error {
  status?: number;
}

export interface BelfryClientEventMap {
  /** The state changed. */
  change: CustomEvent<BelfryState>;
  /** A new notification arrived live. */
  notification: CustomEvent<BelfryNotification>;
  /** The connection status changed. */
  status: CustomEvent<BelfryStatus>;
  /** A request failed. */
  error: CustomEvent<{ error: BelfryError }>;
}

export class BelfryClient extends EventTarget {
  constructor(opts?: BelfryClientOptions);

  readonly endpoint: string;
  /** The token in use; replaced when one is fetched from tokenUrl. */
  token: string;
  readonly tokenUrl: string;
  readonly limit: number;
  readonly shared: boolean;

  /** The "all" view. */
  readonly items: readonly BelfryNotification[];
  readonly unread: number;
  readonly unseen: number;
  readonly counts: BelfryCounts;
  readonly status: BelfryStatus;
  readonly refusal: BelfryRefusal;
  readonly hasMore: boolean;
  readonly loading: boolean;
  readonly role: BelfryRole;
  readonly state: BelfryState;

  /** Fetches the list and joins (or opens) the stream. Idempotent. */
  start(): Promise<void>;
  /** Closes the stream and leaves the tab group; the state is kept. */
  stop(): void;
  /** The notification with this id, if held. */
  get(id: number): BelfryNotification | undefined;
  /** A view's notifications. */
  view(key: BelfryViewKey): BelfryView;
  /** Loads a view's newest page unless it is loaded or loading (errors go to the "error" event). */
  load(key: BelfryViewKey): Promise<void>;
  /** Reloads a view's newest page (default "all") and the counts; rejects with the request's error. */
  refresh(key?: BelfryViewKey): Promise<void>;
  /** Loads the page of a view (default "all") older than the oldest it lists (errors go to the "error" event). */
  loadOlder(key?: BelfryViewKey): Promise<void>;

  // The changes below apply at once, resolve true once the server did them,
  // and false when it did not (the error goes to the "error" event and the
  // views are reloaded). The other tabs learn them from the stream.

  /** POST /notifications/{id}/read. */
  markRead(id: number): Promise<boolean>;
  /** POST /notifications/{id}/unread. */
  markUnread(id: number): Promise<boolean>;
  /** POST /notifications/read-all up to the newest held, of one category if given. */
  markAllRead(category?: string): Promise<boolean>;
  /** POST /notifications/seen up to the newest held; false without a request when none is unseen. */
  markSeen(): Promise<boolean>;
  /** POST /notifications/{id}/archive. */
  archive(id: number): Promise<boolean>;
  /** POST /notifications/{id}/unarchive. */
  unarchive(id: number): Promise<boolean>;
  /** POST /notifications/{id}/actions/{actionId}: records the action (and reads it). */
  act(id: number, actionId: string): Promise<boolean>;
  /** DELETE /notifications/{id}. */
  remove(id: number): Promise<boolean>;
  /** GET /notifications/preferences; rejects with the request's error. */
  preferences(): Promise<BelfryPreferences>;
  /** PUT /notifications/preferences; resolves with all of them; rejects with the request's error. */
  setPreferences(patch: BelfryPreferencesPatch): Promise<BelfryPreferences>;

  /** GET /notifications/push/key: Web Push's public key, base64url; rejects with the request's error (status 404: push is off). */
  pushKey(): Promise<string>;
  /** POST /notifications/push/subscriptions; rejects with the request's error (status 400, 409 at the limit). */
  addPushSubscription(sub: PushSubscriptionJSON): Promise<{ endpoint: string; created_at: string }>;
  /** DELETE /notifications/push/subscriptions; rejects with the request's error (status 404: not this user's). */
  removePushSubscription(endpoint: string): Promise<void>;

  addEventListener<K extends keyof BelfryClientEventMap>(type: K,
    listener: (this: BelfryClient, ev: BelfryClientEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof BelfryClientEventMap>(type: K,
    listener: (this: BelfryClient, ev: BelfryClientEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions): void;
}

/** Milliseconds of a Retry-After header (seconds, or an HTTP date), at most 5 minutes; 0 without one. */
export function retryAfterMs(value: string | null | undefined, now?: number): number;

/** The relative time of an ISO timestamp, e.g. "3 minutes ago"; "" if it is not one. */
export function relativeTime(iso: string, now?: number, locale?: string | string[],
  style?: "long" | "short" | "narrow"): string;

/** The badge text of a count: "" for 0, "99+" above 99. */
export function badgeText(n: number): string;
