// The upload page: files dropped or picked go up three at a time, small ones in one request to the
// plain upload endpoint and large ones over tus, with progress for each file and for all of them.
import { errorMessage, send } from "./common.js";
import { tusUpload } from "./tus.js";

const PARALLEL = 3;

function formatBytes(count) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = count;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

async function plainUpload(file, onProgress) {
  const query = new URLSearchParams({
    filename: file.name, modified_at: new Date(file.lastModified).toISOString(), size: String(file.size),
  });
  const response = await send("POST", `/api/v1/assets?${query}`, {
    body: file, headers: { "Content-Type": "application/octet-stream" }, onProgress,
  });
  if (response.status !== 200 && response.status !== 201) throw new Error(errorMessage(response));
  return { assetId: response.json.id, duplicate: response.json.duplicate };
}

function entry(list, file) {
  const item = document.createElement("li");
  item.className = "upload-item";
  item.dataset.state = "waiting";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = file.name;
  const state = document.createElement("span");
  state.className = "state";
  state.textContent = `waiting · ${formatBytes(file.size)}`;
  const bar = document.createElement("progress");
  bar.max = file.size || 1;
  bar.value = 0;
  bar.setAttribute("aria-label", `Progress of ${file.name}`);
  item.append(name, state, bar);
  list.append(item);
  return { item, state, bar };
}

export function initUpload() {
  const form = document.getElementById("upload");
  if (!form) return;
  const input = document.getElementById("files");
  const zone = document.getElementById("dropzone");
  const panel = document.getElementById("upload-progress");
  const list = document.getElementById("upload-list");
  const overall = document.getElementById("overall");
  const overallText = document.getElementById("overall-text");
  const doneLink = document.getElementById("upload-done");
  const threshold = Number(form.dataset.tusThreshold);
  const tusEndpoint = form.dataset.tusEndpoint;
  const queue = [];
  const totals = { bytes: 0, sent: new Map(), files: 0, finished: 0, duplicates: 0, failed: 0 };
  let running = 0;

  const refresh = () => {
    const sent = Array.from(totals.sent.values()).reduce((sum, value) => sum + value, 0);
    overall.max = totals.bytes || 1;
    overall.value = sent;
    overallText.textContent = `${totals.finished} of ${totals.files} files · ${formatBytes(sent)} of ${formatBytes(totals.bytes)}`
      + (totals.duplicates ? ` · ${totals.duplicates} already in your library` : "")
      + (totals.failed ? ` · ${totals.failed} failed` : "");
    doneLink.hidden = totals.finished < totals.files;
  };

  const run = async ({ file, row }) => {
    row.item.dataset.state = "uploading";
    row.state.textContent = "uploading";
    const progress = (loaded) => {
      row.bar.value = loaded;
      totals.sent.set(row, loaded);
      refresh();
    };
    const resumable = Boolean(tusEndpoint) && file.size >= threshold;
    row.item.dataset.method = resumable ? "tus" : "plain";
    try {
      const result = resumable ? await tusUpload(tusEndpoint, file, progress) : await plainUpload(file, progress);
      progress(file.size);
      row.item.dataset.state = result.duplicate ? "duplicate" : "done";
      row.item.dataset.asset = result.assetId;
      row.state.textContent = result.duplicate ? "already in your library (duplicate)" : "uploaded";
      if (result.duplicate) totals.duplicates += 1;
    } catch (error) {
      row.item.dataset.state = "failed";
      row.state.textContent = `failed: ${error.message}`;
      totals.failed += 1;
    }
    totals.finished += 1;
    refresh();
  };

  const pump = () => {
    while (running < PARALLEL && queue.length) {
      running += 1;
      run(queue.shift()).finally(() => { running -= 1; pump(); });
    }
  };

  const add = (files) => {
    panel.hidden = false;
    for (const file of files) {
      queue.push({ file, row: entry(list, file) });
      totals.bytes += file.size;
      totals.files += 1;
    }
    refresh();
    pump();
  };

  input.addEventListener("change", () => {
    add(Array.from(input.files));
    input.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.add("dragover"); });
  }
  for (const name of ["dragleave", "drop"]) {
    zone.addEventListener(name, () => zone.classList.remove("dragover"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    add(Array.from(event.dataTransfer.files).filter((file) => file.size > 0 || file.type));
  });
  form.addEventListener("submit", (event) => event.preventDefault());
}
