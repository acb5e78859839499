// The Contacts pages: a .vcf file imported as soon as it is picked (uploaded with progress, then the answer:
// imported, updated, already here, or the line that could not be read), the address book choice applied at
// once, photos that cannot be shown replaced by initials, more fields on the edit form, local times, and the
// download menus closed when done with. Every page works without this script.
import { send } from "../js/common.js";

document.documentElement.classList.add("js");

// The search form: a choice of address book applies at once, and empty fields stay out of the address.
function autosubmit(root = document) {
  for (const select of root.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
  const search = root.id === "contact-search" ? root : root.querySelector("#contact-search");
  search?.addEventListener("submit", () => {
    for (const field of search.elements) if (field.name && !field.value.trim()) field.disabled = true;
  });
}

// Back to a page the browser kept: its search fields usable again.
window.addEventListener("pageshow", () => {
  for (const field of document.querySelectorAll("#contact-search [disabled]")) field.disabled = false;
});

// A photo the server will not serve (no raster image in the card) becomes the initials the list would show.
function asInitials(image) {
  const initials = document.createElement("span");
  initials.className = `${image.className} avatar-${image.dataset.colour || 0}`;
  initials.setAttribute("aria-hidden", "true");
  initials.textContent = image.dataset.initials || "?";
  image.replaceWith(initials);
}

function photoFallbacks() {
  for (const image of document.querySelectorAll("img.avatar")) {
    if (image.complete && image.naturalWidth === 0) asInitials(image);
    else image.addEventListener("error", () => asInitials(image), { once: true });
  }
}

function resultRow(list, name) {
  const item = document.createElement("li");
  const title = document.createElement("span");
  title.className = "import-name";
  title.textContent = name;
  const state = document.createElement("span");
  state.className = "import-state";
  state.textContent = "uploading…";
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = 0;
  const result = document.createElement("span");
  result.className = "import-result";
  item.append(title, state, bar, result);
  list.append(item);
  return { item, state, bar, result };
}

async function importOne(form, file, shown) {
  if (file.size > Number(form.dataset.max)) {
    throw new Error(`${file.name} is larger than ${Math.round(Number(form.dataset.max) / 2 ** 20)} MiB; split it`);
  }
  const body = new FormData();
  body.append("csrf", form.elements.csrf.value);
  if (form.elements.book) body.append("book", form.elements.book.value);
  body.append("file", file, file.name);
  const response = await send("POST", form.action, {
    body, headers: { Accept: "application/json" },
    onProgress: (loaded) => {
      shown.bar.value = file.size ? Math.min(loaded / file.size, 1) : 1;
      if (loaded >= file.size) shown.state.textContent = "reading the file…";
    },
  });
  shown.bar.value = 1;
  const message = (response.json && (response.json.result || response.json.message))
    || `the server answered ${response.status}`;
  if (response.status !== 201) throw new Error(message);
  shown.state.textContent = "done";
  shown.result.textContent = message;
  shown.item.classList.add("done");
  shown.bar.remove();
  return response.json;
}

function initImport() {
  const form = document.querySelector(".vcf-import");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const list = document.querySelector(".import-results");
  input.multiple = true;
  const run = async () => {
    const files = [...input.files];
    input.value = "";
    let changed = 0;
    for (const file of files) {
      const shown = resultRow(list, file.name);
      shown.state.textContent = "importing…";
      try {
        const done = await importOne(form, file, shown);
        changed += done.imported + done.updated;
      } catch (error) {
        shown.item.classList.add("failed");
        shown.state.textContent = "not imported";
        shown.result.textContent = error.message;
        shown.bar.remove();
      }
    }
    if (changed) await refreshList();
  };
  input.addEventListener("change", () => { if (input.files.length) run(); });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.files.length) run();
    else input.click();
  });
}

// The list below the import and the address books' counts, as the server renders them now.
async function refreshList() {
  try {
    const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(`${response.status}`);
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const id of ["contact-results", "contact-search"]) {
      const shown = document.getElementById(id);
      const replacement = fresh.getElementById(id);
      if (!shown || !replacement) continue;
      const typed = id === "contact-search" ? shown.elements.q.value : null;
      shown.replaceWith(document.adoptNode(replacement));
      if (typed !== null) replacement.elements.q.value = typed;
      autosubmit(replacement);
    }
  } catch {
    window.location.reload();
  }
}

// The sync page's settings: each value is shown whole (to type it on a phone) with a button that copies it.
function copyButtons() {
  for (const button of document.querySelectorAll("button[data-copy-text]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copyText);
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      try {
        if (navigator.clipboard && window.isSecureContext) await navigator.clipboard.writeText(source.textContent.trim());
        else if (!document.execCommand("copy")) throw new Error("not copied");
        button.textContent = "Copied";
      } catch {
        button.textContent = "Selected: copy it";
      }
    });
  }
}

// The edit form has one empty field for a new number (or email); this adds more, one at a time.
function moreFields() {
  for (const button of document.querySelectorAll("button[data-add]")) {
    button.hidden = false;
    button.addEventListener("click", () => {
      const fields = button.parentElement.querySelectorAll("input");
      const last = fields[fields.length - 1];
      const added = last.cloneNode();
      added.value = "";
      added.setAttribute("aria-label", `${last.getAttribute("aria-label").replace(/ \d+$/, "")} ${fields.length + 1}`);
      button.before(added);
      added.focus();
    });
  }
}

function localTimes() {
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  for (const element of document.querySelectorAll("time[datetime*='T']")) {
    const when = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) continue;
    element.textContent = format.format(when);
    element.title = when.toISOString();
  }
}

function menus() {
  const open = () => document.querySelectorAll("details.menu[open]");
  document.addEventListener("click", (event) => {
    for (const menu of open()) if (!menu.contains(event.target) || event.target.closest(".menu-items a")) menu.open = false;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const menu of open()) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
}

autosubmit();
copyButtons();
photoFallbacks();
initImport();
moreFields();
localTimes();
menus();
