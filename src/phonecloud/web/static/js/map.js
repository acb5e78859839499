// The map page (map.html): a Web Mercator map of the owner's photos that have a place, clustered by the server
// (GET /api/v1/map/clusters) for the zoom shown. Drag or arrow keys to move; the wheel, a pinch, a double click
// or the + and − buttons to zoom. A cluster's click zooms into it; a photo's opens the viewer.
// No tile server is asked unless the operator configured one (data-tile-url): by default the background is the
// world's land and borders (static/map/land.txt, from the server itself: see tools/make_map_land.py) under a
// graticule of latitudes and longitudes, drawn here.

const TILE = 256; // pixels of the world at zoom 0
const MAX_LATITUDE = 85.0511287798;
const MARGIN = 0.5; // of the view on each side, fetched ahead so that a small pan needs no new request
const DRAG_SLOP = 5; // pixels a press may move and still be a click

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));
const wrap = (x) => x - Math.floor(x);

export function mercatorX(longitude) { return (longitude + 180) / 360; }
export function mercatorY(latitude) {
  const sin = Math.sin((clamp(latitude, -MAX_LATITUDE, MAX_LATITUDE) * Math.PI) / 180);
  return 0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI);
}
export function longitudeOf(x) { return x * 360 - 180; }
export function latitudeOf(y) { return (Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180) / Math.PI; }

// Graticule steps in degrees, the first that leaves at least MIN_GAP pixels between lines is drawn.
const STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 45, 90];
const MIN_GAP = 90;

const LAND_URL = "/static/map/land.txt";
const LAND = "#f4f1e8", COAST = "rgba(80, 100, 120, 0.55)", BORDER = "rgba(110, 100, 90, 0.5)";
const CLIP_MARGIN = 16; // pixels around the view that land is clipped to, so that no edge of it shows

// The land file's rings ("L") and borders ("B"): hundredths of a degree, each point after the first a difference.
// Kept as fractions of the world (x, y as the markers'), with each one's bounding box to skip those out of view.
export function parseLand(text) {
  const land = [], borders = [];
  for (const row of text.split("\n")) {
    if (row[1] !== " " || (row[0] !== "L" && row[0] !== "B")) continue;
    const numbers = row.slice(2).split(" ");
    const points = new Float64Array(numbers.length & ~1);
    let lon = 0, lat = 0, x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < points.length; i += 2) {
      lon += Number(numbers[i]);
      lat += Number(numbers[i + 1]);
      const x = points[i] = mercatorX(lon / 100), y = points[i + 1] = mercatorY(lat / 100);
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    (row[0] === "L" ? land : borders).push({ points, x0, x1, y0, y1 });
  }
  return { land, borders };
}

// A ring cut to a box (Sutherland–Hodgman, one side at a time): far outside the view, a zoomed-in map's
// coordinates would be too large for the canvas to draw the edges that do show exactly.
function clipRing(points, left, top, right, bottom) {
  let ring = points;
  const sides = [[0, left, 1], [0, right, -1], [1, top, 1], [1, bottom, -1]]; // axis, edge, which side is in
  for (const [axis, edge, sign] of sides) {
    const out = [];
    const n = ring.length;
    if (!n) break;
    let px = ring[n - 2], py = ring[n - 1];
    let pin = ((axis ? py : px) - edge) * sign >= 0;
    for (let i = 0; i < n; i += 2) {
      const x = ring[i], y = ring[i + 1];
      const inside = ((axis ? y : x) - edge) * sign >= 0;
      if (inside !== pin) {
        const t = (edge - (axis ? py : px)) / ((axis ? y : x) - (axis ? py : px));
        out.push(axis ? px + t * (x - px) : edge, axis ? edge : py + t * (y - py));
      }
      if (inside) out.push(x, y);
      px = x; py = y; pin = inside;
    }
    ring = out;
  }
  return ring;
}

// The part of a segment inside a box (Liang–Barsky), as [t0, t1] along it, or null.
function clipSegment(x0, y0, x1, y1, left, top, right, bottom) {
  let t0 = 0, t1 = 1;
  const dx = x1 - x0, dy = y1 - y0;
  for (const [p, q] of [[-dx, x0 - left], [dx, right - x0], [-dy, y0 - top], [dy, bottom - y0]]) {
    if (p === 0) { if (q < 0) return null; continue; }
    const r = q / p;
    if (p < 0) { if (r > t1) return null; if (r > t0) t0 = r; } else { if (r < t0) return null; if (r < t1) t1 = r; }
  }
  return [t0, t1];
}

