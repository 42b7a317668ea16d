// glassnet lab: watching it learn (issue 13). Loaded after app.js, whose helpers it uses.
//
// - the backward view: choose the drawing's true label → /api/backward gives the loss, every
//   neuron's δ and the drawn connections' ∂L/∂w; clicking a connection or a neuron asks
//   /api/backward/explain for the chain rule with its numbers and the finite-difference check;
// - step by step: /api/steps/{start,step,undo}; after each answer the page's model is the
//   stepped one, so the network view and the drawing's prediction follow; Play repeats steps;
// - gradient health per step, and the one-click 6-layer sigmoid vs ReLU comparison;
// - the perceptron and XOR on 2-D toy data, the decision boundary redrawn as it trains.
"use strict";

const learn = {
  label: null, // the true label chosen for the drawing
  backward: null, // the last /api/backward answer
  explained: null, // the last /api/backward/explain answer
  steps: null, // the last /api/steps answer of the digits session
  toy: null, // ... of the toy session
  playing: false,
  toyPlaying: false,
  compare: null,
  busy: 0, // requests out (the end-to-end test waits for 0)
};
lab.learn = learn;

const LAYER_COLOURS = ["#4f46e5", "#0891b2", "#16a34a", "#ca8a04", "#ea580c", "#dc2626", "#7c3aed"];

const CARDS = `
<section class="card learn-card" id="backward-card" aria-labelledby="backward-title">
  <h2 id="backward-title">5 · Backward: how wrong, and who is to blame</h2>
  <p class="muted small">Choose the true label of your drawing. The network view then shows the
    backward pass: neurons coloured by their error δ = ∂L/∂z, connections by their gradient
    ∂L/∂w (<span class="pos">■ positive</span>, <span class="neg">■ negative</span>). Click a
    connection or a neuron for the chain rule with the actual numbers.</p>
  <div id="b-labels" class="labels" role="group" aria-label="true label"></div>
  <div class="row"><span id="b-loss" class="loss muted">no label chosen</span>
    <button id="b-off" type="button" disabled>Back to the forward view</button></div>
  <pre id="b-formula" class="formula" hidden></pre>
</section>

<section class="card learn-card" id="toy-card" aria-labelledby="toy-title">
  <h2 id="toy-title">7 · The perceptron and XOR</h2>
  <p class="muted small">Points in 2-D, two classes. One neuron (no hidden layer) draws a straight
    line: it learns AND and OR, but no line separates XOR. Add a hidden layer and it can.</p>
  <form id="toy-form" class="train-form">
    <label>Data <select id="toy-dataset"><option value="and">AND</option><option value="or">OR</option>
      <option value="xor" selected>XOR</option><option value="circles">circles</option></select></label>
    <label>Hidden layers <input id="toy-hidden" value="" placeholder="none: one neuron"></label>
    <label>Activation <select id="toy-activation"><option>tanh</option><option>sigmoid</option>
      <option>relu</option></select></label>
    <label>Learning rate <input id="toy-lr" type="number" step="any" value="1"></label>
    <div class="buttons">
      <button id="toy-start" type="submit" class="primary">New run</button>
      <button id="toy-step" type="button" disabled>Step ×10</button>
      <button id="toy-play" type="button" disabled>Play</button>
    </div>
  </form>
  <div class="toy-view"><canvas id="toy-canvas" width="260" height="260"></canvas>
    <div id="toy-status" class="status muted">Start a run to see the decision boundary.</div></div>
</section>

<section class="card learn-card" id="steps-card" aria-labelledby="steps-title">
  <h2 id="steps-title">6 · Watch it learn, one step at a time</h2>
  <form id="s-form" class="train-form">
    <label>Data set <select id="s-dataset"><option value="mnist">MNIST digits</option>
      <option value="fashion-mnist">Fashion-MNIST clothes</option></select></label>
    <label>Hidden layers <input id="s-hidden" value="16, 16"></label>
    <label>Activation <select id="s-activation"><option>sigmoid</option><option>relu</option>
      <option>tanh</option></select></label>
    <label>Optimizer <select id="s-optimizer"><option>sgd</option><option>adam</option></select></label>
    <label>Learning rate <input id="s-lr" type="number" step="any" value="0.5"></label>
    <label>Batch <input id="s-batch" type="number" min="1" value="32"></label>
    <div class="buttons">
      <button id="s-start" type="submit" class="primary">New run</button>
      <button id="s-step" type="button" disabled>Step</button>
      <button id="s-undo" type="button" disabled>Undo</button>
      <button id="s-play" type="button" disabled>Play</button>
    </div>
  </form>
  <div id="s-status" class="status muted">Start a run: each Step trains on one mini-batch.</div>
  <div class="train-views">
    <figure class="chart"><canvas id="s-loss" width="360" height="180"></canvas>
      <figcaption>loss of each mini-batch</figcaption></figure>
    <figure class="chart"><canvas id="s-health" width="360" height="180"></canvas>
      <figcaption>gradient health: ‖∂L/∂θ‖ per layer (log scale) <span id="s-health-key"></span>
      </figcaption></figure>
    <figure class="chart" id="s-neuron"><div id="s-neuron-body" class="muted small">Click a neuron
      in the network to follow its weights before and after each step.</div></figure>
  </div>
  <div class="row"><button id="h-compare" type="button">Compare: 6 layers sigmoid vs ReLU</button>
    <span id="h-status" class="muted small"></span></div>
  <figure class="chart wide" id="h-figure" hidden><canvas id="h-chart" width="720" height="200"></canvas>
    <figcaption>‖∂L/∂θ‖ per layer and batch, one epoch on the same digits: left sigmoid, right
      ReLU. The sigmoid network's first layers get gradients hundreds of times smaller.</figcaption>
  </figure>
</section>`;

