// glassnet lab: the page. Plain JavaScript, no build step.
//
// The page draws; the server computes. Every number shown comes from the server's JSON API
// (see server.py): the drawing goes to /api/predict as grey levels and comes back as the
// 28×28 input the network saw plus every neuron's z and a; a clicked neuron comes from
// /api/neuron; training streams from /api/train/events, and while it runs the drawing goes to
// /api/train/predict, which answers with the newest snapshot of the network being trained.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";
const DRAWING_SIDE = 112; // the drawing is sent at 112×112 grey levels (the pad is 280×280)

// The page's state, also handy from the browser console (and for the end-to-end test).
const lab = {
  model: null, // GET /api/model
  last: null, // the last /api/predict answer
  predictions: 0,
  selected: null, // {layer, index}
  neuron: null, // the last /api/neuron answer
  layout: null,
  training: {
    events: null, total: 0, loss: [], acc: [], valLoss: [], valAcc: [],
    health: {}, // layer name → [[step, mean ‖∂L/∂θ‖]] (the gradient-health chart)
    ratio: {}, // layer name → the last epoch's update/weight ratio ‖Δθ‖/‖θ‖
    snapshot: 0, // the newest snapshot frame of the run in progress (0: none, the page's model)
    refused: false, // the network being trained cannot take this page's input
  },
};
window.lab = lab;

// ------------------------------------------------------------------------------ helpers

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  let data;
  try {
    data = await response.json();
  } catch {
    data = { error: `The server answered ${response.status} without JSON.` };
  }
  if (!response.ok) {
    const error = new Error(data.error || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function svg(tag, attributes, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function fmt(value, digits = 4) {
  if (value === null || value === undefined) return "–";
  if (value === 0) return "0";
  const size = Math.abs(value);
  if (size >= 1e4 || size < 1e-3) return value.toExponential(digits - 1);
  return String(Number(value.toPrecision(digits)));
}

function notify(message, isError = false) {
  const box = $("notice");
  box.textContent = message;
  box.classList.toggle("error", isError);
  box.hidden = !message;
}

const mix = (a, b, t) => a.map((v, i) => Math.round(v + (b[i] - v) * t));
const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;
const WHITE = [255, 255, 255];
const BLUE = [37, 99, 235];
const ORANGE = [228, 87, 46];

// A weight or contribution t in [−1, 1]: blue for positive, orange for negative, white for 0.
function diverging(t) {
  const s = Math.min(1, Math.abs(t));
  return mix(WHITE, t >= 0 ? BLUE : ORANGE, s);
}

// An activation, brightness t in [0, 1] (negative values, from tanh, in blue).
function glow(t) {
  if (t < 0) return mix([243, 244, 246], [147, 197, 253], Math.min(1, -t));
  const s = Math.min(1, t);
  return s < 0.5
    ? mix([243, 244, 246], [253, 224, 71], s * 2)
    : mix([253, 224, 71], [245, 158, 11], (s - 0.5) * 2);
}

// Activation values as brightness: bounded functions as they are, others scaled by the layer.
function brightness(values, activation) {
  if (["sigmoid", "softmax", "tanh", "step"].includes(activation)) return values;
  const top = Math.max(1e-9, ...values.map(Math.abs));
  return values.map((v) => v / top);
}

function paintPicture(canvas, values, colour) {
  const side = canvas.width;
  const context = canvas.getContext("2d");
  const image = context.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const c = colour(values[i]);
    image.data.set([c[0], c[1], c[2], 255], i * 4);
  }
  context.putImageData(image, 0, 0);
}

const grey = (v) => { const g = Math.round(Math.max(0, Math.min(1, v)) * 255); return [g, g, g]; };

// ------------------------------------------------------------------------------ the model

async function loadModel() {
  lab.model = await api("/api/model");
  const m = lab.model;
  $("model-name").textContent = m.trained ? m.name : "untrained: random weights";
  $("model-name").classList.toggle("untrained", !m.trained);
  $("model-sizes").textContent =
    `${m.sizes.join("-")} · ${m.layers.map((l) => l.activation).join(", ")} · ` +
    `${m.n_parameters.toLocaleString()} parameters`;
  $("draw-area").hidden = !m.image;
  $("numbers-area").hidden = !!m.image;
  $("draw-title").textContent = m.image ? "1 · Draw" : "1 · Input";
  const digits = !m.class_names || m.class_names.every((name) => /^\d$/.test(name));
  $("draw-hint").textContent = digits
    ? "Draw a digit with the mouse or a finger."
    : `Draw one of: ${m.class_names.join(", ")}.`;
  if (!m.image) {
    $("numbers-why").textContent = m.limits[0];
    if (!$("numbers").value) $("numbers").value = new Array(m.n_inputs).fill(0).join(", ");
  }
  buildRowForm(m.table);
  $("upload-area").hidden = !m.upload;
  $("numbers").hidden = !!m.table;
  lab.picture = null;
  const limits = $("limits");
  limits.replaceChildren(...m.limits.map((text) => {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }));
  if (m.first_layer) showFilters(m.first_layer);
  lab.selected = null;
  lab.last = null;
  $("neuron").hidden = true;
  $("neuron-empty").hidden = false;
  buildNetwork();
  document.dispatchEvent(new CustomEvent("lab:model", { detail: m })); // cnn.js
}

// ------------------------------------------------------------------------------ drawing

const pad = $("pad");
const padContext = pad.getContext("2d");
const small = document.createElement("canvas");
small.width = small.height = DRAWING_SIDE;
let pen = null;

function clearPad() {
  padContext.fillStyle = "#000";
  padContext.fillRect(0, 0, pad.width, pad.height);
  requestPredict();
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return [
    ((event.clientX - box.left) * pad.width) / box.width,
    ((event.clientY - box.top) * pad.height) / box.height,
  ];
}

function stroke(from, to) {
  padContext.strokeStyle = "#fff";
  padContext.lineCap = "round";
  padContext.lineJoin = "round";
  padContext.lineWidth = Number($("brush").value);
  padContext.beginPath();
  padContext.moveTo(from[0], from[1]);
  padContext.lineTo(to[0], to[1]);
  padContext.stroke();
  requestPredict();
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  pen = padPoint(event);
  stroke(pen, pen);
});
pad.addEventListener("pointermove", (event) => {
  if (!pen) return;
  const point = padPoint(event);
  stroke(pen, point);
  pen = point;
});
for (const kind of ["pointerup", "pointercancel"]) {
  pad.addEventListener(kind, () => { pen = null; });
}
$("clear").addEventListener("click", clearPad);

// The drawing as the API takes it: ink levels 0–255, row by row, base64.
function drawingPayload() {
  const context = small.getContext("2d", { willReadFrequently: true });
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  context.drawImage(pad, 0, 0, DRAWING_SIDE, DRAWING_SIDE);
  const rgba = context.getImageData(0, 0, DRAWING_SIDE, DRAWING_SIDE).data;
  const levels = new Uint8Array(DRAWING_SIDE * DRAWING_SIDE);
  for (let i = 0; i < levels.length; i++) levels[i] = rgba[i * 4];
  let text = "";
  for (let i = 0; i < levels.length; i += 0x4000) {
    text += String.fromCharCode.apply(null, levels.subarray(i, i + 0x4000));
  }
  return { width: DRAWING_SIDE, height: DRAWING_SIDE, data: btoa(text) };
}

// A table model: one field per column, by name (a list of its levels for a text column).
function buildRowForm(table) {
  const form = $("row-form");
  form.hidden = !table;
  form.replaceChildren();
  if (!table) return;
  for (const column of table.columns) {
    const label = document.createElement("label");
    label.textContent = column + " ";
    const levels = table.categories[column];
    let field;
    if (levels) {
      field = document.createElement("select");
      for (const level of levels) {
        const option = document.createElement("option");
        option.value = level;
        option.textContent = level;
        field.append(option);
      }
    } else {
      field = document.createElement("input");
      field.type = "number";
      field.step = "any";
      field.value = "0";
    }
    field.dataset.column = column;
    label.append(field);
    form.append(label);
  }
}

function rowPayload() {
  const row = {};
  for (const field of $("row-form").querySelectorAll("[data-column]")) {
    row[field.dataset.column] = field.tagName === "SELECT" ? field.value : Number(field.value);
  }
  return row;
}

// An uploaded picture, sent at its own size (at most 1024 px a side) as grey or RGB bytes;
// the server resizes and converts it as the model's training images were.
$("upload").addEventListener("change", async () => {
  const file = $("upload").files[0];
  if (!file || !lab.model || !lab.model.upload) return;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, 1024 / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    context.drawImage(bitmap, 0, 0, width, height);
    const rgba = context.getImageData(0, 0, width, height).data;
    const channels = lab.model.upload.color === "rgb" ? 3 : 1;
    const bytes = new Uint8Array(width * height * channels);
    for (let i = 0; i < width * height; i++) {
      if (channels === 3) {
        bytes[3 * i] = rgba[4 * i]; bytes[3 * i + 1] = rgba[4 * i + 1]; bytes[3 * i + 2] = rgba[4 * i + 2];
      } else {
        bytes[i] = Math.round(0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]);
      }
    }
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x4000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x4000));
    }
    lab.picture = { width, height, channels, data: btoa(text) };
    requestPredict();
  } catch (error) {
    notify(`Cannot read that picture: ${error.message}`, true);
  }
});

