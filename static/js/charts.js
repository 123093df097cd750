// Draws the page's charts: each `<div data-chart="ID">` gets the figure JSON of `<script type="application/json"
// id="ID">` (written by the server, see segmentation/ml/charts/base.py render_div).
// - Charts near the viewport are drawn first (IntersectionObserver), the others one at a time when the browser
//   is idle, so the first charts show at once and the page stays responsive while the rest are drawn.
// - Narrow screens (< 640 px): legend below the plot, smaller margins, long titles wrapped; charts follow their
//   box's width (config responsive) and are re-laid out when the width crosses that line.
// - A drawn chart's div gets `data-drawn="1"` (tests and the page benchmark wait for it).
(function () {
  "use strict";
  var NARROW = 640;
  var CONFIG = { responsive: true, displaylogo: false };
  var pending = [];
  var idleQueued = false;

  function isNarrow() {
    return window.innerWidth < NARROW;
  }

  function wrap(text, width) {
    // Break a title into lines of at most `width` characters at spaces (Plotly titles do not wrap).
    if (!text || text.length <= width || text.indexOf("<br>") !== -1) return text;
    var words = text.split(" ");
    var lines = [];
    var line = "";
    words.forEach(function (word) {
      if (line && (line + " " + word).length > width) {
        lines.push(line);
        line = word;
      } else {
        line = line ? line + " " + word : word;
      }
    });
    if (line) lines.push(line);
    return lines.join("<br>");
  }

  function titleText(title) {
    if (!title) return "";
    return typeof title === "string" ? title : title.text || "";
  }

  function narrowLayout(el, layout) {
    // The figure's own layout, adapted to a narrow box; the original is kept on the element.
    var out = Object.assign({}, layout);
    var chars = Math.max(24, Math.floor((el.clientWidth || 360) / 8));
    var title = titleText(layout.title);
    if (title) {
      var lines = wrap(title, chars);
      out.title = Object.assign({}, typeof layout.title === "object" ? layout.title : {}, {
        text: lines,
        font: Object.assign({}, (layout.title && layout.title.font) || {}, { size: 14 }),
      });
    }
    out.margin = Object.assign({}, layout.margin || {}, { l: 48, r: 12 });
    if (layout.annotations) {
      // Subplot titles are annotations: smaller, so neighbours do not run into each other.
      out.annotations = layout.annotations.map(function (a) {
        var size = Math.min((a.font && a.font.size) || 12, 11);
        return Object.assign({}, a, { font: Object.assign({}, a.font || {}, { size: size }) });
      });
    }
    if (title) out.margin.t = Math.max((layout.margin && layout.margin.t) || 0, 30 + 18 * lines_count(out.title.text));
    if (layout.showlegend !== false) {
      out.legend = Object.assign({}, layout.legend || {}, {
        orientation: "h",
        x: 0,
        xanchor: "left",
        y: -0.18,
        yanchor: "top",
      });
      // Room for the legend under the plot: the chart grows instead of squeezing its plot area.
      out.height = (layout.height || 420) + 120;
    }
    return out;
  }

  function lines_count(text) {
    return (text.match(/<br>/g) || []).length + 1;
  }

  function layoutFor(el) {
    var layout = el._segmentaLayout;
    return isNarrow() ? narrowLayout(el, layout) : layout;
  }

  function draw(el) {
    if (el.dataset.drawn || el.dataset.drawing) return;
    var source = document.getElementById(el.dataset.chart);
    if (!source || !window.Plotly) return;
    el.dataset.drawing = "1";
    var figure = JSON.parse(source.textContent);
    el._segmentaLayout = figure.layout || {};
    el._segmentaNarrow = isNarrow();
    var layout = layoutFor(el);
    if (layout.height) el.style.height = layout.height + "px";
    window.Plotly.newPlot(el, figure.data || [], layout, CONFIG).then(function () {
      el.dataset.drawn = "1";
      delete el.dataset.drawing;
    });
  }

  function drawNextWhenIdle() {
    if (idleQueued) return;
    pending = pending.filter(function (el) {
      return !el.dataset.drawn && !el.dataset.drawing;
    });
    if (!pending.length) return;
    idleQueued = true;
    var later = window.requestIdleCallback || function (fn) { return window.setTimeout(fn, 50); };
    later(function () {
      idleQueued = false;
      var el = pending.shift();
      if (el) draw(el);
      drawNextWhenIdle();
    });
  }

  function relayoutOnWidthChange() {
    var narrow = isNarrow();
    document.querySelectorAll("[data-chart][data-drawn]").forEach(function (el) {
      if (el._segmentaNarrow === narrow) return;
      el._segmentaNarrow = narrow;
      var layout = layoutFor(el);
      el.style.height = (layout.height || 420) + "px";
      window.Plotly.react(el, el.data, layout, CONFIG);
    });
  }

  function start() {
    var charts = Array.prototype.slice.call(document.querySelectorAll("[data-chart]"));
    if (!charts.length || !window.Plotly) return;
    pending = charts.slice();
    if ("IntersectionObserver" in window) {
      var observer = new IntersectionObserver(
        function (entries) {
          entries.forEach(function (entry) {
            if (entry.isIntersecting) {
              observer.unobserve(entry.target);
              draw(entry.target);
            }
          });
          drawNextWhenIdle();
        },
        { rootMargin: "300px 0px" }
      );
      charts.forEach(function (el) {
        observer.observe(el);
      });
    } else {
      charts.forEach(draw);
    }
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(relayoutOnWidthChange, 150);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
