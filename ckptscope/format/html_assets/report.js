// ckptscope HTML report: show a treemap cell's details on hover, focus or tap. Every figure is already in the
// page (the cell's data-d attribute, written by Python); this script only copies text into the panel.
(function () {
  "use strict";
  function show(el) {
    var panel = document.getElementById(el.closest("figure").getAttribute("data-panel"));
    if (!panel) { return; }
    var d = el.getAttribute("data-d") || "";
    var lines = d.split("\n");
    panel.textContent = "";
    var b = document.createElement("b");
    b.textContent = lines[0];
    panel.appendChild(b);
    for (var i = 1; i < lines.length; i++) {
      panel.appendChild(document.createElement("br"));
      panel.appendChild(document.createTextNode(lines[i]));
    }
    var prev = document.querySelectorAll(".cell.sel");
    for (var j = 0; j < prev.length; j++) { prev[j].classList.remove("sel"); }
    el.classList.add("sel");
  }
  function handler(ev) {
    var el = ev.target.closest ? ev.target.closest("[data-d]") : null;
    if (el) { show(el); }
  }
  document.addEventListener("mouseover", handler);
  document.addEventListener("focusin", handler);
  document.addEventListener("click", handler);
})();
