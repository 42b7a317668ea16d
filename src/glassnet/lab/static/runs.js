// glassnet lab: the runs section. Lists /api/runs; draws a run's learning map from
// /api/runs/{run}/map on a canvas; a click shows the nearest example (/api/runs/{run}/examples/i),
// and the harder/easier buttons step through the whole ranking (…/examples/r?by=rank).
"use strict";

const runsView = { runs: [], map: null, run: null, example: null };
window.runsView = runsView;

async function getJson(path) {
  const reply = await fetch(path);
  const data = await reply.json();
  if (!reply.ok) throw new Error(data.error || reply.statusText);
  return data;
}

function format(value) {
  return typeof value === "number" ? value.toFixed(4) : "";
}

async function loadRuns() {
  const data = await getJson("/api/runs");
  runsView.runs = data.runs;
  const body = document.querySelector("#runs-table tbody");
  body.textContent = "";
  for (const run of data.runs) {
    const row = document.createElement("tr");
    const branch = run.parent ? `${run.parent} @ epoch ${run.branched_at}` : "";
    const cells = [run.name, branch, run.epochs, format(run.final.loss),
      format(run.final.accuracy), run.has_map ? "show" : ""];
    cells.forEach((text, k) => {
      const cell = document.createElement("td");
      if (k === 5 && run.has_map) {
        const button = document.createElement("button");
        button.textContent = "show map";
        button.dataset.run = run.name;
        button.addEventListener("click", () => showMap(run.name, row));
        cell.appendChild(button);
      } else {
        cell.textContent = String(text);
      }
      row.appendChild(cell);
    });
    body.appendChild(row);
  }
  if (!data.runs.length) {
    const row = document.createElement("tr");
    row.innerHTML = `<td colspan="6" class="muted">No runs in ${data.runs_dir}.</td>`;
    body.appendChild(row);
  }
}

const MAX_VARIABILITY = 0.5; // p ∈ [0, 1], so its standard deviation is at most 0.5

function toCanvas(canvas, variability, confidence) {
  return [30 + (variability / MAX_VARIABILITY) * (canvas.width - 40),
    canvas.height - 25 - confidence * (canvas.height - 35)];
}

function drawMap() {
  const canvas = document.getElementById("map-canvas");
  const context = canvas.getContext("2d");
  const map = runsView.map;
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = "#555";
  context.font = "11px sans-serif";
  context.fillText("confidence", 2, 12);
  context.fillText("variability →", canvas.width - 80, canvas.height - 6);
  for (let i = 0; i < map.index.length; i += 1) {
    const [x, y] = toCanvas(canvas, map.variability[i], map.confidence[i]);
    const c = map.correctness[i];
    context.fillStyle = `rgb(${Math.round(220 * (1 - c))}, ${Math.round(170 * c)}, 60)`;
    context.fillRect(x - 1, y - 1, 2.5, 2.5);
  }
  if (runsView.example !== null) {
    const i = runsView.example;
    const [x, y] = toCanvas(canvas, map.variability[i], map.confidence[i]);
    context.strokeStyle = "#000";
    context.strokeRect(x - 4, y - 4, 8, 8);
  }
}

async function showMap(name, row) {
  document.querySelectorAll("#runs-table tr").forEach((r) => r.classList.remove("selected"));
  row.classList.add("selected");
  runsView.map = await getJson(`/api/runs/${encodeURIComponent(name)}/map`);
  runsView.run = name;
  runsView.example = null;
  runsView.shown = undefined;
  drawMap();
  document.getElementById("example-text").textContent =
    `${runsView.map.shown} of ${runsView.map.examples} examples shown (the hardest first).`;
}

async function showExample(position) {
  const map = runsView.map;
  await showFetched(`${map.index[position]}`, position);
}

// Step through the ranking: rank ± 1 from the example shown (0: the hardest).
async function stepRank(step) {
  if (!runsView.map) return;
  const current = runsView.shown ? runsView.shown.rank : -1;
  const rank = Math.min(Math.max(current + step, 0), runsView.map.examples - 1);
  await showFetched(`${rank}?by=rank`, null);
}

async function showFetched(what, position) {
  const map = runsView.map;
  const example = await getJson(
    `/api/runs/${encodeURIComponent(runsView.run)}/examples/${what}`);
  // the dot of the example, if the map draws it
  runsView.example = position !== null ? position : map.index.indexOf(example.index);
  if (runsView.example < 0) runsView.example = null;
  drawMap();
  runsView.shown = example;
  const text = document.getElementById("example-text");
  text.textContent = `#${example.index} (rank ${example.rank + 1} of ${map.examples}): ` +
    `given ${example.label}, predicted ${example.predicted}; ` +
    `confidence ${example.confidence.toFixed(3)}, variability ${example.variability.toFixed(3)}, ` +
    `correct ${Math.round(100 * example.correctness)}%` +
    (example.pixels ? "" : ` (no image: ${example.pixels_note})`);
  const canvas = document.getElementById("example-canvas");
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (example.pixels && example.image_shape) {
    const [h, w] = example.image_shape;
    let low = Infinity;
    let high = -Infinity;
    for (const v of example.pixels) { low = Math.min(low, v); high = Math.max(high, v); }
    const cell = Math.floor(canvas.width / Math.max(h, w));
    example.pixels.forEach((v, k) => {
      const level = Math.round(255 * (1 - (v - low) / (high - low || 1)));
      context.fillStyle = `rgb(${level}, ${level}, ${level})`;
      context.fillRect((k % w) * cell, Math.floor(k / w) * cell, cell, cell);
    });
  }
}

function addRankButtons() {
  const box = document.getElementById("map-example");
  const bar = document.createElement("div");
  bar.className = "rank-buttons";
  [["harder", -1, "◀ harder"], ["easier", 1, "easier ▶"]].forEach(([name, step, label]) => {
    const button = document.createElement("button");
    button.id = `rank-${name}`;
    button.textContent = label;
    button.title = "the next example in the ranking (hardest first)";
    button.addEventListener("click", () => stepRank(step).catch(console.error));
    bar.appendChild(button);
  });
  box.appendChild(bar);
}

function nearest(event) {
  const canvas = event.target;
  const box = canvas.getBoundingClientRect();
  const px = ((event.clientX - box.left) * canvas.width) / box.width;
  const py = ((event.clientY - box.top) * canvas.height) / box.height;
  let best = -1;
  let bestDistance = Infinity;
  const map = runsView.map;
  for (let i = 0; i < map.index.length; i += 1) {
    const [x, y] = toCanvas(canvas, map.variability[i], map.confidence[i]);
    const distance = (x - px) ** 2 + (y - py) ** 2;
    if (distance < bestDistance) { best = i; bestDistance = distance; }
  }
  return best;
}

document.addEventListener("DOMContentLoaded", () => {
  addRankButtons();
  document.getElementById("map-canvas").addEventListener("click", (event) => {
    if (runsView.map) showExample(nearest(event)).catch(console.error);
  });
  loadRuns().catch((error) => {
    document.getElementById("example-text").textContent = `Runs: ${error.message}`;
  });
});