class MapView {
  constructor(element) {
    this.element = element;
    this.canvas = element.querySelector(".map-canvas");
    this.context = this.canvas.getContext("2d");
    this.layer = element.querySelector(".map-markers");
    this.status = element.querySelector(".map-status");
    this.api = element.dataset.api;
    this.maxZoom = Number(element.dataset.maxZoom) || 20;
    this.tileUrl = element.dataset.tileUrl || null;
    this.tiles = new Map(); // "z/x/y" -> Image, oldest first
    this.x = 0.5; this.y = 0.5; this.zoom = 2; // the centre, as fractions of the world
    this.clusters = [];
    this.markers = [];
    this.pointers = new Map();
    this.moved = 0;
    this.pending = null;
    this.frame = 0;
    this.timer = 0;
    this.land = null; // parseLand()'s, once fetched (never with a tile server: its tiles show the land)
  }

  get scale() { return TILE * 2 ** this.zoom; }

  minZoom() { return Math.max(0, Math.log2(Math.max(this.width, this.height) / TILE)); }

  start() {
    if (!this.tileUrl) this.loadLand();
    this.resize();
    window.addEventListener("resize", () => { this.resize(); this.settle(); });
    this.listen();
    window.addEventListener("hashchange", () => this.fromAddress());
    if (!this.fromAddress()) this.fitAll();
  }

  // The view named in the address (#zoom/latitude/longitude, as settle() writes it), if any.
  fromAddress() {
    const saved = /^#(\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(location.hash);
    if (!saved) return false;
    this.zoom = Number(saved[1]);
    this.x = mercatorX(Number(saved[3]));
    this.y = mercatorY(Number(saved[2]));
    this.changed();
    return true;
  }

  // The map fills the window below its top, at least 280 pixels.
  resize() {
    const top = this.element.getBoundingClientRect().top + window.scrollY;
    const bottom = document.querySelector(".bottom-nav, .nav-bottom");
    const reserved = bottom && getComputedStyle(bottom).position === "fixed" ? bottom.offsetHeight : 0;
    this.element.style.height = `${Math.max(280, window.innerHeight - top - reserved - 12)}px`;
    this.width = this.element.clientWidth;
    this.height = this.element.clientHeight;
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(this.width * ratio);
    this.canvas.height = Math.round(this.height * ratio);
    this.context.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.clampView();
    this.draw();
  }

  clampView() {
    this.zoom = clamp(this.zoom, this.minZoom(), this.maxZoom);
    const half = this.height / 2 / this.scale;
    this.y = clamp(this.y, half, 1 - half);
    this.x = wrap(this.x);
  }

  // Screen pixels of a point of the world, taking the copy of it nearest the centre (the world wraps east-west).
  toScreen(x, y) {
    let dx = x - this.x;
    dx -= Math.round(dx);
    return [this.width / 2 + dx * this.scale, this.height / 2 + (y - this.y) * this.scale];
  }

  toWorld(px, py) {
    return [this.x + (px - this.width / 2) / this.scale, this.y + (py - this.height / 2) / this.scale];
  }

  zoomAround(zoom, px = this.width / 2, py = this.height / 2) {
    const [wx, wy] = this.toWorld(px, py);
    this.zoom = clamp(zoom, this.minZoom(), this.maxZoom);
    this.x = wx - (px - this.width / 2) / this.scale;
    this.y = wy - (py - this.height / 2) / this.scale;
    this.changed();
  }

  panBy(dx, dy) {
    this.x -= dx / this.scale;
    this.y -= dy / this.scale;
    this.changed();
  }

  // Shows the box (degrees) with some room around it, no closer than `closest`.
  fit(west, south, east, north, closest = this.maxZoom) {
    const x0 = mercatorX(west), x1 = mercatorX(east), y0 = mercatorY(north), y1 = mercatorY(south);
    // room for the markers (52 pixels) and the zoom buttons at the edges
    const span = Math.max((x1 - x0) / Math.max(60, this.width - 150), (y1 - y0) / Math.max(60, this.height - 130), 1e-12);
    this.zoom = clamp(Math.log2(1 / (span * TILE)), this.minZoom(), closest);
    this.x = (x0 + x1) / 2;
    this.y = (y0 + y1) / 2;
    this.changed();
  }

