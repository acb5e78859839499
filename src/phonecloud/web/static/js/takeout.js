// The Takeout import page: every zip part goes up over tus (resumable: a dropped connection or a reload goes
// on from what the server has), one after another with a bar each; then one import of all the parts is
// started and followed to its report.
import { errorMessage, fileRow, mebibytes, send } from "./common.js";
import { tusUpload } from "./tus.js";

const POLL_MS = 700;
function counted(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

async function uploadPart(endpoint, file, row) {
  row.item.dataset.state = "uploading";
  row.state.textContent = "uploading";
  const done = await tusUpload(endpoint, file, (loaded) => { row.bar.value = loaded; }, "takeout");
  row.bar.value = file.size;
  row.item.dataset.state = "done";
  row.state.textContent = `uploaded · ${mebibytes(file.size)}`;
  return done.assetId;
}

function describe(report) {
  const said = [`${report.uploaded} imported`, `${report.duplicates} already in your library`,
    `${report.matched} with their sidecar`, counted(report.albums, "album", "albums")];
  if (report.favorites) said.push(counted(report.favorites, "favourite", "favourites"));
  if (report.described) said.push(`${report.described} with a description, people, a place or the archived flag`);
  if (report.trashed) said.push(`${report.trashed} in the trash`);
  if (report.skipped) said.push(`${report.skipped} skipped`);
  if (report.failed) said.push(`${report.failed} failed`);
  return `${said.join(", ")}.`;
}

function showReport(target, found) {
  target.replaceChildren();
  const line = document.createElement("p");
  line.className = found.state === "done" ? "flash flash-ok" : "flash flash-error";
  line.textContent = found.report ? describe(found.report) : `The import stopped: ${found.error}`;
  target.append(line);
  const failures = found.report ? found.report.failures : [];
  if (failures.length) {
    const list = document.createElement("ul");
    list.className = "takeout-failures";
    for (const failure of failures) {
      const item = document.createElement("li");
      item.textContent = `${failure.path}: ${failure.reason}`;
      list.append(item);
    }
    target.append(list);
  }
  if (found.state === "done") {
    const link = document.createElement("a");
    link.href = "/";
    link.className = "button";
    link.textContent = "See them in your photos";
    target.append(link);
  }
}

async function follow(id, state, bar) {
  for (;;) {
    const response = await send("GET", `/api/v1/takeout/imports/${id}`);
    if (response.status !== 200) throw new Error(errorMessage(response));
    const found = response.json;
    if (found.finished) return found;
    const { files_total: total, files_done: done, bytes_total: bytes, bytes_done: sent } = found.progress;
    state.textContent = found.state === "queued" ? "Waiting to be read…"
      : `Reading the Takeout: ${done} of ${total} new files · ${mebibytes(sent)} of ${mebibytes(bytes)}`;
    bar.max = bytes || 1;
    bar.value = sent;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// A failed import keeps its parts (and their charge): tried again once its cause has passed, or deleted.
function initEarlierImports() {
  for (const button of document.querySelectorAll("[data-takeout-retry], [data-takeout-delete]")) {
    button.addEventListener("click", async () => {
      const retry = button.dataset.takeoutRetry;
      if (!retry && !window.confirm("Delete this import and the parts it keeps?")) return;
      const url = `/api/v1/takeout/imports/${retry || button.dataset.takeoutDelete}`;
      const response = await send(retry ? "POST" : "DELETE", retry ? `${url}/retry` : url);
      if (response.status >= 400) {
        button.closest("li").append(` ${errorMessage(response)}`);
        return;
      }
      window.location.reload();
    });
  }
}

function initTakeout() {
  const form = document.getElementById("takeout");
  if (!form) return;
  const input = document.getElementById("takeout-parts");
  const run = document.getElementById("takeout-run");
  const list = document.getElementById("takeout-parts-list");
  const state = document.getElementById("takeout-state");
  const bar = document.getElementById("takeout-progress");
  const report = document.getElementById("takeout-report");
  input.addEventListener("change", async () => {
    const files = [...input.files];
    input.value = "";
    if (!files.length) return;
    run.hidden = false;
    list.replaceChildren();
    report.replaceChildren();
    bar.value = 0;
    const rows = files.map((file) => fileRow(list, file, "Upload of"));
    try {
      const parts = [];
      for (const [index, file] of files.entries()) {
        state.textContent = `Uploading part ${index + 1} of ${files.length}…`;
        try {
          parts.push(await uploadPart(form.dataset.tusEndpoint, file, rows[index]));
        } catch (error) {
          rows[index].item.dataset.state = "failed";
          rows[index].state.textContent = `failed: ${error.message}`;
          throw error;
        }
      }
      state.textContent = "Starting the import…";
      const started = await send("POST", "/api/v1/takeout/imports", {
        body: JSON.stringify({ parts }), headers: { "Content-Type": "application/json" },
      });
      if (started.status !== 201) throw new Error(errorMessage(started));
      const found = await follow(started.json.id, state, bar);
      state.textContent = found.state === "done" ? "Imported." : "The import stopped.";
      bar.value = bar.max;
      showReport(report, found);
    } catch (error) {
      state.textContent = `Not imported: ${error.message}`;
    }
  });
  form.dataset.ready = "true";  // files chosen from here on are taken
}

initTakeout();
initEarlierImports();
