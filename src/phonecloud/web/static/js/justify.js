// Justified rows, as Google Photos and Immich lay out a timeline: within a month, the tiles of one day after
// another fill rows of equal height that end flush with the right edge, each tile as wide as its photo's
// aspect ratio asks (data-w / data-h; a square when unknown), so that several small days share a row. A row
// where a day begins has a band above it with the day's name over its first tile.
//
// The server sends each tile's size, and this lays the tiles out in one pass of arithmetic per month
// (absolute positions, no measuring of tiles), again for the months a fetched page touches and whenever
// the grid's width changes. Without the script, the style sheet's square grid is what shows.

const MIN_RATIO = 0.4;  // a very tall or very wide photo is cropped (object-fit: cover) beyond these
const MAX_RATIO = 3;

// Row height, gap and label band for a grid this wide: about three photos a row on a phone.
function metrics(width) {
  if (width < 560) return { height: Math.max(84, Math.round(width / 2.9)), gap: 3, band: 26 };
  if (width < 960) return { height: 160, gap: 4, band: 30 };
  return { height: 190, gap: 4, band: 30 };
}

function ratioOf(tile) {
  const width = Number(tile.dataset.w);
  const height = Number(tile.dataset.h);
  if (!(width > 0 && height > 0)) return 1;
  return Math.min(MAX_RATIO, Math.max(MIN_RATIO, width / height));
}

// The rows of a run of items ({ ratio }): where each row starts and ends, its height, and whether it is full
// (ends at the right edge). A row takes items until it is full at the target height; the item that overflows
// it stays in it unless the row comes closer to the target without it (then it starts the next). A row that
// is not full (the last one) keeps the target height, and no row grows beyond twice the target.
function rows(items, width, { height, gap }) {
  const result = [];
  const fitted = (count, ratios) => (width - (count - 1) * gap) / ratios;
  let start = 0;
  while (start < items.length) {
    let end = start;
    let sum = 0;
    while (end < items.length && sum * height + (end - start - 1) * gap < width) {
      sum += items[end].ratio;
      end += 1;
    }
    let full = sum * height + (end - start - 1) * gap >= width;
    let rowHeight = full ? fitted(end - start, sum) : height;
    if (full && end - start > 1) {
      const without = fitted(end - start - 1, sum - items[end - 1].ratio);
      if (without / height < height / rowHeight) {
        end -= 1;
        rowHeight = without;
      }
    }
    if (rowHeight > height * 2) {
      rowHeight = height * 2;
      full = false;
    }
    result.push({ start, end, height: rowHeight, full });
    start = end;
  }
  return result;
}

function layoutMonth(month, width, sizes, titleHeight) {
  const items = [];
  for (const day of month.children) {
    if (!day.classList.contains("day")) continue;
    const label = day.querySelector(".day-title");
    day.querySelectorAll(".tile").forEach((tile, index) => {
      items.push({ tile, ratio: ratioOf(tile), label: index === 0 ? label : null });
    });
  }
  let top = titleHeight;
  for (const row of rows(items, width, sizes)) {
    const placed = items.slice(row.start, row.end);
    const y = top + (placed.some((item) => item.label) ? sizes.band : 0);
    const rowHeight = Math.round(row.height);
    let x = 0;
    for (const item of placed) {
      const left = Math.round(x);
      x += item.ratio * row.height;
      const right = row.full && item === placed[placed.length - 1] ? width : Math.round(x);
      item.x = left;
      Object.assign(item.tile.style, { left: `${left}px`, top: `${y}px`, width: `${right - left}px`,
                                       height: `${rowHeight}px` });
      x += sizes.gap;
    }
    const starts = placed.filter((item) => item.label);
    starts.forEach((item, index) => {
      const next = index + 1 < starts.length ? starts[index + 1].x : width;
      Object.assign(item.label.style, { left: `${item.x}px`, top: `${top}px`,
                                        width: `${Math.max(0, next - item.x - 6)}px`, height: `${sizes.band}px` });
    });
    top = y + rowHeight + sizes.gap;
  }
  month.style.height = `${top}px`;
}

// Lay out these months of the grid (all of them when none are given).
export function justify(grid, months = null) {
  if (!grid.classList.contains("justified")) return;
  const width = Math.floor(grid.getBoundingClientRect().width);
  if (width <= 0) return;
  const sizes = metrics(width);
  const sections = months || Array.from(grid.children).filter((child) => child.classList.contains("month"));
  if (!sections.length) return;
  const titleHeight = sections[0].querySelector(".month-title").offsetHeight;  // one style for every title
  for (const month of sections) layoutMonth(month, width, sizes, titleHeight);
}

// Switch the grid to justified rows and keep them so as its width changes.
export function initJustify(grid) {
  grid.classList.add("justified");
  justify(grid);
  let width = grid.getBoundingClientRect().width;
  new ResizeObserver(() => {
    const now = grid.getBoundingClientRect().width;
    if (Math.abs(now - width) < 0.5) return;
    width = now;
    justify(grid);
  }).observe(grid);
}
