/* Anju shell behaviour. No inline handlers anywhere (the CSP forbids them): everything is
   bound here, from data- attributes. */
(function () {
  "use strict";

  function csrfToken() {
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function bindNavToggle() {
    var button = document.getElementById("nav-toggle");
    var nav = document.getElementById("sidenav");
    if (!button || !nav) { return; }
    button.addEventListener("click", function () {
      var open = document.body.classList.toggle("nav-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && document.body.classList.contains("nav-open")) {
        document.body.classList.remove("nav-open");
        button.setAttribute("aria-expanded", "false");
        button.focus();
      }
    });
  }

  var charts = [];

  function drawCharts(root) {
    if (!window.echarts) { return; }
    var nodes = (root || document).querySelectorAll("[data-chart-url]:not([data-chart-ready])");
    Array.prototype.forEach.call(nodes, function (node) {
      node.setAttribute("data-chart-ready", "1");
      fetch(node.getAttribute("data-chart-url"), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      }).then(function (option) {
        var chart = window.echarts.init(node, null, { renderer: "svg" });
        chart.setOption(option);
        charts.push(chart);
        node.setAttribute("data-chart-drawn", "1");
      }).catch(function () {
        node.classList.add("chart-error");
        node.textContent = node.getAttribute("data-chart-error") || "—";
      });
    });
  }

  function updateBadge(count) {
    var badge = document.getElementById("unread-badge");
    if (!badge || isNaN(count)) { return; }
    badge.setAttribute("data-count", String(count));
    badge.textContent = count > 99 ? "99+" : (count > 0 ? String(count) : "");
    badge.classList.toggle("badge-empty", count === 0);
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindNavToggle();
    drawCharts(document);
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) { drawCharts(event.target); });
  // A response may announce the new unread count: HX-Trigger: {"anju:unread": 3}
  document.addEventListener("anju:unread", function (event) {
    updateBadge(parseInt(event.detail && event.detail.value, 10));
  });

  window.Anju = { csrfToken: csrfToken, drawCharts: drawCharts, updateBadge: updateBadge };
})();
