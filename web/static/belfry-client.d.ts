// Types of belfry-client.js, the headless browser client of belfry.
// See docs/web-component.md ("The headless client") and docs/API.md.

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
  /** Newest first; the client's own objects: do not change them. */
  items: readonly BelfryNotification[];
  unread: number;
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

  readonly items: readonly BelfryNotification[];
  readonly unread: number;
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
  /** Reloads the newest page and the unread count; rejects with the request's error. */
  refresh(): Promise<void>;
  /** Loads the page older than the oldest item held (errors go to the "error" event). */
  loadOlder(): Promise<void>;
  /** POST /notifications/{id}/read, applied at once (errors go to the "error" event). */
  markRead(id: number): Promise<void>;
  /** POST /notifications/{id}/unread. */
  markUnread(id: number): Promise<void>;
  /** POST /notifications/read-all. */
  markAllRead(): Promise<void>;
  /** DELETE /notifications/{id}. */
  remove(id: number): Promise<void>;

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

/** The short relative time of an ISO timestamp, e.g. "3 minutes ago"; "" if it is not one. */
export function relativeTime(iso: string, now?: number, locale?: string | string[]): string;

/** The badge text of an unread count: "" for 0, "99+" above 99. */
export function badgeText(n: number): string;
