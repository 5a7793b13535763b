// The trash: restore one or many, delete forever (asked twice), days left shown.
import { api, toast, addToCount } from "./api.js";

const list = document.getElementById("trash");
const selected = new Set();
const restoreBtn = document.getElementById("bulk-restore");
const count = document.getElementById("selected-count");
const status = document.getElementById("trash-status");

function gone(id, text) {
  list.querySelector(`.tile[data-id="${id}"]`)?.remove();
  selected.delete(id);
  if (addToCount("trash-count", -1) === 0) document.getElementById("trash-empty").hidden = false;
  refresh();
  status.textContent = text;
}
function refresh() {
  count.textContent = `${selected.size} selected`;
  restoreBtn.disabled = selected.size === 0;
}

list.addEventListener("change", (e) => {
  if (!e.target.classList.contains("pick")) return;
  const id = Number(e.target.closest(".tile").dataset.id);
  if (e.target.checked) selected.add(id); else selected.delete(id);
  refresh();
});
list.addEventListener("click", async (e) => {
  const li = e.target.closest(".tile");
  if (!li) return;
  const id = Number(li.dataset.id);
  try {
    if (e.target.classList.contains("restore")) {
      await api("POST", `/images/${id}/restore`);
      gone(id, `Image ${id} restored.`);
    } else if (e.target.classList.contains("forever")) {
      if (!confirm("Delete this image forever? This cannot be undone.")) return;
      await api("DELETE", `/images/${id}/forever`);
      gone(id, `Image ${id} deleted forever.`);
    }
  } catch (err) { toast(err.message, true); }
});
restoreBtn.addEventListener("click", async () => {
  try {
    const { data } = await api("POST", "/images/bulk/restore", { ids: [...selected] });
    for (const id of data.restored) gone(id, "");
    status.textContent = `Restored ${data.restored.length}.`;
  } catch (err) { toast(err.message, true); }
});
