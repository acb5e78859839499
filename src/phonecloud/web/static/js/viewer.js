// The viewer: arrow keys and swipes move to the newer or older item, a pinch zooms the photo (zoom.js),
// Escape leaves the zoom or else goes back, I toggles the info panel, F toggles favourite, Delete moves
// to the trash.
import { zoomable } from "./zoom.js";

function go(href) {
  if (href) window.location.assign(href);
}

function infoPanel() {
  const toggle = document.getElementById("info-toggle");
  const panel = document.getElementById("info");
  const show = (visible) => {
    panel.hidden = !visible;
    toggle.setAttribute("aria-expanded", String(visible));
    try { localStorage.setItem("phonecloud.info", visible ? "shown" : "hidden"); } catch { /* private mode */ }
  };
  let stored = null;
  try { stored = localStorage.getItem("phonecloud.info"); } catch { stored = null; }
  show(stored !== "hidden");
  toggle.addEventListener("click", () => show(panel.hidden));
  return () => show(panel.hidden);
}

function swipes(stage, viewer, zoomed) {
  let start = null;
  stage.addEventListener("pointerdown", (event) => {
    const first = !start;
    start = null;
    // A second finger makes a pinch, and a finger on a zoomed photo pans it: neither is a swipe.
    if (event.pointerType !== "mouse" && first && !zoomed()) start = { x: event.clientX, y: event.clientY };
  });
  stage.addEventListener("pointerup", (event) => {
    if (!start) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    start = null;
    if (Math.abs(dx) > 60 && Math.abs(dx) > 2 * Math.abs(dy)) go(dx < 0 ? viewer.dataset.older : viewer.dataset.newer);
  });
  stage.addEventListener("pointercancel", () => { start = null; });
}

// On a phone the bar's less used actions start folded away behind "⋯" (shown open without this script).
function foldActions() {
  const more = document.querySelector(".viewer-more");
  if (more && window.matchMedia("(max-width: 719px)").matches) more.open = false;
}

export function initViewer() {
  const viewer = document.getElementById("viewer");
  if (!viewer) return;
  foldActions();
  const toggleInfo = infoPanel();
  const stage = document.getElementById("stage");
  const image = stage.querySelector("img");
  const zoom = image ? zoomable(stage, image) : null; // a video has its own controls, and no zoom
  swipes(stage, viewer, () => Boolean(zoom?.zoomed()));
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.target.closest("input, textarea, select, video")) return;
    const submit = (id) => {
      const form = document.getElementById(id);
      if (form) form.requestSubmit();
    };
    const actions = {
      ArrowLeft: () => go(viewer.dataset.newer),
      ArrowRight: () => go(viewer.dataset.older),
      Escape: () => (zoom?.zoomed() ? zoom.reset() : go(viewer.dataset.back)),
      i: toggleInfo,
      f: () => submit("favorite-form"),
      Delete: () => submit("trash-form"),
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
}
