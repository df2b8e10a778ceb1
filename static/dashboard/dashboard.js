/* Operations dashboard: draws each metric's weekly trend from the json_script data (no inline
 * script, so a strict CSP holds). The page reads fine without this file: every number and every
 * weekly value is in the HTML. Lines differ by dash pattern and point shape, not colour alone,
 * and each line is labelled at its end. */
(function () {
  "use strict";

  var STYLES = [
    { color: "#0b5cad", dash: [], point: "circle" },
    { color: "#7a3e9d", dash: [7, 4], point: "rectRot" },
    { color: "#1d2733", dash: [2, 3], point: "triangle" },
  ];
  var TARGET = { color: "#b3261e", dash: [4, 4] };

  function format(value, unit) {
    if (value === null || value === undefined) return "—";
    if (unit === "ratio") return (value * 100).toFixed(1) + " %";
    if (value < 120) return value.toFixed(0) + " s";
    return value < 7200 ? (value / 60).toFixed(1) + " min" : (value / 3600).toFixed(1) + " h";
  }

  // Axis ticks of a duration: round durations only (a log axis would offer 2, 3, … 90 in between).
  var NICE = [[1, "1 s"], [10, "10 s"], [60, "1 min"], [600, "10 min"], [3600, "1 h"], [36000, "10 h"],
              [86400, "1 day"], [864000, "10 days"]];
  function durationTicks(scale) {
    scale.ticks = NICE.filter(function (t) { return t[0] >= scale.min && t[0] <= scale.max; })
      .map(function (t) { return { value: t[0], label: t[1] }; });
  }
  function durationTick(value) {
    var found = NICE.filter(function (t) { return t[0] === value; })[0];
    return found ? found[1] : "";
  }

  // The last value of each line written beside it: the reader needs no legend lookup.
  var endLabels = {
    id: "endLabels",
    afterDatasetsDraw: function (chart, args, options) {
      var ctx = chart.ctx;
      ctx.save();
      ctx.font = "600 11px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      chart.data.datasets.forEach(function (dataset, index) {
        var meta = chart.getDatasetMeta(index);
        if (meta.hidden) return;
        for (var i = dataset.data.length - 1; i >= 0; i--) {
          if (dataset.data[i] === null || dataset.data[i] === undefined) continue;
          var point = meta.data[i];
          ctx.fillStyle = dataset.borderColor;
          if (dataset.isTarget) {
            // The target's name at the left end, so it never sits on the series' labels at the right.
            ctx.textAlign = "left";
            ctx.fillText("Target", chart.chartArea.left + 4, Math.max(chart.chartArea.top + 6, point.y - 8));
            break;
          }
          ctx.textAlign = "right";
          var y = point.y + (index % 2 ? 11 : -11);
          var text = dataset.label + " " + format(dataset.data[i], options.unit);
          ctx.fillText(text, Math.min(point.x - 6, chart.chartArea.right),
                       Math.min(Math.max(chart.chartArea.top + 6, y), chart.chartArea.bottom - 6));
          break;
        }
      });
      ctx.restore();
    },
  };

  function draw(canvas, chart, weeks) {
    if (window.Chart.getChart(canvas)) window.Chart.getChart(canvas).destroy();
    var labels = weeks.map(function (week) {
      var d = new Date(week + "T00:00:00");
      return d.toLocaleDateString(undefined, { day: "numeric", month: "short" });
    });
    var datasets = chart.series.map(function (series, index) {
      var style = STYLES[index % STYLES.length];
      return {
        label: series.label, data: series.values, borderColor: style.color, backgroundColor: style.color,
        borderDash: style.dash, pointStyle: style.point, pointRadius: 3.5, borderWidth: 2, spanGaps: true,
      };
    });
    datasets.push({
      label: "Target", isTarget: true, data: weeks.map(function () { return chart.target; }),
      borderColor: TARGET.color, borderDash: TARGET.dash, borderWidth: 1.5, pointRadius: 0,
    });
    new window.Chart(canvas, {
      type: "line",
      data: { labels: labels, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        layout: { padding: { top: 14 } },
        plugins: {
          legend: { display: false },
          endLabels: { unit: chart.unit },
          tooltip: { callbacks: { label: function (item) {
            return item.dataset.label + ": " + format(item.parsed.y, chart.unit);
          } } },
        },
        scales: {
          y: chart.unit === "ratio"
            ? { min: 0, max: 1, ticks: { callback: function (v) { return Math.round(v * 100) + " %"; }, maxTicksLimit: 5 } }
            // Durations on a log axis: the median and the tail (seconds vs hours) both stay readable.
            : { type: "logarithmic", min: 1, afterBuildTicks: durationTicks, ticks: { callback: durationTick } },
          x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 6 } },
        },
      },
      plugins: [endLabels],
    });
    canvas.dataset.drawn = "1";
  }

  function init() {
    var source = document.getElementById("dashboard-charts");
    if (!source || !window.Chart) return;
    document.documentElement.classList.add("js-charts");
    var data = JSON.parse(source.textContent);
    var byKey = {};
    data.charts.forEach(function (chart) { byKey[chart.key] = chart; });
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var chart = byKey[canvas.dataset.chart];
      if (chart) draw(canvas, chart, data.weeks);
    });
  }

  document.addEventListener("DOMContentLoaded", init);
  // A period switch swaps the whole dashboard region: draw its new canvases.
  document.addEventListener("htmx:afterSettle", init);
})();
