// The timeline's scrubber: a rail of years and months at the right of the grid, as in Google Photos. Each month
// of the library gets a stretch of the rail as long as its share of the items (from GET /api/v1/timeline/months,
// one count a month, fetched once the first screen is shown: never the items themselves). Pointing at the rail
// (mouse) or dragging along it (mouse or finger) shows the month under the pointer; letting go jumps there:
// a month already loaded is scrolled to, any other is loaded as its own page (/?date=<its last day>). A mark
// shows where the page is. From the keyboard: arrows (a month), Page Up/Down (a year), Home/End, Enter.

const MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
  "October", "November", "December"];
const YEAR_SPACING = 18;  // px between two year labels at least: a crowded year is reached by dragging
const MARGIN = 8;  // px between the rail and the window's edges

function monthName(key) {
  const [year, month] = key.split("-");
  return `${MONTH_NAMES[Number(month) - 1]} ${year}`;
}

// The timeline page of a month: everything on or before its last day (UTC, as the counts are).
function monthHref(key) {
  const [year, month] = key.split("-").map(Number);
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return `/?date=${key}-${String(last).padStart(2, "0")}`;
}

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

function element(tag, className, parent) {
  const made = document.createElement(tag);
  made.className = className;
  parent.append(made);
  return made;
}

class Scrubber {
  constructor(rail, months) {
    this.rail = rail;
    this.track = rail.querySelector(".scrubber-track");
    this.bubble = rail.querySelector(".scrubber-bubble");
    this.grid = document.getElementById("grid");
    this.bottomBar = document.querySelector(".bottom-nav");
    this.months = months;
    this.index = new Map(months.map((entry, position) => [entry.month, position]));
    // Each month's stretch: its share of the items, with a floor so that a month of one photo can be hit.
    const total = months.reduce((sum, entry) => sum + entry.count, 0);
    const floor = total / months.length / 4;
    const weights = months.map((entry) => entry.count + floor);
    const sum = weights.reduce((all, weight) => all + weight, 0);
    this.starts = [];
    let at = 0;
    for (const weight of weights) {
      this.starts.push(at / sum);
      at += weight;
    }
    this.starts.push(1);
    this.current = 0;  // the month the page shows at its top
    this.previewed = null;  // the month under the pointer, or chosen with the keys
    this.dragging = false;
    this.years = element("div", "scrubber-years", this.track);
    this.years.setAttribute("aria-hidden", "true");
    this.hover = element("span", "scrubber-hover", this.track);
    this.mark = element("span", "scrubber-now", this.track);
    this.track.setAttribute("aria-valuemax", String(months.length - 1));
  }