function numbersPayload() {
  const values = $("numbers").value.split(/[\s,;]+/).filter(Boolean).map(Number);
  return values;
}
$("run-numbers").addEventListener("click", () => requestPredict());

// ------------------------------------------------------------------------------ predicting

// One request at a time; while one is out, the newest drawing waits (older ones are dropped).
let inFlight = false;
let again = false;

function requestPredict() {
  if (!lab.model) return;
  if (inFlight) { again = true; return; }
  inFlight = true;
  again = false;
  predict()
    .catch((error) => notify(error.message, true))
    .finally(() => {
      inFlight = false;
      if (again) requestPredict();
    });
}

async function predict() {
  const m = lab.model;
  const body = m.image ? { image: drawingPayload() }
    : m.table ? { row: rowPayload() }
    : lab.picture ? { picture: lab.picture }
    : { input: numbersPayload() };
  const t = lab.training;
  if (t.snapshot && !t.refused) {
    // Training runs: the same input through the network being trained, as it is now.
    let result;
    try {
      result = await api("/api/train/predict", body);
    } catch (error) {
      if (error.status !== 422 && error.status !== 409) throw error;
      t.refused = true; // e.g. a table model's row and a digit network: keep the page's model
      notify(`The network being trained cannot take this input (${error.message}) ` +
        "The view shows the loaded model until training ends.");
      again = true;
      return;
    }
    if (!t.snapshot) { again = true; return; } // the run ended meanwhile: the page's model
    showLive(result);
    return;
  }
  const result = await api("/api/predict", body);
  if (result.model_version !== lab.model.version) {
    await loadModel(); // a training run has finished: redraw the new network, then predict
    again = true;
    return;
  }
  notify("");
  lab.last = result;
  lab.predictions += 1;
  render(result);
  document.dispatchEvent(new CustomEvent("lab:predicted", { detail: result })); // cnn.js
  if (lab.selected) requestNeuron();
}

