// Grids of tiles: justified rows (justify.js), the next page fetched while scrolling (merged into the day it
// continues, and the months it touched laid out again), and a selection with checkboxes, shift-click for
// ranges, and a toolbar that acts on it.
import { retryPending } from "./common.js";
import { initJustify, justify } from "./justify.js";

function childrenOf(parent, selector) {
  return Array.from(parent.children).filter((child) => child.matches(selector));
}

function lastOf(parent, selector) {
  return childrenOf(parent, selector).pop() || null;
}

// Append a fetched page: a month or day cut in two by the page break continues where it stopped.
function merge(grid, fetched) {
  for (const month of childrenOf(fetched, ".month")) {
    const current = lastOf(grid, ".month");
    if (!current || current.dataset.month !== month.dataset.month) {
      grid.append(month);
      continue;
    }
    for (const day of childrenOf(month, ".day")) {
      const currentDay = lastOf(current, ".day");
      if (currentDay && currentDay.dataset.day === day.dataset.day) {
        currentDay.querySelector(".grid").append(...day.querySelector(".grid").children);
      } else {
        current.append(day);
      }
    }
  }
}

function endlessScroll(grid) {
  let loading = false;
  const observer = new IntersectionObserver(async (entries) => {
    const more = document.getElementById("more");
    if (loading || !more || !entries.some((entry) => entry.isIntersecting)) return;
    loading = true;
    try {
      const response = await fetch(more.dataset.src, { credentials: "same-origin" });
      if (response.redirected) {  // signed out meanwhile: the page itself goes to the sign-in form
        window.location.reload();
        return;
      }
      if (!response.ok) throw new Error(`status ${response.status}`);
      const page = document.createElement("template");
      page.innerHTML = await response.text();
      const next = page.content.getElementById("more");
      const continued = lastOf(grid, ".month");
      merge(grid, page.content);
      const months = childrenOf(grid, ".month");
      justify(grid, months.slice(Math.max(0, months.indexOf(continued))));
      retryPending(grid);
      if (next) {
        more.replaceWith(next);
        observer.observe(next);
      } else {
        more.remove();
      }
    } catch (error) {
      more.dataset.failed = String(error);  // the link inside still works
    } finally {
      loading = false;
    }
  }, { rootMargin: "1500px 0px" });
  const more = document.getElementById("more");
  if (more) observer.observe(more);
}

function selection(grid, toolbar) {
  let anchor = null;  // the last checkbox clicked: a shift-click selects everything in between
  const boxes = () => Array.from(grid.querySelectorAll(".pick"));
  const update = () => {
    const chosen = boxes().filter((box) => box.checked);
    for (const box of boxes()) box.closest(".tile").classList.toggle("is-selected", box.checked);
    toolbar.querySelector("[data-count]").textContent = String(chosen.length);
    toolbar.classList.toggle("active", chosen.length > 0);
    grid.classList.toggle("selecting", chosen.length > 0);
    // While items are selected, the toolbar's buttons are the page's: the whole trash's are put away.
    document.body.classList.toggle("has-selection", chosen.length > 0);
  };
  const choose = (box, checked, range) => {
    if (range && anchor && anchor !== box) {
      const all = boxes();
      const [from, to] = [all.indexOf(anchor), all.indexOf(box)].sort((a, b) => a - b);
      for (const each of all.slice(from, to + 1)) each.checked = checked;
    }
    box.checked = checked;
    anchor = box;
    update();
  };
  grid.addEventListener("click", (event) => {
    const box = event.target.closest(".pick");
    if (box) {
      choose(box, box.checked, event.shiftKey);
      return;
    }
    // While something is selected, a click on a tile (or shift-click at any time) selects instead of opening.
    const thumb = event.target.closest(".thumb");
    if (thumb && (grid.classList.contains("selecting") || event.shiftKey)) {
      event.preventDefault();
      const tileBox = thumb.closest(".tile").querySelector(".pick");
      choose(tileBox, !tileBox.checked, event.shiftKey);
    }
  });
  grid.addEventListener("keydown", (event) => {  // space on a focused checkbox works natively; keep ranges
    const box = event.target.closest(".pick");
    if (box && event.key === " " && event.shiftKey) {
      event.preventDefault();
      choose(box, !box.checked, true);
    }
  });
  toolbar.querySelector("[data-clear]").addEventListener("click", () => {
    for (const box of boxes()) box.checked = false;
    anchor = null;
    update();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && toolbar.classList.contains("active")) toolbar.querySelector("[data-clear]").click();
  });
  update();
}

export function initGrid() {
  const grid = document.getElementById("grid");
  if (!grid) return;
  initJustify(grid);
  endlessScroll(grid);
  const toolbar = document.getElementById("selection");
  if (toolbar) selection(grid, toolbar);
}
