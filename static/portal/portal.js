// The owner portal's only script: show the chosen photos' names before upload (no inline JS).
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
  let note = input.parentElement.querySelector(".chosen");
  if (!note) {
    note = document.createElement("small");
    note.className = "chosen";
    input.parentElement.appendChild(note);
  }
  note.textContent = Array.from(input.files || []).map((f) => f.name).join("、");
});