// A live answer: the network view takes the snapshot's weights (and sizes) and its trace.
function showLive(result) {
  // a version of its own, never equal to the page's model's (whose answers are told apart by it)
  const info = { ...result.model, live: result.live, version: `live ${result.live.frame}` };
  lab.model = info;
  $("model-name").textContent = `training… step ${result.live.step.toLocaleString()}`;
  $("model-name").classList.remove("untrained");
  $("model-sizes").textContent = `${info.sizes.join("-")} · the network being trained, ` +
    `snapshot ${result.live.frame}`;
  notify("");
  lab.last = result;
  lab.predictions += 1;
  buildNetwork(); // its connections carry the snapshot's weights; draws lab.last
}

// True when no prediction or neuron request is out or waiting (the end-to-end test uses it).
lab.idle = () => !inFlight && !again && !neuronInFlight && !neuronAgain;

// ------------------------------------------------------------------------------ the network

function columnPositions(n, x, top, bottom, maxWidth = 120) {
  // One column of circles when they fit, else a compact grid of small squares at most maxWidth
  // wide (so that a wide layer never runs into its neighbours or off the picture).
  const height = bottom - top;
  const spacing = height / n;
  if (spacing >= 13) {
    const r = Math.min(13, spacing * 0.36);
    const at = Array.from({ length: n }, (_, i) => [x, top + spacing * (i + 0.5)]);
    return { shape: "circle", r, at, width: 2 * r };
  }
  // The largest step (at most 10 px) whose grid fits in maxWidth × height.
  let step = Math.min(10, Math.sqrt((Math.max(4, maxWidth) * height) / n));
  let columns = 1;
  for (let tries = 0; tries < 200; tries++) {
    const perColumn = Math.max(1, Math.floor(height / step));
    columns = Math.ceil(n / perColumn);
    if (columns * step <= Math.max(4, maxWidth)) break;
    step *= 0.95;
  }
  const rows = Math.ceil(n / columns);
  const y0 = top + (height - rows * step) / 2;
  const x0 = x - ((columns - 1) * step) / 2;
  return {
    shape: "rect",
    r: step * 0.4,
    width: columns * step,
    at: Array.from({ length: n }, (_, i) => [
      x0 + (i % columns) * step,
      y0 + Math.floor(i / columns) * step + step / 2,
    ]),
  };
}

