/* The contract form's running total: the plan's rows plus the deposit against the price
   (list price less the discount), updated as amounts are typed. The server checks again. */
(function () {
  "use strict";

  function cents(text) {
    var clean = String(text || "").replace(/[,¥\s]/g, "");
    if (!/^-?\d+(\.\d{0,2})?$/.test(clean)) { return clean === "" ? 0 : NaN; }
    var parts = clean.split(".");
    var sign = parts[0].charAt(0) === "-" ? -1 : 1;
    var whole = Math.abs(parseInt(parts[0], 10)) || 0;
    var frac = parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
    return sign * (whole * 100 + frac);
  }

  function show(value) {
    if (isNaN(value)) { return "—"; }
    var yuan = (Math.abs(value) / 100).toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (value < 0 ? "-¥" : "¥") + yuan;
  }

  function update(form) {
    var total = cents(form.getAttribute("data-deposit"));
    Array.prototype.forEach.call(form.querySelectorAll("input.plan-amount"), function (input) {
      total += cents(input.value);
    });
    var discount = form.querySelector("input[name=discount_amount]");
    var price = cents(form.getAttribute("data-list-price")) - cents(discount ? discount.value : 0);
    var totalNode = document.getElementById("plan-total");
    var priceNode = document.getElementById("plan-price");
    if (totalNode) {
      totalNode.textContent = show(total);
      totalNode.classList.toggle("danger", total !== price);
      totalNode.setAttribute("data-matches", total === price ? "1" : "0");
    }
    if (priceNode) { priceNode.textContent = show(price); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("contract-form");
    if (!form) { return; }
    form.addEventListener("input", function () { update(form); });
    update(form);
  });
})();
