// Zoom of the viewer's photo, as a phone's gallery does it: a pinch, a double-tap (or double-click) and
// ctrl+wheel (a trackpad's pinch in Chromium) zoom about the fingers or the pointer, from fit (1×) to 4×;
// zoomed, a finger, the mouse or the wheel pans, and the photo's edges never come inside the stage's.

const MOST = 4;
const TAPPED = 2.5; // a double-tap's zoom
const TAP_SLOP = 10; // px a finger may move and still tap
const SECOND_TAP = { ms: 300, px: 40 }; // how soon after the first, and how near it, a double-tap's second lands
const clamp = (value, low, high) => Math.min(high, Math.max(low, value));
const near = (a, b, distance) => Math.hypot(a.x - b.x, a.y - b.y) < distance;

export function zoomable(stage, image) {
  let scale = 1;
  let x = 0; // the translation, px from where the image is laid out
  let y = 0;
  const pointers = new Map(); // pointer id → its last position, while down on the stage
  let tap = null; // where the press under way began, while it may still be a tap
  let lastTap = null;

  function show(animate = false) {
    // object-fit: contain lays the photo out at `fit`; pan as far as its zoomed size overflows the stage.
    const fit = image.naturalWidth
      ? Math.min(image.clientWidth / image.naturalWidth, image.clientHeight / image.naturalHeight) : 0;
    const spareX = Math.max(0, (image.naturalWidth * fit * scale - image.clientWidth) / 2);
    const spareY = Math.max(0, (image.naturalHeight * fit * scale - image.clientHeight) / 2);
    // A pinch may take the photo off its edges for a while (it then stays under the fingers): not a pan.
    if (pointers.size < 2) {
      x = clamp(x, -spareX, spareX);
      y = clamp(y, -spareY, spareY);
    }
    image.style.transition = animate ? "transform 0.2s ease-out" : "none";
    image.style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
    image.style.cursor = scale > 1 ? "grab" : "zoom-in";
  }

  function zoomAt(next, clientX, clientY, animate = false) {
    if (!image.naturalWidth) return; // no preview yet: nothing to zoom
    const box = stage.getBoundingClientRect();
    // The point from the image's centre as laid out (its offsets leave the transform out).
    const px = clientX - box.left - image.offsetLeft - image.clientWidth / 2;
    const py = clientY - box.top - image.offsetTop - image.clientHeight / 2;
    next = clamp(next, 1, MOST);
    // Whatever part of the photo is under the point stays there.
    x = px - (next / scale) * (px - x);
    y = py - (next / scale) * (py - y);
    scale = next;
    show(animate);
  }

  function fingers() {
    const [a, b = a] = pointers.values();
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, spread: Math.hypot(a.x - b.x, a.y - b.y) };
  }

  stage.addEventListener("pointerdown", (event) => {
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    tap = pointers.size === 1 ? { x: event.clientX, y: event.clientY } : null;
  });
  // On the window, so that a mouse dragged beyond the stage still pans and its release is not missed.
  window.addEventListener("pointermove", (event) => {
    if (!pointers.has(event.pointerId)) return;
    const before = fingers();
    const at = { x: event.clientX, y: event.clientY };
    pointers.set(event.pointerId, at);
    if (tap && !near(tap, at, TAP_SLOP)) tap = null;
    const after = fingers();
    // The fingers' midpoint carries the photo along, their spread scales it about that midpoint.
    x += after.x - before.x;
    y += after.y - before.y;
    if (pointers.size > 1 && before.spread) zoomAt(scale * (after.spread / before.spread), after.x, after.y);
    else show();
  });
  const lift = (event) => {
    if (!pointers.delete(event.pointerId)) return;
    if (pointers.size === 1) show(true); // a pinch's end: back within the edges
    if (event.type !== "pointerup" || !tap) return;
    const here = { x: event.clientX, y: event.clientY, at: event.timeStamp };
    if (!near(tap, here, TAP_SLOP)) return;
    if (lastTap && here.at - lastTap.at < SECOND_TAP.ms && near(lastTap, here, SECOND_TAP.px)) {
      lastTap = null;
      zoomAt(scale > 1 ? 1 : TAPPED, here.x, here.y, true);
    } else {
      lastTap = here;
    }
  };
  window.addEventListener("pointerup", lift);
  window.addEventListener("pointercancel", lift);
  stage.addEventListener("wheel", (event) => {
    if (!event.ctrlKey && scale === 1) return; // the page's own scrolling
    event.preventDefault(); // neither the browser's zoom of the whole page nor its scrolling
    if (event.ctrlKey) {
      zoomAt(scale * 2 ** (-clamp(event.deltaY, -50, 50) / 100), event.clientX, event.clientY);
    } else {
      x -= event.deltaX;
      y -= event.deltaY;
      show();
    }
  }, { passive: false });

  const reset = () => {
    scale = 1;
    show(true);
  };
  image.draggable = false; // a mouse drag pans rather than picks the image up
  stage.style.touchAction = "none"; // the fingers zoom the photo, not the page (as they do without this script)
  window.addEventListener("resize", () => show()); // a phone turned: the photo's edges move
  window.addEventListener("pageshow", (event) => event.persisted && reset()); // back from the browser's cache
  show();
  return { zoomed: () => scale > 1, reset };
}
