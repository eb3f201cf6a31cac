// demo.js — the demo page: pick a user, see their bell, publish to them.
import "./notification-bell.js";

const params = new URLSearchParams(location.search);
const user = params.get("user") === "bob" ? "bob" : "alice";

document.getElementById("me").textContent = user;
document.getElementById("second-tab").href = "?user=" + user;
document.getElementById("origin").textContent = location.origin;
document.getElementById("as-" + user).setAttribute("aria-current", "page");
document.getElementById("to").value = user;
document.title = "belfry demo — " + user;

const bell = document.createElement("notification-bell");
bell.setAttribute("token-url", "/demo/token?user=" + user);
bell.setAttribute("title-count", "");
bell.setAttribute("desktop-notifications", "");
document.getElementById("bell-slot").append(bell);

const form = document.getElementById("publish");
const result = document.getElementById("result");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const to = form.to.value;
  const body = { message: form.message.value };
  if (to === "both") body.user_ids = ["alice", "bob"]; else body.user_id = to;
  if (form.title.value.trim()) body.title = form.title.value.trim();
  if (form.link.value.trim()) body.link = form.link.value.trim();
  result.textContent = "Publishing…";
  try {
    const res = await fetch("/demo/publish", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const out = await res.json();
    if (!res.ok) throw new Error(out.error ? out.error.message : res.statusText);
    const n = Array.isArray(out) ? out.length : 1;
    result.textContent = "Published " + n + " notification" + (n === 1 ? "" : "s") + ".";
  } catch (err) {
    result.textContent = "Failed: " + err.message;
  }
  // The first click on the page is a good moment to ask for desktop notifications.
  if (typeof Notification !== "undefined" && Notification.permission === "default") bell.requestDesktopPermission();
});