  async fitAll() {
    const answer = await this.request({ west: -180, south: -90, east: 180, north: 90, zoom: 0 });
    if (!answer) return;
    if (!answer.clusters.length) {
      this.say("None of your photos has a place yet. Photos taken with the location on appear here.");
      this.zoom = this.minZoom();
      this.changed();
      return;
    }
    const bounds = answer.clusters.map((cluster) => cluster.bounds);
    this.fit(Math.min(...bounds.map((b) => b.west)), Math.min(...bounds.map((b) => b.south)),
             Math.max(...bounds.map((b) => b.east)), Math.max(...bounds.map((b) => b.north)), 14);
  }

  async loadLand() {
    try {
      const response = await fetch(LAND_URL, { credentials: "same-origin" });
      if (!response.ok) return; // the plain graticule then
      this.land = parseLand(await response.text());
      this.draw();
    } catch {
      // the plain graticule then
    }
  }

  say(text) { this.status.textContent = text; }

  changed() {
    this.clampView();
    this.draw();
    this.settle();
  }

  // After the map stops moving for a moment: the clusters of the new view, and the view in the address.
  settle() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const center = `${this.zoom.toFixed(2)}/${latitudeOf(this.y).toFixed(5)}/${longitudeOf(wrap(this.x)).toFixed(5)}`;
      history.replaceState(null, "", `#${center}`);
      this.load();
    }, 120);
  }

  async load() {
    const zoom = clamp(Math.round(this.zoom), 0, this.maxZoom);
    const [left, top] = this.toWorld(-this.width * MARGIN, -this.height * MARGIN);
    const [right, bottom] = this.toWorld(this.width * (1 + MARGIN), this.height * (1 + MARGIN));
    const whole = right - left >= 1;
    const box = {
      west: whole ? -180 : longitudeOf(wrap(left)), east: whole ? 180 : longitudeOf(wrap(right)),
      south: latitudeOf(clamp(bottom, 0, 1)), north: latitudeOf(clamp(top, 0, 1)), zoom,
    };
    const answer = await this.request(box);
    if (!answer) return;
    this.clusters = answer.clusters;
    this.clusterZoom = zoom;
    this.showMarkers();
    if (this.status.dataset.error) { this.say(""); delete this.status.dataset.error; }
  }

  async request(box) {
    if (this.pending) this.pending.abort();
    const pending = this.pending = new AbortController();
    const query = new URLSearchParams(Object.entries(box).map(([key, value]) => [key, String(value)]));
    try {
      const response = await fetch(`${this.api}?${query}`, { signal: pending.signal, credentials: "same-origin" });
      const body = await response.json();
      if (!response.ok) throw new Error(body.message || `the server answered ${response.status}`);
      return body;
    } catch (error) {
      if (error.name === "AbortError") return null;
      this.say(`The map could not be loaded: ${error.message}`);
      this.status.dataset.error = "1";
      return null;
    } finally {
      if (this.pending === pending) this.pending = null;
    }
  }

  showMarkers() {
    this.layer.replaceChildren();
    this.markers = this.clusters.map((cluster) => {
      const node = cluster.count === 1 ? this.photoMarker(cluster) : this.clusterMarker(cluster);
      node.dataset.count = String(cluster.count);
      this.layer.append(node);
      return { node, x: mercatorX(cluster.longitude), y: mercatorY(cluster.latitude) };
    });
    this.placeMarkers();
  }

  photoMarker(cluster) {
    const link = document.createElement("a");
    link.className = `map-photo${cluster.kind === "video" ? " is-video" : ""}`;
    link.href = `/photos/${cluster.asset_id}`;
    link.dataset.id = cluster.asset_id;
    link.dataset.size = "52";
    const image = document.createElement("img");
    image.alt = cluster.kind === "video" ? "Video" : "Photo";
    image.decoding = "async";
    image.draggable = false;
    image.addEventListener("error", () => { // no thumbnail (yet, or ever): a plain marker says where it is
      image.hidden = true;
      link.classList.add("is-missing");
    });
    image.src = `/api/v1/assets/${cluster.asset_id}/thumbnail`;
    link.append(image);
    return link;
  }

  clusterMarker(cluster) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "map-cluster";
    const size = Math.round(30 + 9 * Math.log10(cluster.count));
    button.style.width = button.style.height = `${size}px`;
    button.dataset.size = String(size);
    button.textContent = cluster.count >= 10000 ? `${Math.round(cluster.count / 1000)}k` : String(cluster.count);
    button.setAttribute("aria-label", `${cluster.count} photos here: zoom in`);
    button.addEventListener("click", () => this.open(cluster));
    return button;
  }

  // Zooms into a cluster; one whose photos share a place (or at the closest zoom) opens its newest photo.
  open(cluster) {
    const { west, south, east, north } = cluster.bounds;
    if ((west === east && south === north) || this.zoom >= this.maxZoom - 0.01) {
      location.href = `/photos/${cluster.asset_id}`;
      return;
    }
    const before = this.zoom;
    this.fit(west, south, east, north);
    if (this.zoom < before + 1) this.zoomAround(before + 1, ...this.toScreen(mercatorX(cluster.longitude), mercatorY(cluster.latitude)));
  }

  placeMarkers() {
    const factor = 2 ** (this.zoom - (this.clusterZoom ?? this.zoom));
    for (const marker of this.markers) {
      const [px, py] = this.toScreen(marker.x, marker.y);
      const half = Number(marker.node.dataset.size) / 2;
      const visible = px > -60 && py > -60 && px < this.width + 60 && py < this.height + 60;
      marker.node.hidden = !visible;
      if (visible) marker.node.style.transform = `translate(${Math.round(px - half)}px, ${Math.round(py - half)}px)`;
    }
    this.element.dataset.scale = factor.toFixed(2);
  }

  draw() {
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(() => {
      const c = this.context;
      c.fillStyle = "#dfe7ee";
      c.fillRect(0, 0, this.width, this.height);
      if (this.tileUrl) this.drawTiles();
      else if (this.land) this.drawLand();
      this.drawGraticule();
      this.placeMarkers();
    });
  }

  // The land filled and outlined, then the borders, in each copy of the world in view (it repeats east-west):
  // only the rings and lines whose box is in view, each cut to the view when it reaches far beyond it.
  drawLand() {
    const c = this.context, s = this.scale;
    const [left, top] = this.toWorld(0, 0);
    const [right, bottom] = this.toWorld(this.width, this.height);
    const margin = CLIP_MARGIN / s;
    const started = performance.now();
    c.save();
    c.lineJoin = "round";
    for (const [shapes, closed] of [[this.land.land, true], [this.land.borders, false]]) {
      c.beginPath();
      // (a ring across the antimeridian reaches into the next copy: one more each side, culled by its box)
      for (let copy = Math.floor(left) - 1; copy <= Math.floor(right) + 1; copy++) {
        // the view's box in this copy's coordinates
        const l = left - copy - margin, r = right - copy + margin, t = top - margin, b = bottom + margin;
        const ox = this.width / 2 + (copy - this.x) * s, oy = this.height / 2 - this.y * s;
        for (const shape of shapes) {
          if (shape.x1 < l || shape.x0 > r || shape.y1 < t || shape.y0 > b) continue;
          const inside = shape.x0 >= l && shape.x1 <= r && shape.y0 >= t && shape.y1 <= b;
          if (closed) this.traceRing(inside ? shape.points : clipRing(shape.points, l, t, r, b), ox, oy);
          else this.traceLine(shape.points, ox, oy, inside ? null : [l, t, r, b]);
        }
      }
      if (closed) {
        c.fillStyle = LAND;
        c.fill("evenodd");
        c.strokeStyle = COAST;
        c.lineWidth = 0.8;
      } else {
        c.strokeStyle = BORDER;
        c.lineWidth = 0.7;
      }
      c.stroke();
    }
    c.restore();
    this.landTime = performance.now() - started; // for the tests
  }

  traceRing(points, ox, oy) {
    if (points.length < 6) return;
    const c = this.context, s = this.scale;
    c.moveTo(ox + points[0] * s, oy + points[1] * s);
    for (let i = 2; i < points.length; i += 2) c.lineTo(ox + points[i] * s, oy + points[i + 1] * s);
    c.closePath();
  }

  traceLine(points, ox, oy, box) {
    const c = this.context, s = this.scale;
    if (!box) {
      c.moveTo(ox + points[0] * s, oy + points[1] * s);
      for (let i = 2; i < points.length; i += 2) c.lineTo(ox + points[i] * s, oy + points[i + 1] * s);
      return;
    }
    let joined = false; // whether the pen is where the next segment starts
    for (let i = 2; i < points.length; i += 2) {
      const x0 = points[i - 2], y0 = points[i - 1], x1 = points[i], y1 = points[i + 1];
      const part = clipSegment(x0, y0, x1, y1, ...box);
      if (!part) { joined = false; continue; }
      const [t0, t1] = part;
      if (!joined || t0 > 0) c.moveTo(ox + (x0 + t0 * (x1 - x0)) * s, oy + (y0 + t0 * (y1 - y0)) * s);
      c.lineTo(ox + (x0 + t1 * (x1 - x0)) * s, oy + (y0 + t1 * (y1 - y0)) * s);
      joined = t1 === 1;
    }
  }

  drawGraticule() {
    const c = this.context;
    const pixelsPerDegree = this.scale / 360;
    const step = STEPS.find((candidate) => candidate * pixelsPerDegree >= MIN_GAP) || 90;
    const digits = Math.max(0, -Math.floor(Math.log10(step)));
    const [left, top] = this.toWorld(0, 0);
    const [right, bottom] = this.toWorld(this.width, this.height);
    c.save();
    c.strokeStyle = this.tileUrl ? "rgba(40, 60, 90, 0.25)" : "rgba(40, 60, 90, 0.22)";
    c.fillStyle = "rgba(30, 45, 70, 0.7)";
    c.font = "11px system-ui, sans-serif";
    c.lineWidth = 1;
    c.beginPath();
    const firstLon = Math.floor(longitudeOf(left) / step) * step;
    for (let lon = firstLon; lon <= longitudeOf(right) + step; lon += step) {
      const px = Math.round(this.width / 2 + (mercatorX(lon) - this.x) * this.scale) + 0.5;
      c.moveTo(px, 0);
      c.lineTo(px, this.height);
      const shown = ((((lon + 180) % 360) + 360) % 360) - 180;
      if (px > 0 && px < this.width - 50) {
        c.fillText(`${Math.abs(shown).toFixed(digits)}°${shown < 0 ? "W" : shown > 0 ? "E" : ""}`, px + 3, this.height - 6);
      }
    }
    const south = Math.max(-MAX_LATITUDE, latitudeOf(bottom)), north = Math.min(MAX_LATITUDE, latitudeOf(top));
    for (let lat = Math.ceil(south / step) * step; lat <= north; lat += step) {
      const py = Math.round(this.height / 2 + (mercatorY(lat) - this.y) * this.scale) + 0.5;
      c.moveTo(0, py);
      c.lineTo(this.width, py);
      if (py > 16 && py < this.height - 22) c.fillText(`${Math.abs(lat).toFixed(digits)}°${lat < 0 ? "S" : lat > 0 ? "N" : ""}`, 4, py - 3);
    }
    c.stroke();
    // The equator a little stronger, so that the plain map reads as a map.
    const equator = Math.round(this.height / 2 + (0.5 - this.y) * this.scale) + 0.5;
    c.strokeStyle = "rgba(40, 60, 90, 0.45)";
    c.beginPath();
    c.moveTo(0, equator);
    c.lineTo(this.width, equator);
    c.stroke();
    c.restore();
  }

  drawTiles() {
    const level = clamp(Math.round(this.zoom), 0, 19);
    const count = 2 ** level;
    const size = (TILE * 2 ** this.zoom) / count;
    const [left, top] = this.toWorld(0, 0);
    const [right, bottom] = this.toWorld(this.width, this.height);
    for (let ty = Math.max(0, Math.floor(top * count)); ty <= Math.min(count - 1, Math.floor(bottom * count)); ty++) {
      for (let tx = Math.floor(left * count); tx <= Math.floor(right * count); tx++) {
        const image = this.tile(level, ((tx % count) + count) % count, ty);
        if (!image.complete || !image.naturalWidth) continue;
        const px = this.width / 2 + (tx / count - this.x) * this.scale;
        const py = this.height / 2 + (ty / count - this.y) * this.scale;
        this.context.drawImage(image, Math.floor(px), Math.floor(py), Math.ceil(size) + 1, Math.ceil(size) + 1);
      }
    }
  }

  tile(z, x, y) {
    const key = `${z}/${x}/${y}`;
    let image = this.tiles.get(key);
    if (image) {
      this.tiles.delete(key);
      this.tiles.set(key, image); // the most recently used last
      return image;
    }
    image = new Image();
    image.onload = () => this.draw();
    image.src = this.tileUrl.replaceAll("{z}", z).replaceAll("{x}", x).replaceAll("{y}", y)
      .replaceAll("{s}", "abc"[(x + y) % 3]);
    this.tiles.set(key, image);
    if (this.tiles.size > 400) this.tiles.delete(this.tiles.keys().next().value);
    return image;
  }

  listen() {
    const element = this.element;
    element.addEventListener("wheel", (event) => {
      event.preventDefault();
      const box = element.getBoundingClientRect();
      const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
      this.zoomAround(this.zoom - clamp(delta, -200, 200) / 240, event.clientX - box.left, event.clientY - box.top);
    }, { passive: false });
    element.addEventListener("dragstart", (event) => event.preventDefault()); // a marker's link or image
    element.addEventListener("dblclick", (event) => {
      if (event.target.closest(".map-markers > *, .map-zoom")) return;
      const box = element.getBoundingClientRect();
      this.zoomAround(Math.round(this.zoom) + 1, event.clientX - box.left, event.clientY - box.top);
    });
    element.addEventListener("pointerdown", (event) => {
      if (event.target.closest(".map-zoom") || (event.pointerType === "mouse" && event.button !== 0)) return;
      this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      if (this.pointers.size === 1) this.moved = 0;
      this.pinch = this.pointers.size === 2 ? this.pinchState() : null;
    });
    element.addEventListener("pointermove", (event) => {
      const last = this.pointers.get(event.pointerId);
      if (!last) return;
      if (!element.hasPointerCapture(event.pointerId) && this.moved > DRAG_SLOP) element.setPointerCapture(event.pointerId);
      const dx = event.clientX - last.x, dy = event.clientY - last.y;
      this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      this.moved += Math.abs(dx) + Math.abs(dy);
      if (this.pointers.size === 1) {
        if (this.moved > DRAG_SLOP) element.classList.add("is-dragging");
        this.panBy(dx, dy);
      } else if (this.pointers.size === 2 && this.pinch) {
        const now = this.pinchState();
        const box = element.getBoundingClientRect();
        this.panBy(now.x - this.pinch.x, now.y - this.pinch.y);
        this.zoomAround(this.zoom + Math.log2(now.distance / this.pinch.distance), now.x - box.left, now.y - box.top);
        this.pinch = now;
      }
    });
    const release = (event) => {
      this.pointers.delete(event.pointerId);
      this.pinch = this.pointers.size === 2 ? this.pinchState() : null;
      if (!this.pointers.size) element.classList.remove("is-dragging");
    };
    element.addEventListener("pointerup", release);
    element.addEventListener("pointercancel", release);
    // A drag that ends on a marker is no click on it.
    element.addEventListener("click", (event) => {
      if (this.moved > DRAG_SLOP && event.target.closest(".map-markers > *")) {
        event.preventDefault();
        event.stopPropagation();
      }
    }, true);
    element.querySelectorAll("[data-zoom]").forEach((button) => button.addEventListener("click", () => {
      this.zoomAround(Math.round(this.zoom) + Number(button.dataset.zoom));
    }));
    element.addEventListener("keydown", (event) => {
      if (event.target !== element) return;
      const moves = { ArrowLeft: [80, 0], ArrowRight: [-80, 0], ArrowUp: [0, 80], ArrowDown: [0, -80] };
      if (moves[event.key]) this.panBy(...moves[event.key]);
      else if (event.key === "+" || event.key === "=") this.zoomAround(Math.round(this.zoom) + 1);
      else if (event.key === "-") this.zoomAround(Math.round(this.zoom) - 1);
      else return;
      event.preventDefault();
    });
  }

  pinchState() {
    const [a, b] = [...this.pointers.values()];
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, distance: Math.max(1, Math.hypot(a.x - b.x, a.y - b.y)) };
  }
}

const element = document.getElementById("map");
if (element) {
  const view = new MapView(element);
  element.mapView = view; // for the tests, which read where the map is
  view.start();
}
