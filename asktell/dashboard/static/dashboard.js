// asktell dashboard: polls the server and redraws. Plots use plotly.js served by the dashboard
// itself (from the plotly Python package), so the page needs no internet.
"use strict";
const asktell = (() => {
  const MAIN = ["best", "batch_best"];
  const SKIP = new Set(["iteration", ...MAIN]);
  const layout = (title, ytitle) => ({
    title: {text: title, font: {size: 14}}, margin: {l: 60, r: 20, t: 36, b: 40},
    xaxis: {title: {text: "iteration"}}, yaxis: {title: {text: ytitle || ""}},
    legend: {orientation: "h"}, height: 320,
  });
  const config = {displaylogo: false, responsive: true};
  const logy = () => { const b = document.getElementById("logy"); return b && b.checked; };

  async function getJSON(url) {
    const r = await fetch(url, {cache: "no-store"});
    return r.json();
  }

  async function swap(id, url) {
    const el = document.getElementById(id);
    if (!el) return;
    const r = await fetch(url, {cache: "no-store"});
    if (r.ok) el.innerHTML = await r.text();
  }

  function showProblem(message) {
    let el = document.getElementById("live-problem");
    if (!el) {
      el = document.createElement("div");
      el.id = "live-problem";
      el.className = "problem";
      document.querySelector("main").prepend(el);
    }
    el.textContent = message;
  }

  function watchRuns(seconds) {
    const tick = async () => {
      const form = document.getElementById("runs-form");
      const checked = new Set([...form.querySelectorAll("input[name=run]:checked")].map(i => i.value));
      try {
        await swap("runs", "/fragment/runs");
        form.querySelectorAll("input[name=run]").forEach(i => { i.checked = checked.has(i.value); });
      } catch (e) { /* server gone: keep the last table */ }
      setTimeout(tick, seconds * 1000);
    };
    setTimeout(tick, seconds * 1000);
  }

  // A live run's page: every tick fetches only the batches it has not seen (one cheap read of
  // the store's per-batch columns); the batch table and the summary, which cost more to read,
  // follow every TABLE_TICKS ticks while batches arrive, and every 5 ticks otherwise.
  const TABLE_TICKS = 3;
  function watchRun(key, seconds) {
    let cols = null, tick = 0, lastTable = -TABLE_TICKS, dirty = false;
    const step = async () => {
      try {
        const n = cols ? cols.iteration.length : 0;
        const since = n ? cols.iteration[n - 1] : 0;
        const t = await getJSON("/api/trace/" + encodeURI(key) + "?since=" + since);
        if (t.problem) {
          showProblem(t.message);
        } else {
          const c = t.columns;
          const fresh = c.iteration.length;
          if (!cols || fresh) {
            if (!cols) cols = c;
            else for (const k of Object.keys(c)) cols[k] = (cols[k] || []).concat(c[k]);
            document.getElementById("n-batches").textContent = cols.iteration.length;
            draw(cols);
            dirty = true;
          }
          if ((dirty && tick - lastTable >= TABLE_TICKS) || tick - lastTable >= 5) {
            lastTable = tick;
            dirty = false;
            await swap("batches", "/fragment/batches/" + encodeURI(key));
            await swap("summary", "/fragment/summary/" + encodeURI(key));
          }
        }
      } catch (e) { /* server gone or restarting: try again */ }
      tick += 1;
      setTimeout(step, seconds * 1000);
    };
    const box = document.getElementById("logy");
    if (box) box.addEventListener("change", () => { if (cols) draw(cols); });
    step();
  }

  function draw(c) {
    const x = c.iteration;
    const main = MAIN.filter(k => k in c).map(k => ({x, y: c[k], name: k, mode: "lines",
      line: k === "best" ? {width: 2} : {width: 1, dash: "dot"}}));
    const l = layout("convergence", "value");
    if (logy()) l.yaxis.type = "log";
    Plotly.react("plot-main", main, l, config);
    const box = document.getElementById("plots");
    for (const k of Object.keys(c).filter(k => !SKIP.has(k))) {
      let div = document.getElementById("plot-" + k);
      if (!div) {
        div = document.createElement("div");
        div.id = "plot-" + k;
        div.className = "plot";
        box.appendChild(div);
      }
      Plotly.react(div, [{x, y: c[k], name: k, mode: "lines"}], layout(k, k), config);
    }
  }

  function watchCompare(runs, seconds) {
    const col = document.getElementById("column");
    const xaxis = document.getElementById("xaxis");
    let traces = {};
    const redraw = () => {
      const names = new Set();
      Object.values(traces).forEach(c => Object.keys(c).forEach(k => names.add(k)));
      const current = col.value;
      const options = [...names].filter(k => k !== "iteration").sort();
      if (options.join() !== [...col.options].map(o => o.value).join()) {
        col.innerHTML = "";
        options.forEach(k => col.add(new Option(k, k, false, k === current)));
      }
      const k = col.value || "best";
      const data = runs.filter(r => traces[r.key] && traces[r.key][k]).map(r => ({
        x: traces[r.key][xaxis.value], y: traces[r.key][k], name: r.name, mode: "lines"}));
      const l = layout(k, k);
      l.xaxis.title.text = xaxis.value === "elapsed" ? "seconds" : "iteration";
      if (logy()) l.yaxis.type = "log";
      Plotly.react("plot-compare", data, l, config);
    };
    col.addEventListener("change", redraw);
    xaxis.addEventListener("change", redraw);
    document.getElementById("logy").addEventListener("change", redraw);
    const tick = async () => {
      for (const r of runs) {
        try {
          const t = await getJSON("/api/trace/" + encodeURI(r.key));
          if (t.problem) showProblem(r.name + ": " + t.message); else traces[r.key] = t.columns;
        } catch (e) { /* try again */ }
      }
      redraw();
      setTimeout(tick, seconds * 2000);
    };
    tick();
  }

  return {watchRuns, watchRun, watchCompare};
})();
