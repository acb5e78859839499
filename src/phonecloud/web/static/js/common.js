// Shared by the pages' scripts: the CSRF token, XHR with progress, confirmations, copy buttons, and
// thumbnails that are still being made (the server answers 409 until then).

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

// One HTTP request with upload progress (fetch cannot report it). Resolves with the status, a header
// getter and the parsed JSON body (or null); rejects only when the network failed.
export function send(method, url, { body = null, headers = {}, onProgress = null } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      let json = null;
      try { json = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { json = null; }
      resolve({ status: xhr.status, header: (name) => xhr.getResponseHeader(name), json });
    };
    xhr.onerror = () => reject(new Error("network error"));
    xhr.onabort = () => reject(new Error("aborted"));
    xhr.send(body);
  });
}

// Sizes as the rest of the app writes them: KiB below a mebibyte, then MiB.
export function mebibytes(count) {
  const MiB = 1 << 20;
  if (count < MiB) return `${Math.ceil(count / 1024)} KiB`;
  return `${(count / MiB).toFixed(count < 10 * MiB ? 1 : 0)} MiB`;
}

// One file's line in an upload list: its name, its state and a bar; the caller updates them.
export function fileRow(list, file, label) {
  const item = document.createElement("li");
  item.className = "upload-item";
  item.dataset.state = "waiting";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = file.name;
  const state = document.createElement("span");
  state.className = "state";
  state.textContent = `waiting · ${mebibytes(file.size)}`;
  const bar = document.createElement("progress");
  bar.max = file.size || 1;
  bar.value = 0;
  bar.setAttribute("aria-label", `${label} ${file.name}`);
  item.append(name, state, bar);
  list.append(item);
  return { item, state, bar };
}

export function errorMessage(response) {
  return (response.json && response.json.message) || `the server answered ${response.status}`;
}

function confirmations() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
}

function copyButtons() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      source.select();
      try {
        await navigator.clipboard.writeText(source.value);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Press Ctrl+C to copy";
      }
    });
  }
}

// A preview or thumbnail still being made: try again with growing pauses, for about two minutes.
export function retryPending(root = document) {
  for (const image of root.querySelectorAll("img[data-pending]")) {
    image.removeAttribute("data-pending");
    let attempt = 0;
    const base = image.getAttribute("src");
    image.addEventListener("error", () => {
      if (attempt >= 12) return;
      image.classList.add("waiting");
      attempt += 1;
      setTimeout(() => { image.src = `${base}?attempt=${attempt}`; }, Math.min(1000 * 2 ** (attempt - 1), 15000));
    });
    image.addEventListener("load", () => image.classList.remove("waiting"));
  }
}

export function initCommon() {
  confirmations();
  copyButtons();
  retryPending();
}
