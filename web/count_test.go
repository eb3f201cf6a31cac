package web_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/belfry/belfry"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// holdFetchJS runs before the page's scripts: it holds every request to
// /notifications… until the test releases the ones whose URL contains a
// given part, so the test decides the order in which answers arrive.
const holdFetchJS = `(() => {
  window.__held = [];
  const realFetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!url.includes("/notifications")) return realFetch(input, init);
    return new Promise((resolve, reject) =>
      window.__held.push({ url, go: () => realFetch(input, init).then(resolve, reject) }));
  };
  window.__release = (part) => {
    const keep = [];
    for (const h of window.__held) { if (h.url.includes(part)) h.go(); else keep.push(h); }
    window.__held = keep;
    return true;
  };
})()`

// A notification stored after the stream's sync can reach the client in a
// list answer before its live event. The sync does not count it, and the
// live event finds it already held: the badge must count it all the same,
// and the client must still announce it (the bell's desktop notification).
func TestBellCountsANotificationListedBeforeItsLiveEvent(t *testing.T) {
	n := startNode(t, nil)
	ctx := newBrowserContext(t, 90*time.Second)
	createSilently(t, n.store, "dave", "Before the page")
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument,
		cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: holdFetchJS}); err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, n.url("/assets/test/bell.html?token="+n.token("dave")))
	// The sync (unread 1, last_id 1) arrived; the start's list request and
	// the one the sync asked for are both held.
	waitJS(t, ctx, "the sync", bellJS(`b.dataset.status === "live" && b.client.unread === 1 &&
  window.__held.filter((h) => h.url.includes("/notifications?limit=")).length === 2`))

	eval[bool](t, ctx, bellJS(`(window.__announced = [],
  b.client.addEventListener("notification", (e) => window.__announced.push(e.detail.id)), true)`))

	// Stored after the sync: its live event comes only after the list.
	createSilently(t, n.store, "dave", "After the sync")
	eval[bool](t, ctx, `window.__release("/notifications?limit=")`)
	waitJS(t, ctx, "the listed notification", bellJS(`b.client.items.some((n) => n.id === 2)`))

	got, err := n.store.After(context.Background(), "dave", 1, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("After: %v %v", got, err)
	}
	n.hub.Receive(belfry.Message{Kind: belfry.KindNew, UserID: "dave", New: got[0]})
	waitJS(t, ctx, "the live event", bellJS(`b.client._cursor === 2`))
	// The start's unread-count answer comes after a stream event: it is
	// (rightly) ignored as older than the stream.
	eval[bool](t, ctx, `window.__release("/notifications/counts")`)
	waitJS(t, ctx, "the start's refresh to end", bellJS(`!b.client.loading`))
	if u := eval[int](t, ctx, bellJS(`b.client.unread`)); u != 2 {
		t.Fatalf("unread %d, want 2 (two unread notifications)", u)
	}
	// It is news all the same: announced once, when its live event came.
	if got := eval[[]int](t, ctx, `window.__announced`); !slices.Equal(got, []int{2}) {
		t.Fatalf("announced ids %v, want [2]", got)
	}
}

// Refresh drops a held notification that was deleted while the deletion's
// event could not reach this tab, also when it was the newest one.
func TestBellRefreshDropsANotificationDeletedUnseen(t *testing.T) {
	n := startNode(t, nil)
	ctx := newBrowserContext(t, 90*time.Second)
	openBellPage(t, ctx, n, "erin")
	for _, m := range []string{"one", "two", "three"} {
		n.publish("erin", m)
	}
	waitJS(t, ctx, "three notifications", bellJS(`b.client.items.length === 3`))

	// Deleted in the store only: no event, as if the tab had been offline.
	if err := n.store.Delete(context.Background(), "erin", 3); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, bellJS(`(r.querySelector(".belfry-refresh").click(), true)`))
	waitJS(t, ctx, "the refresh to end", bellJS(`!b.client.loading && b.dataset.unread === "2"`))
	if got := eval[[]int](t, ctx, bellJS(`b.client.items.map((n) => n.id)`)); !slices.Equal(got, []int{2, 1}) {
		t.Fatalf("after Refresh the bell holds ids %v, want [2 1]", got)
	}
}

// A stream that got only a sync (no event with an id) and breaks must
// resume from the sync's last_id: the browser's own retry would start a
// fresh stream and replay nothing published meanwhile.
func TestBellResumesFromTheSyncAfterABreak(t *testing.T) {
	t.Run("last_id=1", func(t *testing.T) { testResumeFromSync(t, 1) })
	// An empty inbox: the sync's last_id 0 is a resume point too.
	t.Run("last_id=0", func(t *testing.T) { testResumeFromSync(t, 0) })
}

func testResumeFromSync(t *testing.T, before int) {
	n := startNode(t, nil)
	ctx := newBrowserContext(t, 90*time.Second)
	for range before {
		createSilently(t, n.store, "frank", "Before the page")
	}
	openBellPage(t, ctx, n, "frank")
	waitJS(t, ctx, "the first notifications", bellJS(fmt.Sprintf(`b.client.items.length === %d`, before)))

	n.stop()
	waitJS(t, ctx, "the bell to notice the outage", bellJS(`b.dataset.status !== "live"`))
	// More than one page (the test page's limit is 5) while it is down.
	downtime := startStoreOnly(t, n.dbPath)
	for i := range 8 {
		createSilently(t, downtime, "frank", fmt.Sprintf("During the downtime %d", i))
	}
	downtime.Close()
	n.start()

	all := before + 8
	waitJS(t, ctx, "every notification, replayed", bellJS(fmt.Sprintf(`b.client.items.length === %d`, all)))
	waitJS(t, ctx, "the bell to be live again", bellJS(fmt.Sprintf(`b.dataset.status === "live" && b.dataset.unread === "%d"`, all)))
}
