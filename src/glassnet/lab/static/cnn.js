// glassnet lab: the CNN view. Plain JavaScript, no build step; uses app.js's helpers
// (api, fmt, diverging, lab) and its two events: "lab:model" when a model is loaded and
// "lab:predicted" after each prediction.
//
// For a model with conv layers (GET /api/model says conv: true) every prediction's input goes
// to /api/conv/maps, and each layer's feature maps are drawn as heat maps. Clicking a map opens
// it: its input, its kernel (for a conv layer) and the map; hovering over the input (or the map)
// slides the kernel's window, and /api/conv/unit gives that unit's arithmetic with the actual
// numbers (z = Σ K·x + b, then a = f(z); for pooling the window and its max or mean).
"use strict";

const MAX_MAPS_SHOWN = 32; // per layer; the rest are counted
const UNIT_TERMS = 9; // the largest K·x products listed

const cnn = {
  maps: null, // the last /api/conv/maps answer
  selected: null, // {layer, channel}: the opened map
  unit: null, // the last /api/conv/unit answer
  pending: { maps: null, unit: null }, // the newest request waiting behind the one out
  out: { maps: false, unit: false },
};
lab.cnn = cnn;
// True when no maps or unit request is out or waiting (the end-to-end test uses it).
cnn.idle = () => !cnn.out.maps && !cnn.out.unit && !cnn.pending.maps && !cnn.pending.unit;

// One request of each kind at a time; while one is out, only the newest waits.
function single(kind, body, path, done) {
  if (cnn.out[kind]) { cnn.pending[kind] = { body, path, done }; return; }
  cnn.out[kind] = true;
  api(path, body)
    .then(done)
    .catch((error) => notify(error.message, true))
    .finally(() => {
      cnn.out[kind] = false;
      const next = cnn.pending[kind];
      cnn.pending[kind] = null;
      if (next) single(kind, next.body, next.path, next.done);
    });
}

document.addEventListener("lab:model", (event) => {
  const on = !!event.detail.conv;
  $("cnn-card").hidden = !on;
  cnn.maps = null;
  cnn.selected = null;
  cnn.unit = null;
  $("cnn-unit").hidden = true;
  $("cnn-layers").replaceChildren();
});

document.addEventListener("lab:predicted", (event) => {
  if (!lab.model || !lab.model.conv) return;
  single("maps", { input: event.detail.input }, "/api/conv/maps", showMaps);
});

// ------------------------------------------------------------------------------ the maps

// The values of map c of a (C, H, W) layer, row by row.
function mapValues(layer, c) {
  const [, h, w] = layer.shape;
  return layer.values.slice(c * h * w, (c + 1) * h * w);
}

// Paint values (h × w, row by row) into a canvas as a heat map of ±top, cells scaled up.
function paintMap(canvas, values, h, w, top) {
  const cells = document.createElement("canvas");
  cells.width = w;
  cells.height = h;
  const context = cells.getContext("2d");
  const image = context.createImageData(w, h);
  for (let k = 0; k < h * w; k++) {
    const c = diverging(values[k] / (top || 1));
    image.data.set([c[0], c[1], c[2], 255], k * 4);
  }
  context.putImageData(image, 0, 0);
  const target = canvas.getContext("2d");
  target.imageSmoothingEnabled = false;
  target.clearRect(0, 0, canvas.width, canvas.height);
  target.drawImage(cells, 0, 0, canvas.width, canvas.height);
}

const largest = (values) => values.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-9);

