// The console's own behaviour: confirmations, channel and tag rows, field problems as form validity,
// the log's follow mode, and the accuracy chart. Everything else is htmx attributes in the templates.
"use strict";

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-add-row]");
  if (add) {
    const template = document.getElementById(add.dataset.addRow);
    const index = String(Date.now());
    add.insertAdjacentHTML("beforebegin", template.innerHTML.replaceAll("__INDEX__", index));
    htmx.process(add.previousElementSibling);
    return;
  }
  const remove = event.target.closest("[data-remove-row]");
  if (remove) {
    remove.closest(".row").remove();
    return;
  }
  const fill = event.target.closest("[data-fill]");
  if (fill) {
    const input = document.getElementById(fill.dataset.fill);
    input.value = fill.dataset.value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }
});

// A field with a problem line that says something is invalid: the browser refuses to submit the form.
function applyProblems() {
  for (const line of document.querySelectorAll("[data-problem-for]")) {
    const input = document.getElementById(line.dataset.problemFor);
    if (input) input.setCustomValidity("");
  }
  for (const line of document.querySelectorAll("[data-problem-for]")) {
    const input = document.getElementById(line.dataset.problemFor);
    const text = line.textContent.trim();
    if (input && text) input.setCustomValidity(text);
  }
}

function followLog() {
  const follow = document.getElementById("log-follow");
  if (follow && follow.checked) document.getElementById("log-end").scrollIntoView({ block: "end" });
}

document.addEventListener("htmx:afterSettle", () => {
  applyProblems();
  followLog();
});

// The accuracy chart: it asks only for what the log added since its last question, until the job ends.
function accuracyChart(element) {
  const epochs = new Map();
  const series = [
    { label: "Epoch" },
    { label: "Train accuracy", stroke: "#0972d3", width: 2, points: { show: true } },
    { label: "Validation accuracy", stroke: "#037f0c", width: 2, points: { show: true } },
    { label: "Train top-k accuracy", stroke: "#8456ce", width: 2, dash: [6, 4], points: { show: true } },
  ];
  const chart = new uPlot(
    {
      width: Math.max(320, element.clientWidth || 720),
      height: 300,
      series,
      scales: { x: { time: false }, y: { range: [0, 1] } },
      axes: [{ label: "Epoch", incrs: [1, 2, 5, 10, 20, 50, 100] }, { label: "Accuracy" }],
    },
    [[], [], [], []],
    element,
  );
  let after = 0;
  async function update() {
    const answer = await fetch(`${element.dataset.source}?after=${after}`);
    if (!answer.ok) return;
    const news = await answer.json();
    after = news.after;
    for (const row of news.epochs) {
      const known = epochs.get(row.epoch) || { epoch: row.epoch };
      for (const key of ["train", "validation", "top_k"]) if (row[key] !== null) known[key] = row[key];
      epochs.set(row.epoch, known);
    }
    const rows = [...epochs.values()].sort((a, b) => a.epoch - b.epoch);
    const column = (key) => rows.map((row) => (row[key] === undefined ? null : row[key]));
    chart.setData([rows.map((row) => row.epoch), column("train"), column("validation"), column("top_k")]);
    element.dataset.points = String(rows.length);
    element.dataset.validationPoints = String(column("validation").filter((v) => v !== null).length);
    if (!news.finished) setTimeout(update, 3000);
    else element.dataset.complete = "true";
  }
  update();
}

// A tuning job's chart: each training job's objective value against its number, until the job ends.
function objectiveChart(element) {
  const chart = new uPlot(
    {
      width: Math.max(320, element.clientWidth || 720),
      height: 300,
      series: [
        { label: "Training job" },
        { label: element.dataset.metric, stroke: "#037f0c", width: 0, points: { show: true, size: 8 } },
      ],
      scales: { x: { time: false } },
      axes: [{ label: "Training job number", incrs: [1, 2, 5, 10, 20, 50, 100] }, { label: "Objective" }],
    },
    [[], []],
    element,
  );
  async function update() {
    const answer = await fetch(element.dataset.source);
    if (!answer.ok) return;
    const news = await answer.json();
    chart.setData([news.trials, news.values]);
    element.dataset.points = String(news.values.filter((v) => v !== null).length);
    if (!news.finished) setTimeout(update, 3000);
    else element.dataset.complete = "true";
  }
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  applyProblems();
  const chart = document.getElementById("accuracy-chart");
  if (chart) accuracyChart(chart);
  const objectives = document.getElementById("objective-chart");
  if (objectives) objectiveChart(objectives);
  const jump = document.querySelector("[data-jump-to-end]");
  if (jump) followLog();
});

// An endpoint's photo test: the file goes to InvokeEndpoint as is; the answer's top classes are shown.
document.addEventListener("submit", async (event) => {
  const form = event.target.closest("[data-invoke]");
  if (!form) return;
  event.preventDefault();
  const file = form.querySelector("input[type=file]").files[0];
  const shown = document.getElementById("prediction");
  const answer = await fetch(form.dataset.invoke, {
    method: "POST",
    headers: { "Content-Type": "application/x-image", Accept: "application/json" },
    body: file,
  });
  const text = await answer.text();
  shown.replaceChildren();
  if (!answer.ok) {
    const problem = document.createElement("p");
    problem.className = "problem";
    problem.textContent = text;
    shown.append(problem);
    return;
  }
  const ranked = JSON.parse(text).map((p, label) => ({ label, p })).sort((a, b) => b.p - a.p).slice(0, 5);
  const table = document.createElement("table");
  table.className = "list";
  table.id = "top-classes";
  table.createTHead().insertRow().append(...["Class", "Probability"].map((t) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = t;
    return th;
  }));
  const body = table.createTBody();
  for (const { label, p } of ranked) {
    const row = body.insertRow();
    row.insertCell().textContent = `class ${label}`;
    row.insertCell().textContent = p.toFixed(4);
  }
  shown.append(table);
});
