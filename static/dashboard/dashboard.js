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
    return value < 120 ? value.toFixed(0) + " s" : (value / 60).toFixed(1) + " min";
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
          var text = dataset.label + (dataset.isTarget ? "" : " " + format(dataset.data[i], options.unit));
          ctx.fillStyle = dataset.borderColor;
          ctx.textAlign = "right";
          var y = point.y + (dataset.isTarget ? -8 : (index % 2 ? 10 : -10));
          ctx.fillText(text, Math.min(point.x - 6, chart.chartArea.right), Math.max(chart.chartArea.top + 6, y));
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
            : { min: 0, ticks: { callback: function (v) { return format(v, "seconds"); }, maxTicksLimit: 5 } },
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
