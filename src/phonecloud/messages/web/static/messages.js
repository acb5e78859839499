// The Messages pages: backups imported from the browser (uploaded with progress, then followed until the
// server has read them, and a failed one tried again), times shown in the reader's own time zone, and a photo
// whose thumbnail cannot be made offered as a download instead.
import { errorMessage, send } from "../js/common.js";
import { tusUpload } from "../js/tus.js";

const POLL_MS = 500;

function localTimes() {
  const day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
  const dayAndTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const time = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
  for (const element of document.querySelectorAll("time[datetime*='T']")) {
    const when = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) continue;
    const format = element.closest(".bubble") ? time : element.closest(".conversations") ? day : dayAndTime;
    element.textContent = format.format(when);
    element.title = when.toISOString();
  }
}

// The server answers 404 for a thumbnail of bytes it cannot read (damaged, or no image at all): the link to
// the original becomes the download link other attachments have.
function asDownload(link) {
  link.className = "attachment";
  link.download = link.dataset.name;
  link.textContent = link.dataset.label;
}

function thumbnailFallbacks() {
  for (const image of document.querySelectorAll(".bubble a.photo img")) {
    const link = image.closest("a");
    if (image.complete && image.naturalWidth === 0) asDownload(link); // failed before this script ran
    else image.addEventListener("error", () => asDownload(link), { once: true });
  }
}

function row(list, name) {
  const item = document.createElement("li");
  const title = document.createElement("span");
  title.textContent = name;
  const state = document.createElement("span");
  state.className = "import-state";
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = 0;
  const result = document.createElement("span");
  result.className = "import-result";
  item.append(title, state, bar, result);
  list.append(item);
  return { item, state, bar, result };
}

function summary(done) {
  const parts = [`${done.imported} imported`, `${done.duplicates} already here`];
  if (done.skipped) parts.push(`${done.skipped} skipped`);
  if (done.attachments) parts.push(`${done.attachments} attachments`);
  return parts.join(", ");
}

async function follow(url, shown) {
  for (;;) {
    const response = await send("GET", url);
    if (response.status !== 200) throw new Error(errorMessage(response));
    const current = response.json;
    if (current.state === "done" || current.state === "failed") return current;
    shown.state.textContent = current.state === "running" ? "reading…" : "waiting to be read…";
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// The import's id: a large backup goes over tus (resumable: a dropped connection or a reload goes on from
// what the server has), a small one in one request.
async function upload(form, file, progress) {
  if (file.size >= Number(form.dataset.tusThreshold)) {
    return (await tusUpload(form.dataset.tusEndpoint, file, progress, "messages")).assetId;
  }
  const query = new URLSearchParams({ filename: file.name, modified_at: new Date(file.lastModified).toISOString() });
  const response = await send("POST", `${form.dataset.endpoint}?${query}`, {
    body: file, headers: { "Content-Type": "application/octet-stream" }, onProgress: progress,
  });
  if (response.status !== 201) throw new Error(errorMessage(response));
  return response.json.id;
}

function showResult(done, shown) {
  shown.state.textContent = done.state === "done" ? "imported" : "stopped";
  shown.result.textContent = done.error ? `${summary(done)}. ${done.error}` : `${summary(done)}.`;
  shown.item.classList.toggle("failed", done.state === "failed");
}

// A failed import keeps its file on the server: once its cause has passed (room made in a full quota), it is
// read again from where it stopped, and nothing is added twice.
function offerRetry(url, done, shown) {
  if (done.state !== "failed" || !done.file_kept) return;
  const again = document.createElement("button");
  again.type = "button";
  again.className = "retry";
  again.textContent = "Try again";
  again.addEventListener("click", async () => {
    again.remove();
    try {
      const response = await send("POST", `${url}/retry`);
      if (response.status !== 200) throw new Error(errorMessage(response));
      const retried = await follow(url, shown);
      showResult(retried, shown);
      offerRetry(url, retried, shown);
    } catch (error) {
      shown.result.textContent = error.message;
      offerRetry(url, done, shown);
    }
  });
  shown.item.append(again);
}

async function importOne(form, file, shown) {
  shown.state.textContent = "uploading…";
  const id = await upload(form, file, (loaded) => { shown.bar.value = file.size ? loaded / file.size : 1; });
  shown.bar.value = 1;
  const url = `${form.dataset.endpoint}/${id}`;
  const done = await follow(url, shown);
  showResult(done, shown);
  offerRetry(url, done, shown);
  return done;
}

function initImport() {
  const form = document.querySelector(".import-form");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const list = document.querySelector(".imports");
  input.addEventListener("change", async () => {
    const files = [...input.files];
    input.value = "";
    let added = 0;
    for (const file of files) {
      const shown = row(list, file.name);
      try {
        added += (await importOne(form, file, shown)).imported;
      } catch (error) {
        shown.item.classList.add("failed");
        shown.state.textContent = "failed";
        shown.result.textContent = error.message;
      }
    }
    if (added) {
      const reload = document.createElement("a");
      reload.href = "/messages";
      reload.className = "button";
      reload.textContent = "Show the new conversations";
      list.append(reload);
    }
  });
}

localTimes();
thumbnailFallbacks();
initImport();
