// The upload page: files dropped or picked go up three at a time, small ones in one request to the
// plain upload endpoint and large ones over tus, with progress for each file and for all of them.
import { errorMessage, fileRow, mebibytes, send } from "./common.js";
import { tusUpload } from "./tus.js";

const PARALLEL = 3;

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
    overallText.textContent = `${totals.finished} of ${totals.files} files · ${mebibytes(sent)} of ${mebibytes(totals.bytes)}`
      + (totals.duplicates ? ` · ${totals.duplicates} already in your library` : "")
      + (totals.failed ? ` · ${totals.failed} failed` : "");
    doneLink.hidden = totals.finished < totals.files || totals.failed === totals.files;
    overall.classList.toggle("has-failures", totals.failed > 0);
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
      // A failure is shown as one: its bar turns red (whatever of the file was sent) and says why.
      row.item.dataset.state = "failed";
      row.state.textContent = `failed: ${error.message}`;
      row.bar.value = row.bar.max;
      row.bar.setAttribute("aria-label", `Failed: ${file.name}`);
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
      queue.push({ file, row: fileRow(list, file, "Progress of") });
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
