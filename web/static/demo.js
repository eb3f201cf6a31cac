// demo.js — the demo page: pick a user, see their bell, publish to them.
import "./notification-bell.js";

const params = new URLSearchParams(location.search);
const user = params.get("user") === "bob" ? "bob" : "alice";

for (const el of document.querySelectorAll(".me")) el.textContent = user;
document.getElementById("second-tab").href = "?user=" + user;
document.getElementById("origin").textContent = location.origin;
document.getElementById("as-" + user).setAttribute("aria-current", "page");
document.title = "belfry demo — " + user;

// Without demo mode the demo endpoints do not exist: say so instead of
// showing a bell that cannot sign in.
fetch("/demo/token?user=" + user).then((res) => {
  if (res.status !== 404) return;
  document.querySelector("main").innerHTML = "";
  const p = document.createElement("p");
  p.textContent = "This belfry does not run in demo mode, so this page has nothing to show. " +
    "Start it with `belfry serve --demo` (or with no secret at all) to try the demo.";
  document.querySelector("main").append(p);
  bell.remove();
}).catch(() => {});

const bell = document.createElement("notification-bell");
bell.setAttribute("token-url", "/demo/token?user=" + user);
bell.setAttribute("tabs", "billing:Billing,comments:Comments");
bell.setAttribute("title-count", "");
// Offered in the bell's preferences (the gear): the browser asks for
// permission only when the user turns them on there.
bell.setAttribute("desktop-notifications", "");
document.getElementById("bell-slot").append(bell);

const form = document.getElementById("publish");
const result = document.getElementById("result");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = { message: form.message.value };
  if (form.title.value.trim()) body.title = form.title.value.trim();
  if (form.link.value.trim()) body.link = form.link.value.trim();
  if (form.category.value) body.category = form.category.value;
  result.textContent = "Publishing…";
  try {
    const token = await userToken();
    const res = await fetch("/demo/notifications", { method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify(body) });
    const out = await res.json();
    if (!res.ok) throw new Error(out.error ? out.error.message : res.statusText);
    result.textContent = "Published notification #" + out.id + ".";
  } catch (err) {
    result.textContent = "Failed: " + err.message;
  }
});

// userToken is the bell's token (it fetched one from its token-url), or a new one.
async function userToken() {
  if (bell.client && bell.client.token) return bell.client.token;
  const res = await fetch("/demo/token?user=" + user);
  return (await res.json()).token;
}
