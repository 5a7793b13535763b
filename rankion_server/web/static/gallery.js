// The gallery: infinite scroll, keyboard navigation, selection and bulk actions,
// favourites, and generation with live progress.
import { api, toast, followJob, setBalance, el, addToCount, imageName, drawingState, Submits, sending } from "./api.js";
import { paintPlaceholders } from "./thumbhash.js";

const grid = document.getElementById("grid");
const selected = new Set();
const countEl = document.getElementById("selected-count");
const bulkDelete = document.getElementById("bulk-delete");
const bulkExport = document.getElementById("bulk-export");
const exportStatus = document.getElementById("export-status");

// A tile's name is its .name line: the link, the checkbox and the star are labelled
// by it (as _tile.html does).
export function tile(img) {
  const id = img.id;
  const li = el("li", { class: "tile" + (img.is_favorite ? " fav" : ""), "data-id": id, "data-status": img.processing_status });
  const link = el("a", { class: "thumb", href: `/app/images/${id}`, "aria-labelledby": `name-${id}` + (img.parent_id ? ` variant-${id}` : "") });
  if (img.placeholder && img.thumbnail_url) link.dataset.placeholder = img.placeholder;
  if (img.thumbnail_url) link.append(el("img", { src: img.thumbnail_url, alt: "", width: 256, height: 256, loading: "lazy", decoding: "async" }));
  else link.append(el("span", { class: "pending", text: img.processing_status }));
  const bar = el("div", { class: "tile-bar" },
    el("input", { type: "checkbox", class: "pick", id: `pick-${id}`, "aria-label": "Select", "aria-labelledby": `pick-${id} name-${id}` }),
    el("span", { class: "name", id: `name-${id}`, text: imageName(img) }));
  if (img.parent_id) bar.append(el("span", { id: `variant-${id}`, hidden: "", text: "(variant)" }));
  bar.append(el("button", { type: "button", class: "fav-btn", id: `fav-${id}`, "aria-pressed": String(img.is_favorite), "aria-label": "Favourite", "aria-labelledby": `fav-${id} name-${id}`, text: "★" }));
  li.append(link, bar);
  return li;
}

// Placeholders: each tile's ThumbHash is drawn behind its thumbnail until the
// thumbnail has loaded. The first page's are drawn when the page is first idle (they
// must not delay the first frame nor the thumbnails' paint), for those still loading.
grid.addEventListener("load", (e) => {
  const thumb = e.target.closest?.(".thumb");
  if (thumb) { thumb.style.removeProperty("background-image"); thumb.classList.remove("placeheld"); }
}, true);
requestIdleCallback(() => paintPlaceholders(grid), { timeout: 300 });

function updateSelection() {
  countEl.textContent = `${selected.size} selected`;
  bulkDelete.disabled = bulkExport.disabled = selected.size === 0;
}

function pick(li, on) {
  const id = Number(li.dataset.id);
  const box = li.querySelector(".pick");
  if (on === undefined) on = !selected.has(id);
  if (on) selected.add(id); else selected.delete(id);
  box.checked = on;
  li.classList.toggle("picked", on);
  updateSelection();
}

async function favourite(li) {
  const btn = li.querySelector(".fav-btn");
  try {
    const { data } = await api("POST", `/images/${li.dataset.id}/favorite`);
    btn.setAttribute("aria-pressed", String(data.is_favorite));
    li.classList.toggle("fav", data.is_favorite);
  } catch (e) { toast(e.message, true); }
}

grid.addEventListener("change", (e) => {
  if (e.target.classList.contains("pick")) pick(e.target.closest(".tile"), e.target.checked);
});
grid.addEventListener("click", (e) => {
  const btn = e.target.closest(".fav-btn");
  if (btn) favourite(btn.closest(".tile"));
});

// Keyboard: arrows move focus across the grid, Space selects, F favourites, Enter opens.
function columns() {
  const tiles = grid.querySelectorAll(".tile");
  if (tiles.length < 2) return 1;
  const top = tiles[0].offsetTop;
  let n = 0;
  for (const t of tiles) { if (t.offsetTop !== top) break; n++; }
  return Math.max(1, n);
}
grid.addEventListener("keydown", (e) => {
  const li = e.target.closest(".tile");
  if (!li || e.target.classList.contains("pick") && e.key === " ") return;
  const tiles = [...grid.querySelectorAll(".tile")];
  const i = tiles.indexOf(li);
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns() }[e.key];
  if (step !== undefined) {
    const next = tiles[Math.min(tiles.length - 1, Math.max(0, i + step))];
    next.querySelector(".thumb").focus();
    e.preventDefault();
  } else if (e.key === " " && e.target.classList.contains("thumb")) {
    pick(li); e.preventDefault();
  } else if ((e.key === "f" || e.key === "F") && !e.ctrlKey && !e.metaKey) {
    favourite(li); e.preventDefault();
  }
});

