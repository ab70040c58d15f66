/* The sales-control board: mark the unit whose panel is open, close the panel, and bring
   the panel into view on narrow screens. htmx does the loading; no inline scripts (CSP). */
(function () {
  "use strict";

  function select(button) {
    var previous = document.querySelectorAll(".cell.selected");
    Array.prototype.forEach.call(previous, function (node) {
      node.classList.remove("selected");
      node.removeAttribute("aria-pressed");
    });
    if (button) {
      button.classList.add("selected");
      button.setAttribute("aria-pressed", "true");
    }
  }

  document.addEventListener("click", function (event) {
    var cell = event.target.closest ? event.target.closest(".cell") : null;
    if (cell) { select(cell); return; }
    var close = event.target.closest ? event.target.closest("[data-panel-close]") : null;
    if (close) {
      var panel = document.getElementById("unit-panel");
      if (panel) { panel.textContent = ""; }
      select(null);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var panel = document.getElementById("unit-panel");
    if (panel && event.target === panel && window.matchMedia("(max-width: 1099px)").matches) {
      panel.scrollIntoView({ behavior: "smooth", block: "start" });
    }
  });
})();

/* Someone else changed units (the poll's HX-Trigger): refresh the open panel if its unit is
   one of them, and keep the open unit's cell marked after its out-of-band swap. */
(function () {
  "use strict";
  document.addEventListener("property:units-changed", function (event) {
    var ids = (event.detail && event.detail.value) || [];
    var panel = document.getElementById("unit-panel");
    var head = panel ? panel.querySelector("[data-unit-id]") : null;
    if (!head) { return; }
    var id = parseInt(head.getAttribute("data-unit-id"), 10);
    if (ids.indexOf(id) < 0) { return; }
    window.setTimeout(function () {
      var cell = document.getElementById("unit-" + id);
      if (cell) { cell.classList.add("selected"); cell.setAttribute("aria-pressed", "true"); }
    }, 50);
    if (window.htmx) {
      window.htmx.ajax("GET", head.getAttribute("data-panel-url"), { target: "#unit-panel" });
    }
  });
})();