document.querySelector("main.grid").insertAdjacentHTML("beforeend", CARDS);

async function tracked(promise) {
  learn.busy += 1;
  try {
    return await promise;
  } finally {
    learn.busy -= 1;
  }
}

lab.learnIdle = () => learn.busy === 0 && lab.idle();

function inputPayload() {
  return lab.model.image ? { image: drawingPayload() } : { input: numbersPayload() };
}

// ------------------------------------------------------------------------------ backward view

function buildLabels() {
  const box = $("b-labels");
  const m = lab.model;
  box.replaceChildren();
  if (m.output !== "softmax") {
    box.textContent = "The backward view needs a softmax classifier.";
    return;
  }
  (m.class_names || []).forEach((name, k) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = name;
    button.dataset.label = k;
    button.addEventListener("click", () => chooseLabel(k));
    box.appendChild(button);
  });
}

function chooseLabel(k) {
  learn.label = k;
  document.querySelectorAll("#b-labels button").forEach((b) => {
    b.classList.toggle("chosen", Number(b.dataset.label) === k);
  });
  $("b-off").disabled = false;
  requestBackward();
}

$("b-off").addEventListener("click", () => {
  learn.label = null;
  learn.backward = null;
  document.querySelectorAll("#b-labels button").forEach((b) => b.classList.remove("chosen"));
  $("b-off").disabled = true;
  $("b-loss").textContent = "no label chosen";
  $("b-formula").hidden = true;
  clearBackward();
  if (lab.last) render(lab.last);
});

let backwardOut = false;
let backwardAgain = false;

function requestBackward() {
  if (learn.label === null || !lab.model) return;
  if (backwardOut) { backwardAgain = true; return; }
  backwardOut = true;
  backwardAgain = false;
  tracked(api("/api/backward", { ...inputPayload(), label: learn.label }))
    .then((data) => {
      if (data.model_version !== lab.model.version || learn.label === null) return;
      learn.backward = data;
      showBackward(data);
    })
    .catch((error) => notify(error.message, true))
    .finally(() => {
      backwardOut = false;
      if (backwardAgain) requestBackward();
    });
}

function netGroups() {
  const root = $("net");
  return { root, links: root.children[0], live: root.children[1], nodes: root.children[2] };
}

function clearBackward() {
  const { root, links, live } = netGroups();
  root.querySelectorAll(".grad-links").forEach((g) => g.remove());
  if (links) links.style.display = "";
  if (live) live.style.display = "";
}