function buildNetwork() {
  const m = lab.model;
  const root = $("net");
  root.replaceChildren();
  const width = root.clientWidth || 760;
  const height = root.clientHeight || 540;
  root.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const top = 52;
  const bottom = height - 12;
  const classify = m.task === "classification";
  const longest = Math.max(1, ...(m.class_names || ["#00"]).map((n) => String(n).length));
  const outputRoom = classify ? 130 + Math.min(96, 10 + 7.5 * longest) : 90;
  const picture = inputPicture(m);
  const imageSize = picture ? Math.min(168, (bottom - top) * 0.45) : 0;
  // Room for the input column: the picture, one column of circles, or a grid of squares.
  const inputRoom = picture
    ? imageSize * (picture.width / Math.max(picture.width, picture.height))
    : (bottom - top) / m.n_inputs >= 13 ? 50 : Math.min(150, Math.max(50, width * 0.16));
  const left = 16 + inputRoom + 8;
  const right = width - outputRoom;
  const gap = (right - left) / m.layers.length;

  const layout = { columns: [], links: [], live: null, outputs: [] };
  const linkGroup = svg("g", {}, root);
  const liveGroup = svg("g", {}, root);
  const nodeGroup = svg("g", {}, root);
  const titles = svg("g", {}, root);

  // Column 0: the input, as the picture the network sees or as nodes.
  const inputX = 16 + inputRoom / 2;
  if (picture) {
    const x = 16;
    const boxW = inputRoom;
    const boxH = imageSize * (picture.height / Math.max(picture.width, picture.height));
    const y = (top + bottom) / 2 - boxH / 2;
    const cell = boxW / picture.width;
    if (m.image) layout.image = { x, y, size: imageSize, side: m.image.width };
    layout.picture = picture;
    layout.imageElement = svg("image", {
      x, y, width: boxW, height: boxH, preserveAspectRatio: "none",
      class: m.image ? "" : "input-picture", // an upload model's small picture: crisp pixels
    }, nodeGroup);
    svg("rect", { x, y, width: boxW, height: boxH, class: "input-frame" }, nodeGroup);
    // Input i is pixel ⌊i / channels⌋ (the values are pixel by pixel, row by row, h × w × c).
    const at = Array.from({ length: m.n_inputs }, (_, i) => {
      const p = Math.floor(i / picture.channels);
      return [x + ((p % picture.width) + 0.5) * cell, y + (Math.floor(p / picture.width) + 0.5) * cell];
    });
    layout.columns.push({ shape: "picture", r: cell / 2, at, width: boxW });
    const channels = picture.channels === 3 ? "×3" : "";
    const shape = `${picture.height}×${picture.width}${channels} = ${m.n_inputs}`;
    title(titles, inputX, "Input", shape, inputRoom + 16);
  } else {
    const column = columnPositions(m.n_inputs, inputX, top, bottom, inputRoom);
    column.nodes = column.at.map(([cx, cy]) => node(nodeGroup, column, cx, cy, null, null));
    const names = inputNames(m);
    if (names) {
      column.nodes.forEach((n, i) => {
        svg("title", {}, n.g).textContent = `input ${i}: ${names[i]}`;
      });
    }
    layout.columns.push(column);
    title(titles, inputX, "Input", `${m.n_inputs} values`, inputRoom + 16);
  }

  // Columns 1…: the layers of neurons.
  m.layers.forEach((layer, l) => {
    const x = left + gap * (l + 0.5);
    const column = columnPositions(layer.n_neurons, x, top, bottom, gap * 0.7);
    column.nodes = column.at.map(([cx, cy], j) => node(nodeGroup, column, cx, cy, l, j));
    layout.columns.push(column);
    const last = l === m.layers.length - 1;
    const what = `${layer.n_neurons} · ${layer.activation}`;
    title(titles, x, last ? "Output" : `Hidden ${l + 1}`, what, gap - 8);
  });

  // The connections between columns: fixed weights, brightened by the signal flowing in.
  m.layers.forEach((layer, l) => {
    const links = m.links[l];
    if (links.live) return;
    const from = layout.columns[l];
    const to = layout.columns[l + 1];
    const lines = links.from.map((i, k) => {
      const [x1, y1] = from.at[i];
      const [x2, y2] = to.at[links.to[k]];
      const strength = Math.abs(links.w[k]) / (links.max_abs || 1);
      const line = svg("line", {
        x1, y1, x2, y2,
        stroke: links.w[k] >= 0 ? "#2563eb" : "#e4572e",
        "stroke-width": (0.4 + 2.4 * strength).toFixed(2),
        "stroke-opacity": (0.1 + 0.5 * strength).toFixed(3),
      }, linkGroup);
      return { line, source: i, strength };
    });
    layout.links[l] = lines;
  });
  layout.live = liveGroup;

  // Class names, probability bars and values beside the output neurons.
  const out = layout.columns[layout.columns.length - 1];
  const names = out.at.map((_, j) => {
    if (m.class_names && m.class_names[j] !== undefined) return String(m.class_names[j]);
    if (!classify) return out.at.length === 1 ? "value" : `y${j}`;
    return `#${j}`;
  });
  const labelWidth = Math.min(96, 10 + 7.5 * Math.max(...names.map((n) => n.length)));
  out.at.forEach(([x, y], j) => {
    if (out.shape !== "circle") return;
    const lx = x + out.r + 8;
    const label = svg("text", { x: lx, y, class: "class-label" }, titles);
    label.textContent = names[j];
    const barX = lx + labelWidth;
    const entry = { label };
    if (classify) {
      svg("rect", { x: barX, y: y - 5, width: 60, height: 10, rx: 3, class: "bar-bg" }, titles);
      const bar = { x: barX, y: y - 5, width: 0, height: 10, rx: 3, class: "bar" };
      entry.bar = svg("rect", bar, titles);
      entry.percent = svg("text", { x: barX + 64, y, class: "percent" }, titles);
    } else {
      entry.percent = svg("text", { x: barX, y, class: "percent" }, titles);
    }
    layout.outputs.push(entry);
  });
  lab.layout = layout;
  if (lab.last) render(lab.last);
}

// A column's title, squeezed into maxWidth so that neighbouring titles never overlap.
function title(group, x, text, subtext, maxWidth = Infinity) {
  for (const [y, kind, words] of [[18, "title", text], [34, "subtitle", subtext]]) {
    const line = svg("text", { x, y, class: kind }, group);
    line.textContent = words;
    const room = Math.max(24, Math.min(maxWidth, 2 * x - 4)); // never past the left edge
    if (line.getComputedTextLength && line.getComputedTextLength() > room) {
      line.setAttribute("textLength", room.toFixed(1));
      line.setAttribute("lengthAdjust", "spacingAndGlyphs");
    }
  }
}

// The input as a picture: a drawing pad model's 28×28, or an image model's h × w (× 3).
function inputPicture(m) {
  if (m.image) return { height: m.image.height, width: m.image.width, channels: 1 };
  if (!m.upload) return null;
  const channels = m.upload.color === "rgb" ? 3 : 1;
  const picture = { height: m.upload.height, width: m.upload.width, channels };
  return picture.height * picture.width * channels === m.n_inputs ? picture : null;
}

// A table model's input names when each input is one column (else the inputs are encoded).
function inputNames(m) {
  const columns = m.table && m.table.columns;
  return columns && columns.length === m.n_inputs ? columns : null;
}

// The input values (0–1) painted as the picture they are, as a data URL for the network view.
function pictureURL(values, picture) {
  const { width, height, channels } = picture;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  const level = (v) => Math.round(255 * Math.max(0, Math.min(1, v)));
  for (let p = 0; p < width * height; p++) {
    const k = p * channels;
    const r = level(values[k]);
    const g = channels === 3 ? level(values[k + 1]) : r;
    const b = channels === 3 ? level(values[k + 2]) : r;
    image.data.set([r, g, b, 255], p * 4);
  }
  context.putImageData(image, 0, 0);
  return canvas.toDataURL();
}

