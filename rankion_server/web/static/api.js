// The app's one door to the JSON API: same-origin fetch with the session cookie, the
// CSRF header on writes, and the API's own error messages.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

// What the app says instead of the API's message where that one speaks to a program
// (by error code; the details are the API's).
const FOR_PEOPLE = {
  insufficient_credits: (d) => `Not enough credits: this needs ${d.needed} and your team has ${d.balance}. ` +
    "Ask the person who runs Rankion for your team to add credits.",
  idempotency_key_in_flight: () => "The same request is still being answered: wait a moment and try again.",
};

// What a detail adds to the message, by its name (the rest are shown as `name: text`).
const DETAIL_TEXT = {
  retry_after: (seconds) => `try again in ${seconds} s`,
};

// The words and figures of a text, lower-cased ("a published event's scheduled_at" →
// a, published, event, s, scheduled_at).
const wordsOf = (text) => new Set(text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []);

// Whether a detail only says again what the message says: its text is in the message,
// or the message names its field (`tags` also as "tag") and the detail brings no figure
// the message lacks. "expires_at must lie in the future" says all that
// `expires_at: must be in the future` does; "days must be a non-zero number of days"
// does not say what `days: a non-zero integer from -3650 to 3650` does.
function repeats(message, field, text) {
  if (message.includes(text)) return true;
  const words = wordsOf(message);
  const name = field.toLowerCase();
  const named = words.has(name) || (name.endsWith("s") && words.has(name.slice(0, -1)));
  return named && [...wordsOf(text)].filter((w) => /^\d+$/.test(w)).every((n) => words.has(n));
}

// The API's error as one sentence: its message, and the details that add to it.
export class ApiError extends Error {
  constructor(status, error) {
    const own = FOR_PEOPLE[error?.code];
    const message = own ? own(error.details ?? {}) : error?.message ?? `the server answered ${status}`;
    const details = own ? "" : Object.entries(error?.details ?? {})
      .map(([k, v]) => [k, DETAIL_TEXT[k] ? DETAIL_TEXT[k](v) : String(v)])
      .filter(([k, v]) => !repeats(message, k, v))
      .map(([k, v]) => (DETAIL_TEXT[k] ? v : `${k}: ${v}`)).join("; ");
    super(message + (details ? ` (${details})` : ""));
    this.status = status;
    this.code = error?.code;
  }
}

export async function api(method, path, body, { idempotencyKey } = {}) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") init.headers["X-CSRF-Token"] = csrf;
  if (idempotencyKey) init.headers["Idempotency-Key"] = idempotencyKey;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch("/v1" + path, init);
  if (res.status === 204) return null;
  const json = await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 401) location.assign(`/app/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(res.status, json?.error);
  }
  return json;
}

// A random key (crypto.randomUUID exists only on https and localhost; a server reached
// over plain http elsewhere gets a version 4 UUID made of getRandomValues).
function freshKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// Whether the same request may be sent again under the same key: its answer was lost
// (the connection failed), or the API kept no answer for the key and may answer
// otherwise later (a 5xx, 429, 402, or the first request still being answered).
// After any other answer the API has answered that submit for good: a 2xx is done, and
// a 404 or 409 would only be replayed under the key.
function retriable(err) {
  if (!(err instanceof ApiError)) return true;
  return err.status >= 500 || err.status === 429 || err.status === 402 ||
    err.code === "idempotency_key_in_flight";
}

// The POSTs of one form that charge credits or start a job. Each submit is sent with
// an Idempotency-Key: a fresh one for each submit meant, the same one when the same
// request is sent again after an answer that settled nothing, so the API does it once.
export class Submits {
  #key = null;
  #request = null;

  async post(path, body) {
    const request = JSON.stringify([path, body]);
    if (this.#key === null || request !== this.#request) {
      this.#key = freshKey();
      this.#request = request;
    }
    try {
      const answer = await api("POST", path, body, { idempotencyKey: this.#key });
      this.#key = null;
      return answer;
    } catch (err) {
      if (!retriable(err)) this.#key = null;
      throw err;
    }
  }
}

// Send a request for a control (a submit button, a checkbox): the control is disabled
// until the answer comes, whatever it is, so a double click sends one request; a
// handler refuses to start while its control is disabled. `usable` says whether the
// control is enabled again then (some depend on what else the page holds).
export async function sending(control, send, usable = () => true) {
  control.disabled = true;
  try {
    return await send();
  } finally {
    control.disabled = !usable();
  }
}

let toastTimer;
export function toast(text, isError = false) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.classList.toggle("error", isError);
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), isError ? 8000 : 4000);
}

// The toast taken away before its time (what it said is no longer so).
export function dismissToast() {
  clearTimeout(toastTimer);
  document.getElementById("toast").classList.remove("show");
}

// Follow a job over its event stream; onState(event) for each state; resolves with the last.
// A job that ends has settled its charge (a failed one is refunded): the header's
// balance is read again then.
export function followJob(jobId, onState) {
  return new Promise((resolve) => {
    const source = new EventSource(`/v1/jobs/${jobId}/events`);
    let last = null;
    source.addEventListener("job", (e) => {
      last = JSON.parse(e.data);
      onState(last);
      if (ended(last)) {
        source.close();
        refreshBalance().finally(() => resolve(last));
      }
    });
    source.addEventListener("timeout", () => { source.close(); resolve(last); });
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) resolve(last); };
  });
}

// How a followed job's state is shown on a picture still being drawn.
export function drawingState(ev) { return ev.status === "running" ? "drawing…" : ev.status; }

// A job that has ended (followJob resolves with its last state, which is not always one).
export function ended(ev) { return ev?.status === "succeeded" || ev?.status === "failed"; }

export function setBalance(value) {
  const el = document.getElementById("balance");
  if (el && value !== undefined && value !== null) el.textContent = value;
}

// The header's balance as the API has it now (unchanged if it cannot be read).
export async function refreshBalance() {
  if (!document.getElementById("balance")) return;
  try { setBalance((await api("GET", "/credits")).data.balance); } catch { /* kept */ }
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

// "1 image", "2 images": a count and its noun (one that takes an "s"), as the
// server's `counted` filter writes it.
export function counted(n, noun) { return `${n} ${n === 1 ? noun : noun + "s"}`; }

// Add delta to a count the page rendered (the number in data-count, what is counted
// in data-noun); the new count.
export function addToCount(id, delta) {
  const counter = document.getElementById(id);
  if (!counter) return null;
  const value = Math.max(0, Number(counter.dataset.count) + delta);
  counter.dataset.count = String(value);
  counter.textContent = counted(value, counter.dataset.noun);
  return value;
}

// What an image is called wherever the app names it: its title, else the start of its
// prompt (image_name in pages.py names the rows the server renders the same way).
export function imageName(img) { return img.title || (img.prompt || "").slice(0, 60) || `image ${img.id}`; }