function showBackward(data) {
  const layout = lab.layout;
  if (!layout) return;
  const name = lab.model.class_names ? lab.model.class_names[learn.label] : learn.label;
  $("b-loss").textContent =
    `true label ${name}: p = ${fmt(data.output[learn.label])}, loss L = −log p = ${fmt(data.loss)}`;
  $("b-loss").classList.remove("muted");
  clearBackward();
  const { root, links, live, nodes } = netGroups();
  links.style.display = "none";
  live.style.display = "none";
  const group = svg("g", { class: "grad-links" });
  root.insertBefore(group, nodes);
  const top = data.max_grad || 1;
  const line = (x1, y1, x2, y2, g, parameter, index) => {
    const strength = Math.sqrt(Math.abs(g) / top);
    const element = svg("line", {
      x1, y1, x2, y2,
      stroke: g >= 0 ? "#2563eb" : "#e4572e",
      "stroke-width": (0.6 + 3 * strength).toFixed(2),
      "stroke-opacity": (0.12 + 0.8 * strength).toFixed(3),
      "data-parameter": parameter,
      "data-index": index.join(","),
    }, group);
    svg("title", {}, element).textContent = `${parameter}[${index}]: ∂L/∂w = ${fmt(g)} (click)`;
    element.addEventListener("click", () => explain(parameter, index));
  };
  const m = lab.model;
  data.links.forEach((links_, l) => {
    const parameter = `${m.layers[l].name}.W`;
    const to = layout.columns[l + 1];
    if (links_.live && layout.image) {
      const { x, y, size, side } = layout.image;
      const cell = size / side;
      links_.from.forEach((pixels, j) => {
        pixels.forEach((p, k) => line(
          x + ((p % side) + 0.5) * cell, y + (Math.floor(p / side) + 0.5) * cell,
          to.at[j][0], to.at[j][1], links_.grad[j][k], parameter, [p, j]));
      });
    } else {
      const spec = m.links[l];
      const from = layout.columns[l];
      if (!from) return;
      spec.from.forEach((i, k) => line(
        from.at[i][0], from.at[i][1], to.at[spec.to[k]][0], to.at[spec.to[k]][1],
        links_.grad[k], parameter, [i, spec.to[k]]));
    }
  });
  // neurons coloured by δ, each layer on its own scale
  data.layers.forEach((layer, l) => {
    const scale = Math.max(1e-12, ...layer.delta.map(Math.abs));
    layout.columns[l + 1].nodes.forEach((n, j) => {
      n.shape.setAttribute("fill", rgb(diverging(layer.delta[j] / scale)));
      if (n.text) n.text.textContent = fmt(layer.delta[j], 2);
    });
  });
}

function explain(parameter, index) {
  if (learn.label === null) return;
  const body = { ...inputPayload(), label: learn.label, parameter, index };
  return tracked(api("/api/backward/explain", body))
    .then((data) => {
      learn.explained = data;
      const box = $("b-formula");
      box.hidden = false;
      box.textContent = data.formula;
    })
    .catch((error) => notify(error.message, true));
}

// After every forward render, the backward view follows the new drawing or weights.
const forwardRender = render;
render = function renderBoth(result) {
  forwardRender(result);
  if (learn.label !== null) {
    if (learn.backward) showBackward(learn.backward); // keep the colours while the next comes
    requestBackward();
  }
};

// A neuron clicked in the backward view opens its bias's chain rule (∂L/∂b = δ) too.
const openNeuron = selectNeuron;
selectNeuron = function selectBoth(layer, index) {
  openNeuron(layer, index);
  if (learn.label !== null) explain(`${lab.model.layers[layer].name}.b`, [index]);
  if (learn.steps) showStepNeuron(learn.steps);
};

const forwardBuild = buildNetwork;
buildNetwork = function buildBoth() {
  forwardBuild();
  if (lab.model) buildLabels();
  if (lab.selected && lab.layout && lab.layout.columns[lab.selected.layer + 1]) {
    const node_ = lab.layout.columns[lab.selected.layer + 1].nodes[lab.selected.index];
    if (node_) node_.g.classList.add("selected");
  }
};

// ------------------------------------------------------------------------------ step by step

function sizesOf(text) {
  return text.trim() ? text.split(/[\s,]+/).filter(Boolean).map(Number) : [];
}

function neuronSpec(session) {
  if (!lab.selected || !session) return undefined;
  const hidden = session.settings.hidden;
  if (lab.selected.layer > hidden.length) return undefined;
  const size = lab.selected.layer < hidden.length ? hidden[lab.selected.layer] : null;
  if (size !== null && lab.selected.index >= size) return undefined;
  return { layer: lab.selected.layer, index: lab.selected.index };
}