function node(group, column, x, y, layer, index) {
  const g = svg("g", { class: layer === null ? "input-node" : "neuron" }, group);
  const r = column.r;
  const shape = column.shape === "circle"
    ? svg("circle", { cx: x, cy: y, r, fill: rgb(glow(0)) }, g)
    : svg("rect", { x: x - r, y: y - r, width: 2 * r, height: 2 * r, fill: rgb(glow(0)) }, g);
  const text = r >= 10 ? svg("text", { x, y: y + 3 }, g) : null;
  if (layer !== null) {
    g.dataset.layer = layer;
    g.dataset.index = index;
    g.addEventListener("click", () => selectNeuron(layer, index));
    const where = layer === lab.model.layers.length - 1 ? "output" : `hidden ${layer + 1}`;
    svg("title", {}, g).textContent = `${where} neuron ${index}: click to open`;
  }
  return { g, shape, text };
}

function render(result) {
  const m = lab.model;
  const layout = lab.layout;
  if (!layout) return;

  // The input the network saw, beside the pad and as the network's first column.
  if (m.image) {
    const seen = $("seen");
    paintPicture(seen, result.input, grey);
    layout.imageElement.setAttribute("href", seen.toDataURL());
  } else if (layout.picture) {
    layout.imageElement.setAttribute("href", pictureURL(result.input, layout.picture));
  } else {
    const values = brightness(result.input, "relu");
    layout.columns[0].nodes.forEach((n, i) => {
      n.shape.setAttribute("fill", rgb(glow(values[i])));
      if (n.text) n.text.textContent = fmt(result.input[i], 2);
    });
  }

  // Neurons glow with their activation a.
  const lit = result.layers.map((layer) => brightness(layer.a, layer.activation));
  result.layers.forEach((layer, l) => {
    layout.columns[l + 1].nodes.forEach((n, j) => {
      n.shape.setAttribute("fill", rgb(glow(lit[l][j])));
      const a = layer.a[j];
      if (n.text) n.text.textContent = Math.abs(a) < 10 ? a.toFixed(2) : fmt(a, 2);
    });
  });

  // Fixed connections: brighter when their source neuron is active.
  layout.links.forEach((lines, l) => {
    if (!lines) return;
    const source = l === 0 ? brightness(result.input, "relu") : lit[l - 1];
    for (const { line, source: i, strength } of lines) {
      const signal = 0.25 + 0.75 * Math.min(1, Math.abs(source[i]));
      line.setAttribute("stroke-opacity", (0.06 + 0.7 * strength * signal).toFixed(3));
    }
  });

  // Live connections from the picture: each first-layer neuron's strongest inputs right now,
  // with their strength in percent of the strongest (signed like the weight).
  layout.live.replaceChildren();
  if (result.live_links && layout.image) {
    const { x, y, size, side } = layout.image;
    const cell = size / side;
    const target = layout.columns[1];
    result.live_links.from.forEach((pixels, j) => {
      const [x2, y2] = target.at[j];
      pixels.forEach((p, k) => {
        const percent = result.live_links.strength[j][k];
        const strength = Math.abs(percent) / 100;
        svg("line", {
          x1: x + ((p % side) + 0.5) * cell,
          y1: y + (Math.floor(p / side) + 0.5) * cell,
          x2, y2,
          stroke: percent >= 0 ? "#2563eb" : "#e4572e",
          "stroke-width": (0.5 + 2.5 * strength).toFixed(2),
          "stroke-opacity": (0.15 + 0.65 * strength).toFixed(3),
        }, layout.live);
      });
    });
  }

  // The output: probabilities as bars, the prediction in words.
  const output = result.output;
  const classify = m.task === "classification";
  const best = classify ? output.indexOf(Math.max(...output)) : -1;
  layout.outputs.forEach((entry, j) => {
    entry.label.classList.toggle("win", j === best && !result.blank);
    if (entry.bar) {
      entry.bar.setAttribute("width", (60 * output[j]).toFixed(1));
      entry.bar.classList.toggle("win", j === best && !result.blank);
      entry.percent.textContent = `${(100 * output[j]).toFixed(1)}%`;
    } else {
      entry.percent.textContent = fmt(output[j]);
    }
  });
  const prediction = $("prediction");
  const confidence = $("confidence");
  if (result.blank && m.image) {
    prediction.textContent = "–";
    confidence.textContent = "draw to see what the network thinks";
  } else if (classify && m.output === "softmax") {
    prediction.textContent = result.label !== null ? result.label : String(result.prediction);
    confidence.textContent = `${(100 * output[best]).toFixed(1)}% sure`;
  } else if (classify && output.length === 1) {
    // One sigmoid output p: the verdict is class 1 when p > ½, with p (or 1 − p) as its certainty.
    const yes = output[0] > 0.5;
    prediction.textContent = result.label !== null ? result.label : (yes ? "1" : "0");
    const names = m.class_names || ["0", "1"];
    confidence.textContent =
      `${(100 * (yes ? output[0] : 1 - output[0])).toFixed(1)}% sure ` +
      `(output ${fmt(output[0])}; above ½ means ${names[1]})`;
  } else if (classify) {
    prediction.textContent = JSON.stringify(result.prediction);
    confidence.textContent = "sigmoid outputs above ½ count as yes";
  } else {
    prediction.textContent = output.length === 1 ? fmt(output[0]) : "…";
    confidence.textContent = "the network's output value";
  }
  prediction.classList.toggle("long", prediction.textContent.length > 3);
  prediction.dataset.prediction = JSON.stringify(result.prediction);
}

