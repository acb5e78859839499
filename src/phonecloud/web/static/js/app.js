// The one script every page loads; each part acts only where its elements are on the page.
import { initCommon } from "./common.js";
import { initGrid } from "./grid.js";
import { initScrubber } from "./scrubber.js";
import { initUpload } from "./upload.js";
import { initViewer } from "./viewer.js";

// After a move to the trash, Ctrl+Z (⌘Z) undoes it as the page's Undo button does.
function initUndo() {
  const form = document.getElementById("undo");
  if (!form) return;
  document.addEventListener("keydown", (event) => {
    if (event.key.toLowerCase() !== "z" || !(event.ctrlKey || event.metaKey) || event.shiftKey || event.altKey
        || event.target.closest("input, textarea, select")) return;
    event.preventDefault();
    form.requestSubmit();
  });
}

initCommon();
initGrid();
initScrubber();
initViewer();
initUpload();
initUndo();