async function stepRequest(path, body) {
  const data = await tracked(api(path, body));
  learn.steps = data;
  // the page's model is now the stepped one: redraw the network and predict the drawing again
  lab.model = await tracked(api("/api/model"));
  $("model-name").textContent = lab.model.name;
  $("model-name").classList.remove("untrained");
  buildNetwork();
  requestPredict();
  showSteps(data);
  return data;
}

function setStepButtons(ready) {
  $("s-step").disabled = !ready || learn.playing;
  $("s-undo").disabled = !ready || learn.playing || !(learn.steps && learn.steps.can_undo);
  $("s-play").disabled = !ready;
  $("s-play").textContent = learn.playing ? "Pause" : "Play";
}

$("s-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  learn.playing = false;
  $("s-status").textContent = "Loading the data…";
  try {
    await stepRequest("/api/steps/start", {
      session: "digits",
      dataset: $("s-dataset").value,
      hidden: sizesOf($("s-hidden").value),
      activation: $("s-activation").value,
      optimizer: $("s-optimizer").value,
      learning_rate: Number($("s-lr").value),
      batch_size: Number($("s-batch").value),
    });
    lab.selected = null;
    $("neuron").hidden = true;
    $("neuron-empty").hidden = false;
    setStepButtons(true);
  } catch (error) {
    $("s-status").textContent = error.message;
  }
});

async function oneStep(n = 1) {
  const body = { session: "digits", n };
  const neuron = neuronSpec(learn.steps);
  if (neuron) body.neuron = neuron;
  return stepRequest("/api/steps/step", body);
}

$("s-step").addEventListener("click", () => {
  oneStep().then(() => setStepButtons(true)).catch((e) => { $("s-status").textContent = e.message; });
});

$("s-undo").addEventListener("click", () => {
  const body = { session: "digits" };
  const neuron = neuronSpec(learn.steps);
  if (neuron) body.neuron = neuron;
  stepRequest("/api/steps/undo", body)
    .then(() => setStepButtons(true))
    .catch((e) => { $("s-status").textContent = e.message; });
});

$("s-play").addEventListener("click", async () => {
  learn.playing = !learn.playing;
  setStepButtons(true);
  while (learn.playing) {
    try {
      await oneStep(2);
    } catch (error) {
      $("s-status").textContent = error.message;
      learn.playing = false;
    }
    await new Promise((resolve) => requestAnimationFrame(resolve)); // let the page paint
  }
  setStepButtons(true);
});

function showSteps(data) {
  const last = data.step;
  const where = `epoch ${data.epoch + 1}, next batch ${data.batch + 1} of ${data.n_batches}`;
  $("s-status").textContent = last
    ? `Step ${data.steps}: batch ${last.batch + 1} of epoch ${last.epoch + 1} (${last.samples} ` +
      `images, labels ${last.labels.slice(0, 8).join(" ")}…), loss ${fmt(last.loss)}, ` +
      `learning rate ${fmt(last.learning_rate)}. Now at ${where}.`
    : `Ready: ${data.n_batches} mini-batches per epoch. Press Step.`;
  $("s-status").dataset.steps = data.steps;
  const losses = data.losses.map((v, i) => [i + 1, v]);
  const top = Math.max(0.5, ...data.losses);
  chart($("s-loss"), Math.max(1, losses.length), roundAxis(top), [
    { points: losses, colour: "#4f46e5" },
  ]);
  logChart($("s-health"), data.health.layers.map((name, k) => ({
    values: data.health.grad_norm[name], colour: LAYER_COLOURS[k % LAYER_COLOURS.length], name,
  })));
  $("s-health-key").replaceChildren(...data.health.layers.map((name, k) => {
    const span = document.createElement("span");
    span.className = "key";
    span.style.color = LAYER_COLOURS[k % LAYER_COLOURS.length];
    span.textContent = ` ━ ${name}`;
    return span;
  }));
  showStepNeuron(data);
}