// ------------------------------------------------------------------------------ one neuron

let neuronInFlight = false;
let neuronAgain = false;

function selectNeuron(layer, index) {
  lab.selected = { layer, index };
  document.querySelectorAll("#net .neuron.selected").forEach((g) => g.classList.remove("selected"));
  lab.layout.columns[layer + 1].nodes[index].g.classList.add("selected");
  requestNeuron();
}

function requestNeuron() {
  if (lab.model && lab.model.live) {
    // /api/neuron reads the page's model, not the snapshot the view shows while training
    notify("Neurons open on the page's model: open one again when training has ended.");
    return;
  }
  if (neuronInFlight) { neuronAgain = true; return; }
  neuronInFlight = true;
  neuronAgain = false;
  const { layer, index } = lab.selected;
  const body = { layer, index };
  if (lab.last) body.input = lab.last.input;
  api("/api/neuron", body)
    .then((data) => {
      if (lab.selected && data.layer === lab.selected.layer && data.index === lab.selected.index) {
        lab.neuron = data;
        showNeuron(data);
      }
    })
    .catch((error) => notify(error.message, true))
    .finally(() => {
      neuronInFlight = false;
      if (neuronAgain && lab.selected) requestNeuron();
    });
}

function showNeuron(data) {
  const m = lab.model;
  const last = data.layer === m.layers.length - 1;
  $("neuron-empty").hidden = true;
  $("neuron").hidden = false;
  $("neuron-name").textContent = last
    ? `Output neuron ${data.index}${data.label !== null ? ` · “${data.label}”` : ""}`
    : `Hidden layer ${data.layer + 1} · neuron ${data.index}`;
  $("n-bias").textContent = fmt(data.bias, 6);
  $("n-sum").textContent = fmt(data.weighted_sum, 6);
  $("n-z").textContent = fmt(data.z, 6);
  $("n-f").textContent = data.activation === "softmax"
    ? "a = softmax(z)ᵢ"
    : `a = ${data.activation}(z)`;
  $("n-a").textContent = fmt(data.a, 6);
  $("n-formula").textContent = data.formula;

  const pictures = $("n-pictures");
  pictures.hidden = !data.picture;
  if (data.picture) {
    const w = data.weights;
    const wTop = Math.max(1e-9, ...w.map(Math.abs));
    paintPicture($("n-weights"), w.map((v) => v / wTop), diverging);
    const x = lab.last ? lab.last.input : new Array(w.length).fill(0);
    const products = w.map((v, i) => v * x[i]);
    const pTop = Math.max(1e-9, ...products.map(Math.abs));
    paintPicture($("n-products"), products.map((v) => v / pTop), diverging);
  }

  const table = $("n-terms");
  table.replaceChildren();
  if (!data.terms) return;
  const head = table.insertRow();
  for (const text of ["largest terms", "wᵢ", "xᵢ", "wᵢ·xᵢ"]) {
    const th = document.createElement("th");
    th.textContent = text;
    head.appendChild(th);
  }
  const side = data.picture ? data.picture.width : 0;
  for (const term of data.terms) {
    const row = table.insertRow();
    const source = side
      ? `pixel (${Math.floor(term.input / side)}, ${term.input % side})`
      : `${data.layer === 0 ? "input" : `hidden ${data.layer}`} #${term.input}`;
    for (const text of [source, fmt(term.weight), fmt(term.x), fmt(term.product)]) {
      row.insertCell().textContent = text;
    }
    row.cells[3].className = term.product >= 0 ? "pos" : "neg";
  }
  if (data.rest.count) {
    const row = table.insertRow();
    row.insertCell().textContent = `${data.rest.count} more terms`;
    row.insertCell();
    row.insertCell();
    row.insertCell().textContent = fmt(data.rest.sum);
  }
}

// ------------------------------------------------------------------------------ training

function trainingSettings() {
  const settings = {
    dataset: $("t-dataset").value,
    activation: $("t-activation").value,
    epochs: Number($("t-epochs").value),
    samples: Number($("t-samples").value),
    learning_rate: Number($("t-lr").value),
    batch_size: Number($("t-batch").value),
  };
  const arch = $("t-arch") ? $("t-arch").value.trim() : "";
  if ($("t-current").checked) {
    settings.hidden = "current";
  } else if (arch) {
    settings.arch = arch; // a new CNN (cnn.js's form field); the hidden sizes are not used
  } else {
    const text = $("t-hidden").value.trim();
    settings.hidden = text ? text.split(/[\s,]+/).filter(Boolean).map(Number) : [];
  }
  return settings;
}

$("train-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("/api/train", trainingSettings());
    listenToTraining();
  } catch (error) {
    setStatus(error.message, "failed");
  }
});

$("t-stop").addEventListener("click", async () => {
  try {
    const answer = await api("/api/train/stop", {});
    setStatus(answer.message, answer.stopping ? "running" : "");
  } catch (error) {
    setStatus(error.message, "failed");
  }
});

function setStatus(text, kind) {
  const status = $("t-status");
  status.textContent = text;
  status.className = `status ${kind || "muted"}`;
}

function setRunning(running) {
  $("t-start").disabled = running;
  $("t-stop").disabled = !running;
}

