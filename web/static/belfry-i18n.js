// belfry-i18n.js — the bell's strings, in English (en) and Indonesian (id).
//
// The bell speaks the language of its lang attribute, else of the nearest
// ancestor's (usually <html lang>), else English. A region falls back to
// its language ("id-ID" → "id"), a missing language or string to English.
// Add a language with addStrings("de", {...}): the keys are those of en;
// {name} in a string is replaced by a value.
//
// Pure: no DOM (web/test/ui.test.mjs checks every language has every key).

export const STRINGS = {
  en: {
    notifications: "Notifications",
    bellNoUnread: "Notifications, no unread",
    bellUnread: "Notifications, {n} unread",
    bellNew: "{n} new",
    markAllRead: "Mark all as read",
    refresh: "Refresh",
    preferences: "Preferences",
    preferencesTitle: "Notification preferences",
    preferencesIntro: "Choose what shows up in your inbox.",
    preferencesOther: "Everything else",
    preferencesError: "Your preferences could not be loaded.",
    back: "Back",
    tabs: "Notification lists",
    all: "All",
    unread: "Unread",
    archived: "Archived",
    emptyAll: "You're all caught up",
    emptyAllHint: "New notifications will show up here.",
    emptyUnread: "No unread notifications",
    emptyUnreadHint: "Everything has been read.",
    emptyArchived: "Nothing archived",
    emptyArchivedHint: "Archived notifications are kept here.",
    emptyCategory: "Nothing in {category}",
    emptyCategoryHint: "New {category} notifications will show up here.",
    loading: "Loading…",
    connecting: "Connecting…",
    reconnecting: "Reconnecting…",
    offline: "Offline",
    tooManyStreams: "Too many open tabs — retrying",
    busy: "Server busy — retrying",
    markRead: "Mark as read",
    markUnread: "Mark as unread",
    archive: "Archive",
    unarchive: "Unarchive",
    delete: "Delete",
    moreActions: "More actions",
    unreadHint: "(unread)",
    actionTaken: "Done: {label}",
    newNotification: "New notification: {text}",
    viewAll: "View all",
    desktop: "Desktop notifications",
    desktopHint: "Get notified on this device, even when this page is closed.",
    desktopOn: "On in this browser.",
    desktopBlocked: "Blocked in the browser's settings.",
    desktopUnsupported: "This browser cannot show desktop notifications here.",
    desktopPageHint: "Get notified on this device while the app is open in a tab.",
    desktopPageOn: "On in this browser, while the app is open in a tab.",
    desktopLimit: "On in too many browsers already. Turn them off in one first.",
    desktopFailed: "Could not turn them on. Try again later.",
    desktopDismissed: "Allow notifications when the browser asks.",
    desktopTurningOn: "Turning on…",
    desktopTurningOff: "Turning off…",
    pushTitle: "New notification",
  },
  id: {
    notifications: "Notifikasi",
    bellNoUnread: "Notifikasi, tidak ada yang belum dibaca",
    bellUnread: "Notifikasi, {n} belum dibaca",
    bellNew: "{n} baru",
    markAllRead: "Tandai semua dibaca",
    refresh: "Muat ulang",
    preferences: "Preferensi",
    preferencesTitle: "Preferensi notifikasi",
    preferencesIntro: "Pilih apa saja yang muncul di kotak masuk Anda.",
    preferencesOther: "Lainnya",
    preferencesError: "Preferensi Anda tidak dapat dimuat.",
    back: "Kembali",
    tabs: "Daftar notifikasi",
    all: "Semua",
    unread: "Belum dibaca",
    archived: "Diarsipkan",
    emptyAll: "Semua sudah terbaca",
    emptyAllHint: "Notifikasi baru akan muncul di sini.",
    emptyUnread: "Tidak ada notifikasi yang belum dibaca",
    emptyUnreadHint: "Semuanya sudah dibaca.",
    emptyArchived: "Belum ada yang diarsipkan",
    emptyArchivedHint: "Notifikasi yang diarsipkan disimpan di sini.",
    emptyCategory: "Tidak ada notifikasi {category}",
    emptyCategoryHint: "Notifikasi {category} yang baru akan muncul di sini.",
    loading: "Memuat…",
    connecting: "Menghubungkan…",
    reconnecting: "Menghubungkan ulang…",
    offline: "Luring",
    tooManyStreams: "Terlalu banyak tab terbuka — mencoba lagi",
    busy: "Server sibuk — mencoba lagi",
    markRead: "Tandai sudah dibaca",
    markUnread: "Tandai belum dibaca",
    archive: "Arsipkan",
    unarchive: "Keluarkan dari arsip",
    delete: "Hapus",
    moreActions: "Tindakan lain",
    unreadHint: "(belum dibaca)",
    actionTaken: "Selesai: {label}",
    newNotification: "Notifikasi baru: {text}",
    viewAll: "Lihat semua",
    desktop: "Notifikasi desktop",
    desktopHint: "Dapatkan notifikasi di perangkat ini, bahkan saat halaman ini ditutup.",
    desktopOn: "Aktif di peramban ini.",
    desktopBlocked: "Diblokir di pengaturan peramban.",
    desktopUnsupported: "Peramban ini tidak dapat menampilkan notifikasi desktop di sini.",
    desktopPageHint: "Dapatkan notifikasi di perangkat ini selama aplikasi terbuka di sebuah tab.",
    desktopPageOn: "Aktif di peramban ini, selama aplikasi terbuka di sebuah tab.",
    desktopLimit: "Sudah aktif di terlalu banyak peramban. Matikan dulu di salah satunya.",
    desktopFailed: "Tidak dapat diaktifkan. Coba lagi nanti.",
    desktopDismissed: "Izinkan notifikasi saat peramban memintanya.",
    desktopTurningOn: "Mengaktifkan…",
    desktopTurningOff: "Menonaktifkan…",
    pushTitle: "Notifikasi baru",
  },
};

/** Adds (or extends) a language: strings has some of the keys of STRINGS.en. */
export function addStrings(lang, strings) {
  const key = String(lang).toLowerCase();
  STRINGS[key] = Object.assign(STRINGS[key] || {}, strings);
}

/**
 * The language to speak for a lang attribute (the element's, else the
 * nearest ancestor's): "id-ID" → "id"; one without strings → "en".
 */
export function resolveLang(lang) {
  const l = String(lang || "").trim().toLowerCase().replace(/_/g, "-");
  if (l && STRINGS[l]) return l;
  const base = l.split("-")[0];
  if (base && STRINGS[base]) return base;
  return "en";
}

/** A translator for lang: t(key, {name: value}) → the string, English when missing. */
export function translator(lang) {
  const table = STRINGS[resolveLang(lang)] || STRINGS.en;
  return (key, vars) => {
    let s = table[key];
    if (s == null) s = STRINGS.en[key];
    if (s == null) return key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] == null ? m : String(vars[k])));
    return s;
  };
}