function showMaps(data) {
  if (data.model_version !== lab.model.version) return; // a new model: its maps come next
  cnn.maps = data;
  const box = $("cnn-layers");
  box.replaceChildren();
  for (const layer of data.layers) {
    const [c, h, w] = layer.shape;
    const row = document.createElement("div");
    row.className = "cnn-layer";
    const head = document.createElement("div");
    head.className = "cnn-layer-name";
    const kernel = layer.kernel_size ? ` · ${layer.kernel_size.join("×")}` : "";
    head.textContent = `${layer.name} · ${layer.type}${kernel} → ${c}×${h}×${w}`;
    row.appendChild(head);
    const top = largest(layer.values); // one scale per layer: maps compare with each other
    const maps = document.createElement("div");
    maps.className = "cnn-maps";
    for (let k = 0; k < Math.min(c, MAX_MAPS_SHOWN); k++) {
      const canvas = document.createElement("canvas");
      canvas.width = w * Math.max(1, Math.round(56 / w));
      canvas.height = h * Math.max(1, Math.round(56 / w));
      canvas.className = "cnn-map";
      canvas.dataset.layer = layer.index;
      canvas.dataset.channel = k;
      canvas.title = `${layer.name} map ${k}: click to open`;
      paintMap(canvas, mapValues(layer, k), h, w, top);
      if (cnn.selected && cnn.selected.layer === layer.index && cnn.selected.channel === k) {
        canvas.classList.add("selected");
      }
      canvas.addEventListener("click", () => selectMap(layer.index, k));
      maps.appendChild(canvas);
    }
    if (c > MAX_MAPS_SHOWN) {
      const more = document.createElement("span");
      more.className = "muted small";
      more.textContent = `+${c - MAX_MAPS_SHOWN} more maps`;
      maps.appendChild(more);
    }
    row.appendChild(maps);
    box.appendChild(row);
  }
  if (cnn.selected) {
    const { i, j } = cnn.unit || { i: 0, j: 0 };
    drawUnitViews();
    requestUnit(i, j); // the same unit, for the new input
  }
}

// ------------------------------------------------------------------------------ one map opened

function selectedLayer() {
  return cnn.maps && cnn.maps.layers.find((l) => l.index === cnn.selected.layer);
}

// What the opened layer reads: the maps of the layer before it, or the network's input.
function layerInput() {
  const layers = cnn.maps.layers;
  const at = layers.findIndex((l) => l.index === cnn.selected.layer);
  return at > 0 ? layers[at - 1] : cnn.maps.input;
}

function selectMap(layerIndex, channel) {
  cnn.selected = { layer: layerIndex, channel };
  cnn.unit = null;
  document.querySelectorAll("#cnn-layers canvas.selected")
    .forEach((c) => c.classList.remove("selected"));
  const canvas = document.querySelector(
    `#cnn-layers canvas[data-layer="${layerIndex}"][data-channel="${channel}"]`);
  if (canvas) canvas.classList.add("selected");
  $("cnn-unit").hidden = false;
  const layer = selectedLayer();
  $("cnn-unit-title").textContent = `${layer.name} (${layer.type}) · map ${channel}`;
  drawUnitViews();
  const [, h, w] = layer.shape;
  requestUnit(Math.floor(h / 2), Math.floor(w / 2));
}

// Which input channel the input view shows: the opened map's own for pooling and
// activations, the first for a conv layer (its window covers all channels).
function inputChannel(layer, input) {
  return layer.type === "Conv2D" ? 0 : Math.min(cnn.selected.channel, input.shape[0] - 1);
}

function drawUnitViews() {
  const layer = selectedLayer();
  if (!layer) return;
  const input = layerInput();
  const [ci, hi, wi] = input.shape;
  const channel = inputChannel(layer, input);
  const values = input.values.slice(channel * hi * wi, (channel + 1) * hi * wi);
  paintMap($("cnn-input"), values, hi, wi, largest(values));
  $("cnn-input-caption").textContent = ci > 1
    ? `its input: channel ${channel} of ${ci}${layer.type === "Conv2D" ? " (the window reads all)" : ""} — hover`
    : "its input — hover to slide the window";
  const [, h, w] = layer.shape;
  paintMap($("cnn-output"), mapValues(layer, cnn.selected.channel), h, w, largest(layer.values));
  if (cnn.unit) outline(cnn.unit);
}

// The unit's window on the input and its cell on the map, as frames.
function outline(unit) {
  const input = layerInput();
  const [, hi, wi] = input.shape;
  frame($("cnn-input"), unit.rows, unit.columns, hi, wi);
  const [, h, w] = selectedLayer().shape;
  frame($("cnn-output"), [unit.i, unit.i + 1], [unit.j, unit.j + 1], h, w);
}

function frame(canvas, rows, columns, h, w) {
  const context = canvas.getContext("2d");
  const sy = canvas.height / h;
  const sx = canvas.width / w;
  context.strokeStyle = "#111827";
  context.lineWidth = 2;
  context.strokeRect(columns[0] * sx + 1, rows[0] * sy + 1,
    (columns[1] - columns[0]) * sx - 2, (rows[1] - rows[0]) * sy - 2);
}