function listenToTraining() {
  const t = lab.training;
  if (t.events) t.events.close();
  t.total = 0;
  t.loss = []; t.acc = []; t.valLoss = []; t.valAcc = [];
  t.health = {}; t.ratio = {};
  t.epochs = 0; t.batches = 0;
  t.snapshot = 0; t.refused = false;
  setRunning(true);
  const events = new EventSource("/api/train/events");
  t.events = events;
  const on = (kind, handle) => events.addEventListener(kind, (e) => handle(JSON.parse(e.data)));
  on("status", (m) => {
    setStatus(m.message || m.status, m.status === "idle" ? "" : "running");
    if (m.status === "idle") { events.close(); setRunning(false); }
  });
  on("start", (m) => {
    t.epochs = m.epochs; t.batches = m.batches; t.total = m.epochs * m.batches;
    const held = m.validation_samples.toLocaleString();
    const note = m.note ? ` ${m.note}` : "";
    setStatus(`Training ${m.architecture.join("-")} on ${m.samples.toLocaleString()} images` +
      ` (${held} held out).${note}`, "running");
    drawCharts();
  });
  on("batch", (m) => {
    t.loss.push([m.step, m.loss]);
    t.acc.push([m.step, m.accuracy]);
    for (const [name, norm] of Object.entries(m.grad_norm || {})) {
      if (norm === null || !(norm > 0)) continue; // log scale: a zero gradient is not drawn
      (t.health[name] = t.health[name] || []).push([m.step, norm]);
    }
    setStatus(`Epoch ${m.epoch + 1}/${t.epochs} · batch ${m.batch + 1}/${t.batches} · ` +
      `loss ${fmt(m.loss, 3)} · accuracy ${(100 * m.accuracy).toFixed(1)}%`, "running");
    scheduleCharts();
  });
  on("epoch", (m) => {
    if (m.val_loss !== undefined) t.valLoss.push([m.step, m.val_loss]);
    if (m.val_accuracy !== undefined) t.valAcc.push([m.step, m.val_accuracy]);
    if (m.health && m.health.update_ratio) t.ratio = m.health.update_ratio;
    const val = m.val_accuracy !== undefined
      ? ` · validation accuracy ${(100 * m.val_accuracy).toFixed(1)}%` : "";
    setStatus(`Epoch ${m.epoch + 1}/${t.epochs} done · loss ${fmt(m.loss, 3)}${val}`, "running");
    scheduleCharts();
  });
  on("weights", showFilters);
  on("snapshot", (m) => {
    // New weights of the network being trained: run the page's input through them.
    if (t.refused) return;
    t.snapshot = m.frame;
    requestPredict();
  });
  on("end", async (m) => {
    events.close();
    t.events = null;
    t.snapshot = 0;
    t.refused = false;
    const live = !!(lab.model && lab.model.live); // the view shows a snapshot, not the model
    setRunning(false);
    setStatus(m.message, m.status === "failed" ? "failed" : "");
    if (m.status === "stopped") {
      // A stopped run's model replaces the loaded one only if the user says so.
      const use = window.confirm("Training was stopped. Use the partly trained model instead of the one the page has?");
      if (!use) {
        if (live) { await loadModel(); requestPredict(); } // back to the page's model
        return;
      }
      try {
        await api("/api/train/use", {});
        setStatus("The page now uses the partly trained model.", "");
      } catch (error) {
        setStatus(error.message, "failed");
        return;
      }
    }
    if (m.status !== "failed" || live) {
      await loadModel();
      requestPredict();
      if (m.status !== "failed") refreshModelList();
    }
  });
  events.onerror = () => {
    if (events.readyState === EventSource.CLOSED) setRunning(false);
  };
}

let chartsPending = false;
function scheduleCharts() {
  if (chartsPending) return;
  chartsPending = true;
  requestAnimationFrame(() => { chartsPending = false; drawCharts(); });
}

// A round axis from 0 up to at least `value`: steps of 1, 2, 2.5 or 5 × 10ᵏ, at most five.
function roundAxis(value) {
  const rough = value / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough);
  return [0, Math.ceil(value / step - 1e-9) * step, step];
}

function drawCharts() {
  const t = lab.training;
  const lossTop = Math.max(0.5, ...t.loss.map((p) => p[1]), ...t.valLoss.map((p) => p[1]));
  chart($("loss-chart"), t.total, roundAxis(lossTop), [
    { points: t.loss, colour: "#4f46e5" },
    { points: t.valLoss, colour: "#e4572e", dots: true },
  ]);
  chart($("acc-chart"), t.total, [0, 1, 0.25], [
    { points: t.acc, colour: "#4f46e5" },
    { points: t.valAcc, colour: "#e4572e", dots: true },
  ], (v) => `${Math.round(v * 100)}%`);
  drawHealth();
}

const HEALTH_COLOURS = ["#4f46e5", "#0891b2", "#16a34a", "#ca8a04", "#db2777", "#7c3aed", "#475569"];

