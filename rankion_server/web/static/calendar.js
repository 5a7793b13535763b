// The calendar: create and edit in a dialog, drag to reschedule, month and week views,
// the ICS link. Times are the project's wall-clock times; the API gets UTC instants.
import { api, toast, sending } from "./api.js";

const root = document.getElementById("calendar");
const project = root.dataset.project;
const zone = root.dataset.zone;
const table = document.getElementById("month");
const dialog = document.getElementById("event-dialog");
const form = document.getElementById("event-form");
const $ = (id) => document.getElementById(id);
let editing = null;

// The UTC instant of a wall-clock time in the project's zone (DST-safe: two passes).
function offsetAt(ms) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(ms));
  const get = (t) => Number(parts.find((p) => p.type === t).value);
  return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second")) - ms;
}
export function zonedToUtc(day, time) {
  const [y, m, d] = day.split("-").map(Number);
  const [hh, mm, ss = 0] = time.split(":").map(Number);
  const wall = Date.UTC(y, m - 1, d, hh, mm, ss);
  let guess = wall - offsetAt(wall);
  guess = wall - offsetAt(guess);
  return new Date(guess).toISOString().replace(".000Z", "Z");
}

// What the API says of a change it made but that is probably not meant (its answer's
// warnings, such as an event scheduled in the past): said on the page until the next
// change, across the reload that shows the change.
const NOTICE = `rankion.calendar.${project}.notice`;
function say(warnings) {
  const text = (warnings ?? []).map((w) => w.message).join(" ");
  $("cal-notice").textContent = text;
  $("cal-notice").hidden = !text;
}
function reloadSaying(warnings) {
  if (warnings?.length) sessionStorage.setItem(NOTICE, JSON.stringify(warnings));
  else sessionStorage.removeItem(NOTICE);
  location.reload();
}
try { say(JSON.parse(sessionStorage.getItem(NOTICE))); } catch { /* none */ }
sessionStorage.removeItem(NOTICE);

// Dialog: create or edit. A new event's status follows its date until it is chosen:
// an idea without a date (the backlog), planned on a day.
let statusChosen = false;
function openDialog(event, day) {
  editing = event;
  statusChosen = Boolean(event);
  $("ev-error").textContent = "";
  $("dialog-title").textContent = event ? "Edit event" : "New event";
  $("ev-title").value = event?.title ?? "";
  $("ev-type").value = event?.type ?? "article";
  $("ev-status").value = event?.status ?? (day ? "planned" : "idea");
  $("ev-date").value = event?.scheduled_local?.slice(0, 10) ?? day ?? "";
  $("ev-time").value = event?.scheduled_local?.slice(11, 16) ?? "09:00";
  $("ev-article").value = event?.article_id ?? "";
  $("ev-notes").value = event?.notes ?? "";
  $("ev-delete").hidden = !event;
  dialog.showModal();
  $("ev-title").focus();
}

$("ev-status").addEventListener("change", () => { statusChosen = true; });
$("ev-date").addEventListener("input", () => {
  if (!statusChosen) $("ev-status").value = $("ev-date").value ? "planned" : "idea";
});
// An error is about the request that made it: any change, or a submit the browser
// itself refuses (a required box left empty), takes it away.
form.addEventListener("input", () => { $("ev-error").textContent = ""; });
form.addEventListener("invalid", () => { $("ev-error").textContent = ""; }, true);

async function openEvent(id) {
  try { openDialog((await api("GET", `/calendar/${id}`)).data); } catch (e) { toast(e.message, true); }
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = form.querySelector("button[type=submit]");
  if (button.disabled) return;  // the one before is still being sent
  $("ev-error").textContent = "";
  const body = { title: $("ev-title").value.trim(), type: $("ev-type").value, status: $("ev-status").value,
    notes: $("ev-notes").value || null,
    article_id: $("ev-article").value.trim() ? Number($("ev-article").value) : null,
    scheduled_at: $("ev-date").value ? zonedToUtc($("ev-date").value, $("ev-time").value || "09:00") : null };
  try {
    const { warnings } = await sending(button, () => (editing ? api("PUT", `/calendar/${editing.id}`, body)
      : api("POST", `/projects/${project}/calendar`, body)));
    dialog.close();
    reloadSaying(warnings);
  } catch (err) { $("ev-error").textContent = err.message; }
});
$("ev-cancel").addEventListener("click", () => dialog.close());
$("ev-delete").addEventListener("click", async () => {
  if (!editing || !confirm(`Delete “${editing.title}”?`)) return;
  try { await api("DELETE", `/calendar/${editing.id}`); dialog.close(); reloadSaying(); }
  catch (err) { $("ev-error").textContent = err.message; }
});
$("new-event").addEventListener("click", () => openDialog(null));
root.addEventListener("click", (e) => {
  const ev = e.target.closest(".event");
  if (ev) return openEvent(ev.dataset.id);
  const add = e.target.closest(".day-add");
  if (add) openDialog(null, add.closest("td").dataset.date);
});