  show() {
    this.rail.hidden = false;
    this.fit();
    this.drawYears();
    this.follow();
    new ResizeObserver(() => this.drawYears()).observe(this.track);
    let queued = false;
    const onScroll = () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => { queued = false; this.follow(); });
    };
    window.addEventListener("scroll", onScroll, { passive: true });
    window.addEventListener("resize", onScroll);
    this.listen();
  }

  drawYears() {
    const height = this.track.clientHeight;
    this.years.replaceChildren();
    let last = -Infinity;
    this.months.forEach((entry, position) => {
      const year = entry.month.slice(0, 4);
      if (position > 0 && this.months[position - 1].month.startsWith(year)) return;
      const y = this.starts[position] * height;
      if (y - last < YEAR_SPACING || y > height - 10) return;
      last = y;
      const label = element("span", "scrubber-year", this.years);
      label.textContent = year;
      label.style.top = `${y}px`;
    });
  }

  // The month at a point of the rail, from the pointer's height.
  at(clientY) {
    const box = this.track.getBoundingClientRect();
    const fraction = clamp((clientY - box.top) / box.height, 0, 0.999999);
    let low = 0;
    let high = this.months.length - 1;
    while (low < high) {  // the last month whose stretch starts at or above the fraction
      const middle = (low + high + 1) >> 1;
      if (this.starts[middle] <= fraction) low = middle; else high = middle - 1;
    }
    return low;
  }

  place(node, position, within = 0) {
    const fraction = this.starts[position] + within * (this.starts[position + 1] - this.starts[position]);
    node.style.top = `${fraction * this.track.clientHeight}px`;
  }

  preview(position) {
    this.previewed = position;
    const name = monthName(this.months[position].month);
    this.bubble.textContent = name;
    this.bubble.hidden = false;
    this.place(this.hover, position, 0.5);
    this.bubble.style.top = `${this.track.offsetTop + parseFloat(this.hover.style.top)}px`;
    this.rail.classList.add("active");
    this.track.setAttribute("aria-valuenow", String(position));
    this.track.setAttribute("aria-valuetext", name);
  }

  unpreview() {
    this.previewed = null;
    this.bubble.hidden = true;
    this.rail.classList.remove("active");
    this.follow();
  }

  jump(position) {
    const key = this.months[position].month;
    const section = this.grid && this.grid.querySelector(`:scope > .month[data-month="${key}"]`);
    if (section) {
      section.scrollIntoView({ block: "start" });
      this.unpreview();
      return;
    }
    this.preview(position);  // the bubble stays until the month's page replaces this one
    this.rail.classList.add("loading");
    window.location.assign(monthHref(key));
  }

  // The rail spans the window below the page's head and above a bar fixed at its bottom (a phone's navigation):
  // shorter at the top of the page, the whole height once the head is scrolled away (where it sticks).
  fit() {
    const top = Math.max(MARGIN, this.rail.parentElement.getBoundingClientRect().top);
    const bar = this.bottomBar && this.bottomBar.getBoundingClientRect();
    const bottom = bar && bar.height > 0 && bar.bottom >= window.innerHeight - 1 ? bar.top : window.innerHeight;
    const height = Math.max(120, Math.round(bottom - top - MARGIN));
    if (height !== this.height) {
      this.height = height;
      this.rail.style.height = `${height}px`;
    }
  }

  // Where the page is: the month of the first section still in view, and how far into it.
  follow() {
    this.fit();
    const sections = this.grid ? Array.from(this.grid.children).filter((child) => child.matches(".month")) : [];
    let low = 0;
    let high = sections.length - 1;
    while (low < high) {  // the first section whose bottom is below the window's top
      const middle = (low + high) >> 1;
      if (sections[middle].getBoundingClientRect().bottom > 0) high = middle; else low = middle + 1;
    }
    let within = 0;
    if (sections.length) {
      const box = sections[low].getBoundingClientRect();
      within = clamp(-box.top / Math.max(1, box.height), 0, 1);
      const key = sections[low].dataset.month;
      const older = this.months.findIndex((entry) => entry.month <= key);  // a month the counts do not name
      this.current = this.index.has(key) ? this.index.get(key) : older < 0 ? this.months.length - 1 : older;
    }
    this.place(this.mark, this.current, within);
    if (this.previewed === null) {
      this.track.setAttribute("aria-valuenow", String(this.current));
      this.track.setAttribute("aria-valuetext", monthName(this.months[this.current].month));
    }
  }

  // The newest month of the next older year (older), or else of this year, or of the next newer one.
  yearStep(from, older) {
    const year = (position) => this.months[position].month.slice(0, 4);
    let to = from;
    if (older) {
      while (to < this.months.length - 1 && year(to) === year(from)) to += 1;
      return to;
    }
    while (to > 0 && year(to - 1) === year(from)) to -= 1;
    if (to === from && to > 0) {
      to -= 1;
      while (to > 0 && year(to - 1) === year(to)) to -= 1;
    }
    return to;
  }

  listen() {
    const track = this.track;
    track.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      this.dragging = true;
      track.setPointerCapture(event.pointerId);
      this.preview(this.at(event.clientY));
    });
    track.addEventListener("pointermove", (event) => {
      if (this.dragging || event.pointerType === "mouse") this.preview(this.at(event.clientY));
    });
    track.addEventListener("pointerup", (event) => {
      if (!this.dragging) return;
      this.dragging = false;
      this.jump(this.at(event.clientY));
    });
    track.addEventListener("pointercancel", () => {
      this.dragging = false;
      this.unpreview();
    });
    track.addEventListener("pointerleave", () => {
      if (!this.dragging && !this.rail.classList.contains("loading")) this.unpreview();
    });
    track.addEventListener("keydown", (event) => {
      const from = this.previewed === null ? this.current : this.previewed;
      const steps = { ArrowUp: -1, ArrowLeft: -1, ArrowDown: 1, ArrowRight: 1 };
      if (event.key in steps) {
        this.preview(clamp(from + steps[event.key], 0, this.months.length - 1));
      } else if (event.key === "PageUp" || event.key === "PageDown") {
        this.preview(this.yearStep(from, event.key === "PageDown"));
      } else if (event.key === "Home" || event.key === "End") {
        this.preview(event.key === "Home" ? 0 : this.months.length - 1);
      } else if (event.key === "Enter" || event.key === " ") {
        this.jump(from);
      } else if (event.key === "Escape" && this.previewed !== null) {
        this.unpreview();
      } else {
        return;
      }
      event.preventDefault();
    });
    track.addEventListener("blur", () => {
      if (!this.rail.classList.contains("loading")) this.unpreview();
    });
    window.addEventListener("pageshow", (event) => {  // back to this page as it was left, mid-jump
      if (!event.persisted) return;
      this.rail.classList.remove("loading");
      this.unpreview();
    });
  }
}

async function load(rail) {
  let months = [];
  try {
    const response = await fetch(rail.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) months = (await response.json()).months;
  } catch {
    months = [];
  }
  if (months.length) new Scrubber(rail, months).show();
  else rail.remove();  // no rail (its room given to the grid): the date picker still jumps
}

export function initScrubber() {
  const rail = document.getElementById("scrubber");
  if (!rail) return;
  // After the first screen: the counts are not needed to show it.
  const start = () => (window.requestIdleCallback ? window.requestIdleCallback(() => load(rail), { timeout: 500 })
    : setTimeout(() => load(rail), 0));
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start, { once: true });
}