// Gradient health: each layer's gradient norm ‖∂L/∂θ‖ on a log scale, input side first. Lines
// far below the others, towards the input, are vanishing gradients.
function drawHealth() {
  const t = lab.training;
  const names = Object.keys(t.health);
  const logs = names.flatMap((name) => t.health[name].map((p) => Math.log10(p[1])));
  const low = logs.length ? Math.floor(Math.min(...logs)) : -3;
  const high = logs.length ? Math.max(low + 1, Math.ceil(Math.max(...logs))) : 1;
  chart($("health-chart"), t.total, [low, high, Math.max(1, Math.ceil((high - low) / 5))],
    names.map((name, k) => ({
      points: t.health[name].map(([x, y]) => [x, Math.log10(y)]),
      colour: HEALTH_COLOURS[k % HEALTH_COLOURS.length],
    })), (v) => `1e${v}`);
  const key = $("health-key");
  key.replaceChildren(...names.map((name, k) => {
    const item = document.createElement("span");
    item.className = "key";
    item.style.color = HEALTH_COLOURS[k % HEALTH_COLOURS.length];
    const ratio = t.ratio[name];
    item.textContent = `━ ${name}` + (ratio ? ` (update/weight ${fmt(ratio, 2)})` : "");
    item.dataset.layer = name;
    return item;
  }));
}

function chart(canvas, xMax, [yMin, yMax, yStep], series, label = (v) => fmt(v, 2)) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== width * ratio) {
    canvas.width = width * ratio;
    canvas.height = height * ratio;
  }
  const c = canvas.getContext("2d");
  c.setTransform(ratio, 0, 0, ratio, 0, 0);
  c.clearRect(0, 0, width, height);
  const pad = { left: 38, right: 10, top: 10, bottom: 22 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const X = (x) => pad.left + (plotW * x) / Math.max(1, xMax);
  const Y = (y) => pad.top + plotH * (1 - (y - yMin) / (yMax - yMin));
  c.font = "10px system-ui, sans-serif";
  c.fillStyle = "#667085";
  c.strokeStyle = "#eef0f4";
  c.lineWidth = 1;
  for (let k = 0; yMin + k * yStep <= yMax + 1e-9; k++) {
    const v = yMin + k * yStep;
    c.beginPath();
    c.moveTo(pad.left, Y(v));
    c.lineTo(width - pad.right, Y(v));
    c.stroke();
    c.fillText(label(v), 4, Y(v) + 3);
  }
  c.fillText("steps →", width - pad.right - 40, height - 6);
  if (!xMax) {
    c.fillText("start training to see the curve", pad.left + 10, pad.top + plotH / 2);
    return;
  }
  for (const s of series) {
    c.strokeStyle = s.colour;
    c.fillStyle = s.colour;
    c.lineWidth = 1.6;
    if (s.dots) {
      for (const [x, y] of s.points) {
        c.beginPath();
        c.arc(X(x), Y(y), 3.2, 0, 2 * Math.PI);
        c.fill();
      }
    } else if (s.points.length) {
      c.beginPath();
      s.points.forEach(([x, y], i) => (i ? c.lineTo(X(x), Y(y)) : c.moveTo(X(x), Y(y))));
      c.stroke();
    }
  }
}

function showFilters(frame) {
  const box = $("filters");
  const side = Math.round(Math.sqrt(frame.n_inputs));
  if (side * side !== frame.n_inputs) {
    box.textContent = `The first layer takes ${frame.n_inputs} inputs, not a square picture.`;
    return;
  }
  if (box.children.length !== frame.shown || box.dataset.side !== String(side)) {
    box.replaceChildren();
    box.dataset.side = side;
    for (let j = 0; j < frame.shown; j++) {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = side;
      canvas.title = `hidden neuron ${j}`;
      box.appendChild(canvas);
    }
  }
  frame.levels.forEach((encoded, j) => {
    const bytes = Uint8Array.from(atob(encoded), (ch) => ch.charCodeAt(0));
    const levels = new Int8Array(bytes.buffer);
    paintPicture(box.children[j], Array.from(levels, (v) => v / 127), diverging);
  });
}

// ------------------------------------------------------------------------------ model files

$("save-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("save-name").value.trim();
  try {
    let answer;
    try {
      answer = await api("/api/models/save", { name });
    } catch (error) {
      if (error.status !== 409 || !window.confirm(`${error.message} Overwrite it?`)) throw error;
      answer = await api("/api/models/save", { name, overwrite: true });
    }
    $("save-status").textContent = `Saved as ${answer.saved}.`;
    refreshModelList();
  } catch (error) {
    $("save-status").textContent = error.message;
  }
});

$("load-name").addEventListener("change", async () => {
  const name = $("load-name").value;
  if (!name) return;
  try {
    await api("/api/models/load", { name });
    await loadModel();
    requestPredict();
    $("save-status").textContent = `Loaded ${name}.`;
  } catch (error) {
    $("save-status").textContent = error.message;
  }
  $("load-name").value = "";
});

async function refreshModelList() {
  try {
    const { models } = await api("/api/models");
    const select = $("load-name");
    select.replaceChildren(new Option(models.length ? "saved models…" : "no saved models", ""));
    for (const m of models) select.appendChild(new Option(m.name, m.name));
  } catch (error) {
    notify(error.message, true);
  }
}

// ------------------------------------------------------------------------------ start

async function start() {
  clearPadSilently();
  try {
    await loadModel();
  } catch (error) {
    notify(`Could not load the model: ${error.message}`, true);
    return;
  }
  requestPredict();
  drawCharts();
  refreshModelList();
  const status = await api("/api/train");
  if (["loading", "running", "stopping"].includes(status.status)) listenToTraining();
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(buildNetwork, 150);
  });
}

function clearPadSilently() {
  padContext.fillStyle = "#000";
  padContext.fillRect(0, 0, pad.width, pad.height);
}

start();
