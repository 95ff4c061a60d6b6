// The architecture page's live boxes. The server draws the page as it
// was when asked; this keeps it up to date from the view stream
// (GET /admin/architecture/events, one "view" event about twice a
// second), rebuilding each tier's boxes with the same markup the
// template makes. Text only goes in through textContent.
(function () {
  "use strict";
  var arch = document.getElementById("arch");
  if (!arch || !window.EventSource) return;
  var live = document.getElementById("arch-live");
  var at = document.getElementById("arch-at");
  var seen = document.getElementById("arch-seen");

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function facts(list) {
    var dl = el("dl");
    (list || []).forEach(function (f) {
      var row = el("div");
      row.appendChild(el("dt", "", f.label));
      row.appendChild(el("dd", "", f.value));
      dl.appendChild(row);
    });
    return dl;
  }

  function nodeBox(n) {
    var box = el("article", "box");
    box.setAttribute("data-node", n.node);
    box.setAttribute("data-addr", n.addr);
    box.setAttribute("data-state", n.state);
    box.appendChild(el("h3", "", (n.roles || []).join("+") + " " + n.addr));
    box.appendChild(el("p", "state", n.state));
    box.appendChild(facts(n.facts));
    return box;
  }

  function engineBox(e) {
    var box = el("article", "box");
    box.setAttribute("data-engine", e.id);
    box.setAttribute("data-kind", e.kind);
    box.setAttribute("data-state", e.state);
    box.appendChild(el("h3", "", e.name));
    box.appendChild(el("p", "state", e.state));
    if (e.detail) box.appendChild(el("p", "detail", e.detail));
    box.appendChild(facts(e.facts));
    return box;
  }

  function fill(holder, boxes) {
    var frag = document.createDocumentFragment();
    boxes.forEach(function (b) { frag.appendChild(b); });
    if (!boxes.length) frag.appendChild(el("p", "none", "None announcing itself."));
    holder.replaceChildren(frag);
  }

  function draw(view) {
    arch.querySelectorAll("[data-role]").forEach(function (holder) {
      var role = holder.getAttribute("data-role");
      fill(holder, (view.nodes || []).filter(function (n) {
        return (n.roles || []).indexOf(role) >= 0;
      }).map(nodeBox));
    });
    var engines = arch.querySelector("[data-engines]");
    engines.replaceChildren.apply(engines, (view.engines || []).map(engineBox));
    at.textContent = "As of " + new Date(view.at).toISOString().slice(11, 19) + " UTC.";
    seen.textContent = view.seen_by;
  }

  var stream = new EventSource(arch.getAttribute("data-stream"));
  live.textContent = "Connecting for live updates\u2026";
  stream.onopen = function () { live.textContent = "Live."; arch.setAttribute("data-live", "open"); };
  stream.onerror = function () { live.textContent = "Live updates interrupted; reconnecting\u2026"; arch.setAttribute("data-live", "down"); };
  stream.addEventListener("view", function (e) {
    var view;
    try { view = JSON.parse(e.data); } catch (err) { return; }
    draw(view);
  });
})();
