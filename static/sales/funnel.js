/* The funnel chart: ECharts (vendored) drawn from the option in the page's json_script tag. */
(function () {
  "use strict";
  function draw() {
    var node = document.getElementById("funnel-chart");
    if (!node || !window.echarts) { return; }
    var source = document.getElementById(node.getAttribute("data-chart-data"));
    try {
      var chart = window.echarts.init(node, null, { renderer: "svg" });
      chart.setOption(JSON.parse(source.textContent));
      node.setAttribute("data-chart-drawn", "1");
      window.addEventListener("resize", function () { chart.resize(); });
    } catch (error) {
      node.classList.add("chart-error");
      node.textContent = node.getAttribute("data-chart-error") || "—";
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else { draw(); }
})();