// Infinite scroll (the "More images" link stays for keyboard users and without script).
// The next page asks /v1/images for the query of that link: the server wrote it from
// exactly the filters its page applied (a link's decoration, such as utm_source, is
// not one of them).
// The list shifts under the grid when this page generates or trashes an image, so the
// script asks for the window that holds the list's next `offset`-th image instead of the
// next page number: every image the list holds before `offset` is on the grid. A local
// trash moves `offset` back; a new image needs nothing (wherever the list puts it, it is
// on the grid already, and a window that brings it again is de-duplicated by id). An
// answer read while the list changed under it is asked again from the new `offset`.
const more = document.getElementById("more");
const perPage = Number(grid.dataset.perPage);
let offset = Number(grid.dataset.offset);
let changes = 0;
let loading = false;
let watcher = null;
const onGrid = (id) => grid.querySelector(`.tile[data-id="${id}"]`);
function listShrank(removed) { offset = Math.max(0, offset - removed); changes++; }
function nextWindow(params) {
  const page = Math.floor(offset / perPage) + 1;
  params.set("page", String(page));
  params.set("per_page", String(perPage));
  return page;
}
async function loadMore() {
  if (loading || !more?.isConnected) return;
  loading = true;
  const params = new URL(more.href).searchParams;
  for (;;) {
    const page = nextWindow(params);
    const asked = changes;
    try {
      const { data, meta } = await api("GET", `/images?${params}`);
      if (changes !== asked) continue;  // a trash while asking: ask again
      const fresh = data.filter((img) => !onGrid(img.id)).map(tile);
      grid.append(...fresh);
      if (fresh.length) paintPlaceholders(grid);
      offset = (page - 1) * perPage + data.length;
      nextWindow(params);
      more.search = `?${params}`;
      if (page >= meta.last_page) more.remove();
      else if (watcher) { watcher.unobserve(more); watcher.observe(more); }  // still near: on
    } catch (e) { toast(e.message, true); }
    break;
  }
  loading = false;
}
if (more) {
  more.addEventListener("click", (e) => { e.preventDefault(); loadMore(); });
  // watched once the first page has loaded, so the next page never competes with it
  const watch = () => {
    watcher = new IntersectionObserver((entries) => { if (entries.some((x) => x.isIntersecting)) loadMore(); }, { rootMargin: "600px" });
    watcher.observe(more);
  };
  if (document.readyState === "complete") watch(); else addEventListener("load", watch, { once: true });
}

// Filters: empty boxes are dropped, so the query string keeps only what is asked.
document.getElementById("filters").addEventListener("submit", (e) => {
  for (const input of e.target.querySelectorAll("input, select")) if (!input.value.trim()) input.disabled = true;
});

// Bulk actions.
bulkDelete.addEventListener("click", async () => {
  if (bulkDelete.disabled) return;
  const ids = [...selected];
  try {
    const { data } = await sending(bulkDelete, () => api("POST", "/images/bulk/delete", { ids }), () => selected.size > 0);
    for (const id of data.deleted) onGrid(id)?.remove();
    listShrank(data.deleted.length);
    selected.clear(); updateSelection();
    const left = addToCount("image-count", -data.deleted.length);
    const empty = document.getElementById("empty");
    if (empty && left === 0) empty.hidden = false;
    const undo = el("button", { type: "button", text: "Undo" });
    exportStatus.replaceChildren(`Moved ${data.deleted.length} to the trash. `, undo);
    undo.addEventListener("click", async () => {
      try {
        const back = await api("POST", "/images/bulk/restore", { ids: data.deleted });
        exportStatus.textContent = `Restored ${back.data.restored.length}.`;
        location.reload();
      } catch (e) { toast(e.message, true); }
    });
    undo.focus();
  } catch (e) { toast(e.message, true); }
});

