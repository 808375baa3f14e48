// The report's inline style sheet and script. The script only filters: it shows or hides the
// server-rendered conversations by their data-* attributes and counts what is shown. It never
// turns data into HTML, so the page's escaping is all done (and tested) on the server.

export const STYLE = `
:root { --fg: #1d2330; --muted: #5b6472; --line: #d9dee7; --bg: #ffffff; --soft: #f4f6fa; --accent: #4e79a7; --noise: #e15759; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; color: var(--fg); background: var(--bg); }
header, main { max-width: 1360px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.sub { color: var(--muted); margin: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
.card { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 130px; }
.card .v { font-size: 20px; font-weight: 600; }
.card .k { color: var(--muted); font-size: 12px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(600px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 10px; background: #fff; overflow-x: auto; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; }
svg.chart { display: block; max-width: 100%; height: auto; font: 12px system-ui, "Liberation Sans", sans-serif; }
svg .chart-title { font-size: 14px; font-weight: 600; fill: var(--fg); }
svg .label, svg .tick, svg .legend { fill: var(--fg); }
svg .value { fill: var(--muted); font-size: 11px; }
svg .grid { stroke: #e8ebf0; }
svg .axis { stroke: #9aa3b1; }
table { border-collapse: collapse; margin: 6px 0 14px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px 4px 0; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.filters { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: end; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px; }
.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
.filters select, .filters input { font: inherit; color: var(--fg); min-width: 170px; max-width: 320px; }
.filters button { font: inherit; }
.count { color: var(--muted); }
details.conv { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; background: #fff; }
details.conv[hidden] { display: none; }
details.conv > summary { cursor: pointer; padding: 6px 10px; list-style-position: inside; }
details.conv[open] > summary { border-bottom: 1px solid var(--line); background: var(--soft); }
.cid { font-family: ui-monospace, "Liberation Mono", monospace; font-size: 12px; }
.pill { display: inline-block; border: 1px solid var(--line); border-radius: 10px; padding: 0 7px; font-size: 12px; background: var(--soft); }
.pill.noised { border-color: var(--noise); color: var(--noise); background: #fff; }
.turns, .persona, .meta, .how { color: var(--muted); font-size: 12px; }
.how { text-transform: none; font-weight: normal; }
.meta { padding: 6px 10px 0; }
.messages { padding: 6px 10px 10px; }
.msg { margin: 6px 0; padding: 6px 8px; border-left: 3px solid var(--line); }
.msg.user { border-left-color: var(--accent); background: #f6f9fd; }
.msg.assistant { border-left-color: #59a14f; }
.msg.noised { border-left-color: var(--noise); }
.role { font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
.side { font-size: 11px; color: var(--muted); }
mark { background: #ffe08a; border-radius: 2px; }
.text.clean mark { background: #d7ecff; }
pre.json { max-height: 420px; overflow: auto; background: var(--soft); padding: 10px; font-size: 12px; }
`;

// Plain ES2017, no modules: runs from a file:// page in any current browser.
export const SCRIPT = `
(function () {
  "use strict";
  var byId = function (id) { return document.getElementById(id); };
  var form = byId("filters");
  if (!form) return;
  var feature = byId("f-feature"), model = byId("f-model"), stop = byId("f-stop"),
      noise = byId("f-noise"), text = byId("f-text"), shown = byId("shown-count");
  var items = Array.prototype.slice.call(document.querySelectorAll("#conversation-list > details.conv"));
  var lower = items.map(function (el) { return el.textContent.toLowerCase(); });
  function apply() {
    var f = feature.value, m = model.value, s = stop.value, n = noise.value;
    var words = text.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var count = 0;
    items.forEach(function (el, i) {
      var ok = (!f || el.getAttribute("data-features").split(" ").indexOf(f) >= 0) &&
        (!m || el.getAttribute("data-model") === m) &&
        (!s || el.getAttribute("data-stop") === s) &&
        (!n || (n === "noised") === (el.getAttribute("data-noised") === "1")) &&
        words.every(function (w) { return lower[i].indexOf(w) >= 0; });
      el.hidden = !ok;
      if (ok) count++;
    });
    shown.textContent = String(count);
  }
  [feature, model, stop, noise].forEach(function (el) { el.addEventListener("change", apply); });
  text.addEventListener("input", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  byId("f-reset").addEventListener("click", function () { form.reset(); apply(); });
  byId("f-expand").addEventListener("click", function () {
    items.forEach(function (el) { if (!el.hidden) el.open = true; });
  });
  byId("f-collapse").addEventListener("click", function () {
    items.forEach(function (el) { el.open = false; });
  });
  apply();
})();
`;