function showStepNeuron(data) {
  const body = $("s-neuron-body");
  const n = data && data.neuron;
  if (!n || !lab.selected || n.layer !== lab.selected.layer || n.index !== lab.selected.index) {
    if (lab.selected && data && data.step) {
      body.textContent = "Step again to see this neuron's weights before and after.";
    }
    return;
  }
  body.replaceChildren();
  body.classList.remove("muted");
  const heading = document.createElement("div");
  heading.textContent = `${n.layer_name} neuron ${n.index}: bias ${fmt(n.bias_before, 5)} → ` +
    `${fmt(n.bias_after, 5)}`;
  body.appendChild(heading);
  const side = Math.round(Math.sqrt(n.after.length));
  const top = Math.max(1e-9, ...n.after.map(Math.abs), ...n.before.map(Math.abs));
  if (side * side === n.after.length && side >= 8) {
    for (const [title, values] of [["before", n.before], ["after", n.after],
      ["change ×50", n.after.map((v, i) => 50 * (v - n.before[i]))]]) {
      const figure = document.createElement("figure");
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = side;
      paintPicture(canvas, values.map((v) => v / top), diverging);
      const caption = document.createElement("figcaption");
      caption.textContent = title;
      figure.append(canvas, caption);
      body.appendChild(figure);
    }
  } else {
    const table = document.createElement("table");
    table.className = "terms";
    table.insertRow().innerHTML = "<th>weight</th><th>before</th><th>after</th><th>Δw</th>";
    n.after.slice(0, 16).forEach((v, i) => {
      const row = table.insertRow();
      for (const text of [`w${i}`, fmt(n.before[i], 5), fmt(v, 5), fmt(v - n.before[i], 3)]) {
        row.insertCell().textContent = text;
      }
    });
    body.appendChild(table);
  }
}

// A chart of positive values on a log scale, one line per series, x = index.
function logChart(canvas, series, panel = null) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  const c = canvas.getContext("2d");
  if (!panel) {
    if (canvas.width !== width * ratio) { canvas.width = width * ratio; canvas.height = height * ratio; }
    c.setTransform(ratio, 0, 0, ratio, 0, 0);
    c.clearRect(0, 0, width, height);
  }
  const box = panel || { x: 0, w: width, lo: null, hi: null, title: "" };
  const all = series.flatMap((s) => s.values).filter((v) => v > 0);
  if (!all.length) return;
  const lo = Math.floor(Math.log10(box.lo ?? Math.min(...all)));
  const hi = Math.ceil(Math.log10(box.hi ?? Math.max(...all)));
  const pad = { left: 40, right: 8, top: 14, bottom: 18 };
  const plotW = box.w - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const n = Math.max(2, ...series.map((s) => s.values.length));
  const X = (i) => box.x + pad.left + (plotW * i) / (n - 1);
  const Y = (v) => pad.top + plotH * (1 - (Math.log10(v) - lo) / Math.max(1, hi - lo));
  c.font = "10px system-ui, sans-serif";
  c.fillStyle = "#667085";
  c.strokeStyle = "#eef0f4";
  for (let k = lo; k <= hi; k++) {
    c.beginPath();
    c.moveTo(box.x + pad.left, Y(10 ** k));
    c.lineTo(box.x + box.w - pad.right, Y(10 ** k));
    c.stroke();
    c.fillText(`1e${k}`, box.x + 4, Y(10 ** k) + 3);
  }
  if (box.title) c.fillText(box.title, box.x + pad.left + 4, 10);
  for (const s of series) {
    c.strokeStyle = s.colour;
    c.lineWidth = 1.5;
    c.beginPath();
    s.values.forEach((v, i) => {
      const y = Y(Math.max(v, 10 ** lo));
      if (i) c.lineTo(X(i), y); else c.moveTo(X(i), y);
    });
    c.stroke();
  }
}

