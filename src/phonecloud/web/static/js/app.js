// The one script every page loads; each part acts only where its elements are on the page.
import { initCommon } from "./common.js";
import { initGrid } from "./grid.js";
import { initUpload } from "./upload.js";
import { initViewer } from "./viewer.js";

initCommon();
initGrid();
initViewer();
initUpload();