// An event's time of day, as _event.html writes it: before the title, and at the end
// of its accessible name (an idea from the backlog had none).
function showTime(button, local) {
  const time = local.slice(11, 16);
  button.querySelector(".ev-time").textContent = `${time} `;
  button.setAttribute("aria-label", `${button.getAttribute("aria-label").replace(/ at \d\d:\d\d$/, "")} at ${time}`);
}

// Drag an event to another day: same wall-clock time, through PUT /v1/calendar/{id}.
let dragged = null;
root.addEventListener("dragstart", (e) => {
  dragged = e.target.closest(".event");
  if (!dragged) return;
  e.dataTransfer.setData("text/plain", dragged.dataset.id);
  e.dataTransfer.effectAllowed = "move";
});
table.addEventListener("dragover", (e) => {
  const cell = e.target.closest("td[data-date]");
  if (!cell || !dragged) return;
  e.preventDefault();
  for (const c of table.querySelectorAll("td.drop")) if (c !== cell) c.classList.remove("drop");
  cell.classList.add("drop");
});
table.addEventListener("dragleave", (e) => e.target.closest?.("td")?.classList.remove("drop"));
table.addEventListener("drop", async (e) => {
  const cell = e.target.closest("td[data-date]");
  if (!cell || !dragged) return;
  e.preventDefault();
  cell.classList.remove("drop");
  const moving = dragged;
  dragged = null;
  const time = moving.dataset.local ? moving.dataset.local.slice(11, 19) : "09:00:00";
  const scheduled_at = zonedToUtc(cell.dataset.date, time);
  try {
    const { data, warnings } = await api("PUT", `/calendar/${moving.dataset.id}`, { scheduled_at });
    moving.dataset.local = data.scheduled_local;
    showTime(moving, data.scheduled_local);
    cell.querySelector(".events").append(moving.closest("li"));
    $("backlog-empty").hidden = $("backlog").children.length > 0;
    toast(`Moved to ${data.scheduled_local.slice(0, 10)}.`);
    say(warnings);
  } catch (err) {
    toast(err.message, true);  // a published event: the API says why it stays
  }
});

// Month and week views. The view is in the page's URL (view=week&week=N, as the
// server draws it), so a reload after a change, a filter and the month links keep it.
const rows = [...table.tBodies[0].rows];
let week = Math.max(0, rows.findIndex((r) => r.classList.contains("current-week")));
function keepView() {
  const weekly = table.classList.contains("week-view");
  const url = new URL(location.href);
  for (const [name, value] of [["view", "week"], ["week", String(week + 1)]]) {
    if (weekly) url.searchParams.set(name, value); else url.searchParams.delete(name);
  }
  history.replaceState(history.state, "", url);
  $("keep-view").disabled = $("keep-week").disabled = !weekly;
  $("keep-week").value = String(week + 1);
  for (const link of root.querySelectorAll(".cal-head a[href]")) {
    const to = new URL(link.href);
    if (weekly) to.searchParams.set("view", "week"); else to.searchParams.delete("view");
    link.href = to;
  }
}
function showWeek() {
  rows.forEach((r, i) => r.classList.toggle("current-week", i === week));
  $("week-prev").disabled = week === 0;
  $("week-next").disabled = week === rows.length - 1;
  keepView();
}
function setView(weekly) {
  table.classList.toggle("week-view", weekly);
  $("view-week").setAttribute("aria-pressed", String(weekly));
  $("view-month").setAttribute("aria-pressed", String(!weekly));
  $("week-nav").hidden = !weekly;
  showWeek();
}
$("view-month").addEventListener("click", () => setView(false));
$("view-week").addEventListener("click", () => setView(true));
$("week-prev").addEventListener("click", () => { week = Math.max(0, week - 1); showWeek(); });
$("week-next").addEventListener("click", () => { week = Math.min(rows.length - 1, week + 1); showWeek(); });

// The ICS subscription link.
// One click, one link: a second request would retire the link the first one made.
$("ics").addEventListener("click", async () => {
  if ($("ics").disabled) return;
  try {
    const { data } = await sending($("ics"), () => api("POST", `/projects/${project}/calendar/feed-token`));
    $("ics-url").value = data.url;
    $("ics-url").hidden = $("ics-label").hidden = false;
    $("ics-url").select();
  } catch (err) { toast(err.message, true); }
});
