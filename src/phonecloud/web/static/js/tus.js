// A small tus 1.0 client (core protocol with the creation extension) for large files: the file goes in
// chunks, each acknowledged durably by the server, and an interrupted upload resumes from the server's
// offset, in this page or after a reload (the upload's URL is kept in localStorage under the file's
// name, size and modification time).
import { errorMessage, send } from "./common.js";

const TUS = { "Tus-Resumable": "1.0.0" };
const CHUNK = 8 << 20;
const RETRIES = 8;  // about three and a half minutes of pauses before giving up

function base64(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fingerprint(file, destination) {
  return `phonecloud.tus:${destination || ""}:${file.name}:${file.size}:${file.lastModified}`;
}

function finished(response) {
  const asset = response.header("Phonecloud-Asset-Id");
  return asset ? { assetId: asset, duplicate: response.header("Phonecloud-Duplicate") === "true" } : null;
}

async function create(endpoint, file, destination) {
  const metadata = [
    `filename ${base64(file.name)}`,
    `modified_at ${base64(new Date(file.lastModified).toISOString())}`,
    ...(destination ? [`destination ${base64(destination)}`] : []),
  ].join(",");
  const response = await send("POST", endpoint, {
    headers: { ...TUS, "Upload-Length": String(file.size), "Upload-Metadata": metadata },
  });
  if (response.status !== 201) throw new Error(errorMessage(response));
  return response.header("Location");
}

// Where a known upload stands: its offset, or that it is finished, or null when the server forgot it
// (404, 410). A network failure rejects, so that the caller tries again rather than starting over.
async function resumeFrom(location) {
  const response = await send("HEAD", location, { headers: TUS });
  if (response.status === 404 || response.status === 410) return null;
  if (response.status !== 200) throw new Error(errorMessage(response));
  return { offset: Number(response.header("Upload-Offset")), done: finished(response) };
}

// Waits longer after each failure (2 s, 4 s ... at most 30 s), but no longer than until the browser is
// back online.
function pause(failures) {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      window.removeEventListener("online", wake);
      resolve();
    };
    const timer = setTimeout(wake, Math.min(1000 * 2 ** failures, 30_000));
    window.addEventListener("online", wake);
  });
}

function forgotten(key) {
  localStorage.removeItem(key);
  return Object.assign(new Error("the server no longer has this upload; start it again"), { final: true });
}

// destination: where the finished upload goes on the server (the gallery when none is named; "messages" for
// a messages backup); the result's assetId is then the id of what it made there.
export async function tusUpload(endpoint, file, onProgress, destination = null) {
  const key = fingerprint(file, destination);
  let location = localStorage.getItem(key);
  let state = location ? await resumeFrom(location) : null;
  if (!state) {
    location = await create(endpoint, file, destination);
    localStorage.setItem(key, location);
    state = { offset: 0, done: null };
  }
  let { offset, done } = state;
  let failures = 0;
  while (!done) {
    try {
      if (offset === null) {  // after a failure the server's offset is the truth: whatever it kept counts
        const known = await resumeFrom(location);
        if (!known) throw forgotten(key);
        ({ offset, done } = known);
        onProgress(offset);
        continue;
      }
      const response = await send("PATCH", location, {
        body: file.slice(offset, offset + CHUNK),
        headers: { ...TUS, "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" },
        onProgress: (loaded) => onProgress(offset + loaded),
      });
      if (response.status === 204) {
        offset = Number(response.header("Upload-Offset"));
        done = finished(response);
        failures = 0;
        onProgress(offset);
        continue;
      }
      if (response.status >= 400 && response.status < 500 && response.status !== 409 && response.status !== 423) {
        localStorage.removeItem(key);
        throw Object.assign(new Error(errorMessage(response)), { final: true });
      }
      throw new Error(errorMessage(response));
    } catch (error) {
      if (error.final || ++failures > RETRIES) throw error;
      await pause(failures);
      offset = null;
    }
  }
  localStorage.removeItem(key);
  return done;
}