// A ready export: the download link, and which images it skipped (not ready, or gone
// since they were selected). Without any image in it there is nothing to download.
function exportReady(state, asked) {
  const skipped = state.skipped_ids ?? [];
  const names = skipped.map((id) => `“${onGrid(id)?.querySelector(".name").textContent ?? `image ${id}`}”`).join(", ");
  const why = skipped.length === 1 ? "is not ready (or no longer in the gallery)" : "are not ready (or no longer in the gallery)";
  if (skipped.length === asked) {
    exportStatus.replaceChildren(el("span", { class: "error", id: "export-skipped", text: `Nothing exported: ${names} ${why}.` }));
    return;
  }
  const link = el("a", { href: state.download_url, download: "", id: "export-download", text: `Download ZIP (${Math.ceil(state.size_bytes / 1024)} KB)` });
  exportStatus.replaceChildren(link);
  if (skipped.length) {
    const left = `${asked - skipped.length} of ${asked} images exported; skipped ${names}: ${skipped.length === 1 ? "it" : "they"} ${why}.`;
    exportStatus.append(" ", el("span", { class: "error", id: "export-skipped", text: left }));
  }
  link.focus();
}

const exports = new Submits();
bulkExport.addEventListener("click", async () => {
  if (bulkExport.disabled) return;
  const ids = [...selected];
  const bar = el("progress", { max: ids.length, value: 0, "aria-label": "Export progress" });
  exportStatus.replaceChildren("Exporting… ", bar);
  try {
    const { data } = await sending(bulkExport, () => exports.post("/images/bulk/export", { ids }), () => selected.size > 0);
    for (;;) {
      const { data: state } = await api("GET", `/images/exports/${data.job_id}`);
      bar.max = state.progress.total || ids.length;
      bar.value = state.progress.done;
      if (state.status === "ready") {
        exportReady(state, ids.length);
        return;
      }
      if (state.status === "failed") throw new Error(state.error || "the export failed");
      await new Promise((r) => setTimeout(r, 400));
    }
  } catch (e) { exportStatus.textContent = ""; toast(e.message, true); }
});

// Whether a new image belongs at the top of the grid: the first page's first image of
// the grid's own query, as /v1/images answers it (its filters and order, not a copy of
// them). Not on a later page, under a filter it fails, nor in another order.
async function leadsTheGrid(id) {
  if ("laterPage" in grid.dataset) return false;
  const params = new URL(grid.dataset.first, location.href).searchParams;
  params.set("page", "1");
  params.set("per_page", "1");
  try { return (await api("GET", `/images?${params}`)).data[0]?.id === id; } catch { return false; }
}

// Generation: the new tile shows the job's states, then becomes the image; an image
// the grid would not show is named in a note instead (with its link).
const generations = new Submits();
const note = document.getElementById("g-note");
document.getElementById("generate").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  const button = form.querySelector("button[type=submit]");
  if (button.disabled) return;  // the one before is still being sent
  const errorEl = document.getElementById("g-error");
  errorEl.textContent = "";
  note.hidden = true;
  const body = { prompt: form.prompt.value };
  if (form.title.value.trim()) body.title = form.title.value.trim();
  const tags = form.tags.value.split(",").map((t) => t.trim()).filter(Boolean);
  if (tags.length) body.tags = tags;
  try {
    const { data } = await sending(button, () => generations.post("/generate/image", body));
    setBalance(data.credits_remaining);
    form.reset();
    if (!(await leadsTheGrid(data.image_id))) {
      note.replaceChildren("Generated — not shown under the current filters. ",
        el("a", { href: `/app/images/${data.image_id}`, text: `Open “${imageName({ id: data.image_id, ...body })}”` }));
      note.hidden = false;
      return;
    }
    const li = tile({ id: data.image_id, title: body.title, prompt: body.prompt, processing_status: "queued", is_favorite: false });
    const status = li.querySelector(".pending");
    status.setAttribute("role", "status");
    onGrid(data.image_id)?.remove();  // a page that came meanwhile may have brought it
    grid.prepend(li);
    addToCount("image-count", 1);
    const empty = document.getElementById("empty");
    if (empty) empty.hidden = true;
    const last = await followJob(data.job_id, (ev) => {
      status.textContent = drawingState(ev);
      li.dataset.status = ev.status;
    });
    const { data: img } = await api("GET", `/images/${data.image_id}`);
    const fresh = tile(img);
    li.replaceWith(fresh);
    paintPlaceholders(fresh);
    if (last && last.status === "failed") toast(img.error || last.error || "the generation failed", true);
  } catch (err) { errorEl.textContent = err.message; }
});
