// The image page: details, favourite, an edit with a mask painted on a canvas, share,
// open in chat, trash and restore. Every change goes through /v1.
import { api, toast, dismissToast, followJob, setBalance, imageName, drawingState, ended, Submits, sending, el } from "./api.js";

const page = document.getElementById("image-page");
const id = page.dataset.id;
const $ = (sel) => document.getElementById(sel);

// An image still being drawn: its job is followed live, as the gallery's tile follows
// it; when the job ends the page is read again (the picture, its mask, Edit and Share).
if (page.dataset.job) {
  followJob(page.dataset.job, (ev) => {
    $("pending").textContent = $("status").textContent = drawingState(ev);
  }).then((last) => { if (ended(last)) location.reload(); });
}

// Details. A new title shows wherever the page names the image: the heading, the
// window's title (the heading plus the app's suffix) and this image's node of the tree.
const titleTail = document.title.slice($("image-title").textContent.length);
$("meta-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("meta-error").textContent = "";
  const tags = $("m-tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  try {
    const { data } = await api("PATCH", `/images/${id}`, { title: $("m-title").value.trim() || null, tags });
    $("image-title").textContent = imageName(data);
    document.title = $("image-title").textContent + titleTail;
    const node = document.querySelector('#tree [aria-current="page"] .node-name');
    if (node) node.textContent = imageName(data);
    $("m-tags").value = data.tags.join(", ");
    toast("Details saved.");
  } catch (err) { $("meta-error").textContent = err.message; }
});

$("fav").addEventListener("click", async () => {
  try {
    const { data } = await api("POST", `/images/${id}/favorite`);
    $("fav").setAttribute("aria-pressed", String(data.is_favorite));
    $("fav").textContent = data.is_favorite ? "★ Favourite" : "☆ Not a favourite";
  } catch (err) { toast(err.message, true); }
});

// The mask: an opaque layer the size of the image; painting makes it transparent there.
const picture = $("picture");
let canvas = null;
let painted = false;
function setupMask() {
  if (!picture || canvas) return;
  canvas = document.createElement("canvas");
  canvas.width = picture.naturalWidth;
  canvas.height = picture.naturalHeight;
  canvas.setAttribute("aria-label", "Mask: paint over the part of the image to change");
  canvas.setAttribute("role", "img");
  $("stage").append(canvas);
  const ctx = canvas.getContext("2d");
  let down = false;
  const brush = () => Math.max(8, canvas.width / 14);
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
  };
  const paint = (e) => {
    const [x, y] = at(e);
    ctx.fillStyle = "rgba(240,140,0,0.45)";
    ctx.beginPath();
    ctx.arc(x, y, brush(), 0, Math.PI * 2);
    ctx.fill();
    if (!painted) { painted = true; $("mask-state").textContent = "Mask painted."; }
  };
  canvas.addEventListener("pointerdown", (e) => { down = true; canvas.setPointerCapture(e.pointerId); paint(e); });
  canvas.addEventListener("pointermove", (e) => { if (down) paint(e); });
  canvas.addEventListener("pointerup", () => { down = false; });
  $("mask-clear").addEventListener("click", () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    painted = false;
    $("mask-state").textContent = "No mask painted.";
  });
}
if (picture) {
  if (picture.complete && picture.naturalWidth) setupMask();
  else picture.addEventListener("load", setupMask);
}

function maskPng() {
  // What was painted becomes transparent; the rest stays opaque (kept as it is).
  const out = document.createElement("canvas");
  out.width = canvas.width;
  out.height = canvas.height;
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.globalCompositeOperation = "destination-out";
  ctx.drawImage(canvas, 0, 0);
  return out.toDataURL("image/png").split(",")[1];
}

const edits = new Submits();
$("edit-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = e.target.querySelector("button[type=submit]");
  if (button.disabled) return;  // not ready, in the trash, or the one before is being sent
  $("edit-error").textContent = "";
  const body = { prompt: $("e-prompt").value };
  if (painted) body.mask = maskPng();
  try {
    const { data } = await sending(button, () => edits.post(`/images/${id}/edit`, body));
    setBalance(data.credits_remaining);
    $("edit-progress").textContent = "Queued…";
    const last = await followJob(data.job_id, (ev) => {
      $("edit-progress").textContent = ev.status === "running" ? "Drawing the variant…" : `Job ${ev.status}.`;
    });
    if (last && last.status === "failed") { $("edit-error").textContent = last.error || "the edit failed"; return; }
    location.assign(`/app/images/${data.image_id}`);
  } catch (err) { $("edit-error").textContent = err.message; }
});

// Share (not offered for an image in the trash).
// The expiry box shows the share's expiry as the API has it (the server rendered it
// so), after a refused change too.
if ($("share-on")) {
  let savedExpiry = $("share-expiry").value;
  function showShare(share) {
    $("share-detail").hidden = !share;
    $("share-url").value = share ? share.public_url : "";
    savedExpiry = share && share.expires_at ? share.expires_at.slice(0, 16) : "";
    $("share-expiry").value = savedExpiry;
  }
  $("share-on").addEventListener("change", async (e) => {
    $("share-error").textContent = "";
    const on = e.target.checked;
    try {
      await sending(e.target, async () => {
        if (on) showShare((await api("POST", `/images/${id}/share`)).data);
        else { await api("DELETE", `/images/${id}/share`); showShare(null); }
      });
    } catch (err) { e.target.checked = !on; $("share-error").textContent = err.message; }
  });
  $("share-copy").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText($("share-url").value); toast("Link copied."); }
    catch { $("share-url").select(); toast("Select and copy the link."); }
  });
  $("share-save").addEventListener("click", async () => {
    $("share-error").textContent = "";
    const raw = $("share-expiry").value;
    try {
      const { data } = await api("PATCH", `/images/${id}/share`, { expires_at: raw ? `${raw}:00Z` : null });
      showShare(data);
      toast("Expiry saved.");
    } catch (err) {
      dismissToast();  // an earlier "Expiry saved." is not what the page says now
      $("share-expiry").value = savedExpiry;
      $("share-error").textContent = err.message;
    }
  });
}

// Chat and trash (not offered in the trash), restore.
$("chat")?.addEventListener("click", async () => {
  try {
    const { data } = await api("POST", `/images/${id}/open-in-chat`);
    // the answer holds no chat page's URL (Rankion has none): the session is a record
    // a chat app reads through the API, at the Location the answer names
    const record = `/v1/chat/sessions/${data.session_id}`;
    $("action-status").replaceChildren(`Chat session ${data.session_id} opened for this image; a chat app reads it at `,
      el("a", { href: record, id: "chat-session", text: record }), ".");
  } catch (err) { toast(err.message, true); }
});
$("trash")?.addEventListener("click", async () => {
  try { await api("DELETE", `/images/${id}`); location.reload(); } catch (err) { toast(err.message, true); }
});
$("restore")?.addEventListener("click", async () => {
  try { await api("POST", `/images/${id}/restore`); location.reload(); } catch (err) { toast(err.message, true); }
});
