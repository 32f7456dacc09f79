// Draws a report page's chart with the pinned ECharts copy, from the JSON block the page carries
// (the CSP forbids inline script, so the data is a <script type="application/json">, not code).
(function () {
  "use strict";
  var holder = document.getElementById("report-chart");
  var source = document.getElementById("report-chart-data");
  if (!holder || !source || typeof echarts === "undefined") { return; }
  var spec = JSON.parse(source.textContent);
  var names = spec.rows.map(function (row) { return String(row[spec.x]); });

  function value(row, serie) {
    var v = row[serie.key];
    if (v === null || v === undefined) { return null; }
    if (serie.kind === "pct") { return Math.round(v * 1000) / 10; }      // percent
    if (serie.kind === "fen" || serie.kind === "score") { return v / 100; }  // yuan, score
    return v;
  }

  var option;
  if (spec.kind === "pie") {
    var first = spec.series[0];
    option = {
      tooltip: {trigger: "item"},
      series: [{type: "pie", radius: "65%", name: first.name,
                data: spec.rows.map(function (row, i) { return {name: names[i], value: value(row, first)}; })}]
    };
  } else {
    option = {
      tooltip: {trigger: "axis"},
      legend: {top: 0},
      grid: {left: 48, right: 24, top: 36, bottom: 48},
      xAxis: {type: "category", data: names},
      yAxis: {type: "value"},
      dataZoom: names.length > 40 ? [{type: "inside"}, {type: "slider"}] : [],
      series: spec.series.map(function (serie) {
        return {type: spec.kind, name: serie.name, stack: spec.stack ? "total" : undefined,
                data: spec.rows.map(function (row) { return value(row, serie); })};
      })
    };
  }
  holder.classList.add("drawn");
  var chart = echarts.init(holder, null, {renderer: "canvas"});
  // "finished": the bars have grown to their values (what a screenshot should show).
  chart.on("finished", function () { holder.setAttribute("data-settled", "1"); });
  chart.setOption(option);
  window.addEventListener("resize", function () { chart.resize(); });
})();
