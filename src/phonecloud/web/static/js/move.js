// The "Move my library to…" page: the form shows the fields of the chosen target and starts the move through
// the API; moves still going are followed (the page reloads as their state changes), and paused, resumed or
// forgotten with their buttons.
import { errorMessage, send } from "./common.js";

const POLL_MS = 1000;

function showFields(form) {
  const target = form.elements.target.value;
  for (const element of form.querySelectorAll("[data-for]")) {
    const shown = element.dataset.for.split(" ").includes(target);
    element.hidden = !shown;
    if (element.tagName === "INPUT" || element.tagName === "SELECT") element.disabled = !shown;
  }
}

async function start(form, error) {
  const body = {};
  for (const element of form.elements) {
    if (element.name && !element.disabled && element.value !== "") body[element.name] = element.value;
  }
  const answer = await send("POST", "/api/v1/moves", {
    body: JSON.stringify(body), headers: { "Content-Type": "application/json" },
  });
  if (answer.status !== 201) {
    error.textContent = errorMessage(answer);
    error.hidden = false;
    return;
  }
  window.location.reload();
}

async function act(item, action) {
  const id = item.dataset.move;
  const answer = action === "delete"
    ? await send("DELETE", `/api/v1/moves/${id}`)
    : await send("POST", `/api/v1/moves/${id}/${action}`);
  if (answer.status >= 400) window.alert(errorMessage(answer));
  window.location.reload();
}

async function follow(item) {
  for (;;) {
    await new Promise((done) => setTimeout(done, POLL_MS));
    const answer = await send("GET", `/api/v1/moves/${item.dataset.move}`);
    if (answer.status !== 200) return;
    const move = answer.json;
    const bar = item.querySelector("progress");
    bar.max = move.bytes_total || 1;
    bar.value = move.bytes_done;
    item.querySelector(".move-counts").textContent =
      `${move.files_done} of ${move.files_total} items sent in this run`;
    if (move.state !== item.dataset.state) {
      window.location.reload();
      return;
    }
  }
}

function main() {
  const form = document.getElementById("move-form");
  const error = document.getElementById("move-error");
  form.elements.target.addEventListener("change", () => showFields(form));
  showFields(form);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.hidden = true;
    start(form, error);
  });
  for (const item of document.querySelectorAll("[data-move]")) {
    for (const button of item.querySelectorAll("[data-move-action]")) {
      button.addEventListener("click", () => act(item, button.dataset.moveAction));
    }
    if (item.dataset.state === "queued" || item.dataset.state === "running") follow(item);
  }
  form.dataset.ready = "";
}

main();
