/* Opportunity board: drag a card to another column to move the opportunity (POST with the
   CSRF token, JSON answer). The card moves only when the server accepted the move; a refused
   move shows the server's reason and the card stays where it was. Dropping on "lost" asks
   for the reason first. No inline code: the CSP forbids it. */
(function () {
  "use strict";
  var board = document.getElementById("kanban");
  if (!board) { return; }
  var status = document.getElementById("kanban-status");
  var dialog = document.getElementById("lost-dialog");
  var dragged = null;

  function say(text, kind) {
    status.hidden = false;
    status.textContent = text;
    status.className = "message message-" + kind;
  }

  function bump(column, delta) {
    var badge = column.querySelector(".kanban-count");
    var count = parseInt(badge.getAttribute("data-count"), 10) + delta;
    badge.setAttribute("data-count", String(count));
    badge.textContent = String(count);
  }

  function send(card, column, extra) {
    var body = new FormData();
    body.append("stage", column.getAttribute("data-stage"));
    Object.keys(extra || {}).forEach(function (key) { body.append(key, extra[key]); });
    card.classList.add("kanban-busy");
    var url = board.getAttribute("data-move-url").replace("/0/", "/" + card.getAttribute("data-id") + "/");
    fetch(url, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRFToken": window.Anju.csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      card.classList.remove("kanban-busy");
      if (!result.ok || !result.data.ok) {
        say(result.data.error || "—", "error");
        card.classList.add("kanban-refused");
        window.setTimeout(function () { card.classList.remove("kanban-refused"); }, 1500);
        return;
      }
      var from = card.closest(".kanban-column");
      column.querySelector(".kanban-cards").prepend(card);
      card.setAttribute("data-stage", result.data.stage);
      fillMoves(card);
      bump(from, -1);
      bump(column, 1);
      say(result.data.label, "success");
    }).catch(function () {
      card.classList.remove("kanban-busy");
      say(board.getAttribute("data-error") || "×", "error");
    });
  }

  // The per-card "move to" list (touch screens, keyboards): option labels from the columns,
  // rebuilt from the new column's allowed moves after a move.
  function columnFor(stage) {
    return board.querySelector('.kanban-column[data-stage="' + stage + '"]');
  }

  function fillMoves(card) {
    var select = card.querySelector(".kanban-move");
    var column = card.closest(".kanban-column");
    if (!select || !column) { return; }
    var first = select.options[0];
    select.innerHTML = "";
    select.appendChild(first);
    (column.getAttribute("data-moves") || "").split(",").forEach(function (stage) {
      if (!stage) { return; }
      var option = document.createElement("option");
      option.value = stage;
      option.textContent = columnFor(stage).getAttribute("data-label");
      select.appendChild(option);
    });
    select.value = "";
  }

  Array.prototype.forEach.call(board.querySelectorAll(".kanban-card"), fillMoves);

  board.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.classList || !select.classList.contains("kanban-move") || !select.value) {
      return;
    }
    var card = select.closest(".kanban-card");
    var column = columnFor(select.value);
    select.value = "";
    if (column.getAttribute("data-stage") === "lost") { askWhyLost(card, column); return; }
    send(card, column, {});
  });

  function askWhyLost(card, column) {
    var form = document.getElementById("lost-form");
    form.reset();
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue !== "ok") { return; }
      send(card, column, { lost_reason: form.elements.lost_reason.value,
                           lost_note: form.elements.lost_note.value });
    });
    dialog.showModal();
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".kanban-card");
    if (!card) { return; }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-id"));
  });
  board.addEventListener("dragover", function (event) {
    if (dragged && event.target.closest(".kanban-column")) { event.preventDefault(); }
  });
  board.addEventListener("drop", function (event) {
    var column = event.target.closest(".kanban-column");
    if (!dragged || !column) { return; }
    event.preventDefault();
    var card = dragged;
    dragged = null;
    if (column.getAttribute("data-stage") === card.getAttribute("data-stage")) { return; }
    if (column.getAttribute("data-stage") === "lost") { askWhyLost(card, column); return; }
    send(card, column, {});
  });
  board.addEventListener("dragend", function () { dragged = null; });

  // For tests and keyboards: window.AnjuKanban.move(cardId, stage[, extra]).
  window.AnjuKanban = {
    move: function (id, stage, extra) {
      var card = document.getElementById("card-" + id);
      var column = board.querySelector('.kanban-column[data-stage="' + stage + '"]');
      if (card && column) { send(card, column, extra || {}); }
    }
  };
})();