function requestUnit(i, j) {
  if (!cnn.selected || !lab.last) return;
  const body = { layer: cnn.selected.layer, channel: cnn.selected.channel, i, j,
    input: lab.last.input };
  single("unit", body, "/api/conv/unit", showUnit);
}

// The unit under the pointer: over the map, that cell; over the input, the unit whose window
// is centred there (clamped to the map).
function hover(event, onInput) {
  if (!cnn.selected || !cnn.maps) return;
  const layer = selectedLayer();
  const canvas = event.currentTarget;
  const box = canvas.getBoundingClientRect();
  const source = onInput ? layerInput() : layer;
  const [, hs, ws] = source.shape;
  const r = Math.floor(((event.clientY - box.top) / box.height) * hs);
  const c = Math.floor(((event.clientX - box.left) / box.width) * ws);
  let i = r;
  let j = c;
  if (onInput && layer.kernel_size) {
    const [kh, kw] = layer.kernel_size;
    const [sh, sw] = layer.stride;
    const [top, , left] = layer.padding || [0, 0, 0, 0];
    i = Math.round((r + top - (kh - 1) / 2) / sh);
    j = Math.round((c + left - (kw - 1) / 2) / sw);
  }
  const [, h, w] = layer.shape;
  i = Math.max(0, Math.min(h - 1, i));
  j = Math.max(0, Math.min(w - 1, j));
  if (cnn.unit && cnn.unit.i === i && cnn.unit.j === j) return;
  requestUnit(i, j);
}

$("cnn-input").addEventListener("mousemove", (event) => hover(event, true));
$("cnn-output").addEventListener("mousemove", (event) => hover(event, false));

function showUnit(unit) {
  if (!cnn.selected || unit.index !== cnn.selected.layer || unit.channel !== cnn.selected.channel) {
    return; // an answer for a map no longer open
  }
  cnn.unit = unit;
  drawUnitViews();
  const conv = unit.kind === "conv";
  $("cnn-kernel").parentElement.hidden = !conv;
  if (conv) {
    const kernel = unit.kernel[0]; // (kh, kw) of the first input channel
    const flat = kernel.flat();
    paintMap($("cnn-kernel"), flat, kernel.length, kernel[0].length, largest(unit.kernel.flat(2)));
    $("cnn-kernel-caption").textContent = unit.kernel.length > 1
      ? `kernel, channel 0 of ${unit.kernel.length}` : "the filter's kernel K";
  }
  const rows = $("cnn-numbers").rows;
  rows[0].hidden = rows[1].hidden = !conv;
  rows[2].hidden = !("z" in unit);
  $("cnn-sum").textContent = conv ? fmt(unit.weighted_sum, 6) : "";
  $("cnn-bias").textContent = conv ? fmt(unit.bias, 6) : "";
  $("cnn-z").textContent = "z" in unit ? fmt(unit.z, 6) : "";
  $("cnn-f").textContent = conv ? `a = ${unit.activation}(z)`
    : unit.kind === "pool" ? `a = ${unit.op}(window)` : "a";
  $("cnn-a").textContent = fmt("a" in unit ? unit.a : unit.value, 6);
  $("cnn-formula").textContent = unit.formula;
  showTerms(unit);
}

function showTerms(unit) {
  const table = $("cnn-terms");
  table.replaceChildren();
  if (unit.kind !== "conv") return;
  const terms = [];
  unit.products.forEach((plane, c) => plane.forEach((line, a) => line.forEach((p, b) => {
    terms.push({ c, a, b, p, k: unit.kernel[c][a][b], x: unit.window[c][a][b] });
  })));
  terms.sort((s, t) => Math.abs(t.p) - Math.abs(s.p));
  const head = table.insertRow();
  for (const text of ["largest terms", "K", "x", "K·x"]) {
    const th = document.createElement("th");
    th.textContent = text;
    head.appendChild(th);
  }
  for (const t of terms.slice(0, UNIT_TERMS)) {
    const row = table.insertRow();
    const where = `c${t.c} (${unit.rows[0] + t.a}, ${unit.columns[0] + t.b})`;
    for (const text of [where, fmt(t.k), fmt(t.x), fmt(t.p)]) row.insertCell().textContent = text;
    row.cells[3].className = t.p >= 0 ? "pos" : "neg";
  }
}

if (lab.model) document.dispatchEvent(new CustomEvent("lab:model", { detail: lab.model }));