$("h-compare").addEventListener("click", async () => {
  $("h-status").textContent = "Training two 6-layer networks for one epoch…";
  $("h-compare").disabled = true;
  try {
    const data = await tracked(api("/api/health/compare", { samples: 2000 }));
    learn.compare = data;
    $("h-figure").hidden = false;
    const canvas = $("h-chart");
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || canvas.width;
    const height = canvas.clientHeight || canvas.height;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    const c = canvas.getContext("2d");
    c.setTransform(ratio, 0, 0, ratio, 0, 0);
    const values = ["sigmoid", "relu"].flatMap((a) => Object.values(data[a].batch_grad_norm).flat());
    const lo = Math.min(...values.filter((v) => v > 0));
    const hi = Math.max(...values);
    ["sigmoid", "relu"].forEach((activation, k) => {
      const run = data[activation];
      logChart(canvas, run.layers.map((name, l) => ({
        values: run.batch_grad_norm[name], colour: LAYER_COLOURS[l % LAYER_COLOURS.length], name,
      })), { x: (k * width) / 2, w: width / 2, lo, hi, title: `${activation}: dense_0 … dense_5` });
    });
    const first = (a) => data[a].grad_norm.dense_0[0];
    $("h-status").textContent =
      `First layer's gradient norm: sigmoid ${fmt(first("sigmoid"))}, ReLU ${fmt(first("relu"))} ` +
      `(${Math.round(first("relu") / first("sigmoid"))}× larger). Colours: ` +
      LAYER_COLOURS.slice(0, 6).map((_, l) => `dense_${l}`).join(", ") + " from indigo to red.";
  } catch (error) {
    $("h-status").textContent = error.message;
  } finally {
    $("h-compare").disabled = false;
  }
});

// ------------------------------------------------------------------------------ toy data

async function toyRequest(path, body) {
  const data = await tracked(api(path, body));
  learn.toy = data;
  drawBoundary(data);
  return data;
}

$("toy-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  learn.toyPlaying = false;
  try {
    await toyRequest("/api/steps/start", {
      session: "toy",
      dataset: $("toy-dataset").value,
      hidden: sizesOf($("toy-hidden").value),
      activation: $("toy-activation").value,
      learning_rate: Number($("toy-lr").value),
      batch_size: 20,
    });
    $("toy-step").disabled = false;
    $("toy-play").disabled = false;
  } catch (error) {
    $("toy-status").textContent = error.message;
  }
});

$("toy-step").addEventListener("click", () => {
  toyRequest("/api/steps/step", { session: "toy", n: 10 })
    .catch((e) => { $("toy-status").textContent = e.message; });
});

$("toy-play").addEventListener("click", async () => {
  learn.toyPlaying = !learn.toyPlaying;
  $("toy-play").textContent = learn.toyPlaying ? "Pause" : "Play";
  while (learn.toyPlaying) {
    try {
      await toyRequest("/api/steps/step", { session: "toy", n: 10 });
    } catch (error) {
      $("toy-status").textContent = error.message;
      learn.toyPlaying = false;
    }
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  $("toy-play").textContent = "Play";
});

function drawBoundary(data) {
  const b = data.boundary;
  const canvas = $("toy-canvas");
  const c = canvas.getContext("2d");
  const size = canvas.width;
  const cell = size / b.side;
  const [lo, hi] = b.extent;
  // P(class 1) as colour: orange for 0, blue for 1, white on the boundary (p = ½)
  for (let r = 0; r < b.side; r++) {
    for (let k = 0; k < b.side; k++) {
      const p = b.p[r][k];
      c.fillStyle = rgb(mix(WHITE, p >= 0.5 ? BLUE : ORANGE, Math.min(1, Math.abs(2 * p - 1)) * 0.55));
      c.fillRect((k - 0.5) * cell, size - (r + 0.5) * cell, cell + 1, cell + 1);
    }
  }
  const X = (v) => ((v - lo) / (hi - lo)) * size;
  b.points.forEach(([x, y], i) => {
    c.beginPath();
    c.arc(X(x), size - X(y), 3.2, 0, 2 * Math.PI);
    c.fillStyle = b.labels[i] ? "#1d4ed8" : "#c2410c";
    c.fill();
    c.strokeStyle = "#fff";
    c.lineWidth = 0.8;
    c.stroke();
  });
  const hidden = data.settings.hidden.length
    ? `hidden ${data.settings.hidden.join("-")} ${data.settings.activation}`
    : "one neuron (a perceptron with a sigmoid)";
  $("toy-status").textContent =
    `${data.dataset.toUpperCase()}, ${hidden}: step ${data.steps}, loss ` +
    `${fmt(data.loss)}, accuracy ${(100 * b.accuracy).toFixed(0)}%`;
  $("toy-status").dataset.accuracy = b.accuracy;
  $("toy-status").dataset.steps = data.steps;
}
