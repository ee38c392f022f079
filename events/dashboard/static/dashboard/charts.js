// Charts of the dashboard, drawn with uPlot (served from node_modules, no build step).
// Data comes from json_script blocks and data attributes; times are Unix seconds, shown in UTC.
(function () {
  "use strict";
  const MATCHED = "#1a7f37", UNMATCHED = "#c4320a", SHARE = "#3056d3";
  const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC");

  function width(el) { return Math.max(el.clientWidth, 300); }

  function trafficChart(el, data) {
    const opts = {
      width: width(el), height: 260, tzDate: utc,
      scales: { share: { range: [0, 100] } },
      series: [
        {},
        { label: "Matched", stroke: MATCHED, fill: "rgba(26,127,55,.08)", width: 2 },
        { label: "Unmatched", stroke: UNMATCHED, fill: "rgba(196,50,10,.12)", width: 2 },
        { label: "Unmatched %", stroke: SHARE, dash: [4, 4], width: 1, scale: "share",
          value: (u, v) => v == null ? "–" : v.toFixed(2) + "%" },
      ],
      axes: [{}, { label: "events", size: 60 }, { side: 1, scale: "share", label: "% unmatched", grid: { show: false },
        values: (u, vals) => vals.map((v) => v + "%") }],
    };
    const shares = data.shares.map((s) => (s == null ? null : s * 100));
    return new uPlot(opts, [data.starts, data.matched, data.unmatched, shares], el);
  }

  function groupChart(el, data) {
    const opts = {
      width: width(el), height: 220, tzDate: utc,
      series: [{}, { label: "Unmatched", stroke: UNMATCHED, fill: "rgba(196,50,10,.12)", width: 2 }],
      axes: [{}, { label: "events", size: 60 }],
    };
    return new uPlot(opts, [data.starts, data.unmatched], el);
  }

  function sparkline(el) {
    const values = el.dataset.trend ? el.dataset.trend.split(",").map(Number) : [];
    const xs = values.map((_, i) => i);
    const opts = {
      width: 120, height: 28, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(max, 1)] } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: UNMATCHED, fill: "rgba(196,50,10,.15)", width: 1.5, points: { show: false } }],
    };
    new uPlot(opts, [xs, values], el);
  }

  function draw() {
    const charts = [];
    document.querySelectorAll("[data-chart]").forEach((el) => {
      const data = JSON.parse(document.getElementById(el.dataset.chart).textContent);
      charts.push([el, el.dataset.kind === "traffic" ? trafficChart(el, data) : groupChart(el, data)]);
    });
    document.querySelectorAll(".spark[data-trend]").forEach(sparkline);
    window.addEventListener("resize", () => {
      charts.forEach(([el, chart]) => chart.setSize({ width: width(el), height: chart.height }));
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
