// Draws the page's charts: each `<div data-chart="ID">` gets the figure JSON of `<script type="application/json"
// id="ID">` (written by the server, see segmentation/ml/charts/base.py render_div).
// - Charts near the viewport are drawn first (IntersectionObserver), the others one at a time when the browser
//   is idle, so the first charts show at once and the page stays responsive while the rest are drawn.
// - Narrow screens (< 640 px): legend below the plot, smaller margins, long titles wrapped; charts follow their
//   box's width (config responsive) and are re-laid out when the width crosses that line.
// - A drawn chart's div gets `data-drawn="1"` and `data-drawn-at` (ms since navigation start): tests and the
//   page benchmark (bench/bench_browser.py) wait for and read them.
// - plotly.js is Segmenta's partial bundle (static/vendor/plotly, built by scripts/plotly): the page loads the
//   main part (2D traces); the WebGL traces (GL_TRACES) are an add-on, loaded once, only before the first
//   figure that has one is drawn. It registers them on the same global `Plotly`.
(function () {
  "use strict";
  var NARROW = 640;
  var CONFIG = { responsive: true, displaylogo: false };
  // The `gl` list of scripts/plotly/traces.json (tests/test_plotly_bundle.py checks they agree).
  var GL_TRACES = ["scatter3d", "scattergl", "splom"];
  var GL_IN_JSON = new RegExp('"type": ?"(' + GL_TRACES.join("|") + ')"');
  var script = document.currentScript;
  var glUrl = script && script.dataset.plotlyGl;
  var glLoading = null;
  var pending = [];
  var idleQueued = false;

  function needsGl(source) {
    return GL_IN_JSON.test(source.textContent);
  }

  function loadGl() {
    // The WebGL add-on, once per page; resolves when its traces are registered.
    if (!glLoading) {
      glLoading = new Promise(function (resolve, reject) {
        if (!glUrl) return reject(new Error("charts.js: no data-plotly-gl URL for the WebGL traces"));
        var tag = document.createElement("script");
        tag.src = glUrl;
        tag.onload = resolve;
        tag.onerror = function () {
          glLoading = null;
          reject(new Error("charts.js: could not load " + glUrl));
        };
        document.head.appendChild(tag);
      });
    }
    return glLoading;
  }

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

  function axisKeys(layout, letter) {
    return Object.keys(layout).filter(function (k) {
      return new RegExp("^" + letter + "axis\\d*$").test(k);
    });
  }

  function narrowLayout(el, layout, data) {
    // The figure's own layout, adapted to a narrow box; the original is kept on the element.
    var out = Object.assign({}, layout);
    var width = el.clientWidth || 360;
    var title = titleText(layout.title);
    var titleLines = 0;
    if (title) {
      var text = wrap(title, Math.max(24, Math.floor(width / 8)));
      titleLines = lineCount(text);
      out.title = Object.assign({}, layout.title || {}, {
        text: text,
        font: Object.assign({}, (layout.title && layout.title.font) || {}, { size: 14 }),
      });
    }
    var columns = Math.max(1, axisKeys(layout, "x").length > 1 ? 2 : 1);
    var subplotTitles = false;
    if (layout.annotations) {
      // Subplot titles (annotations placed on the paper): smaller and wrapped to their column's width.
      out.annotations = layout.annotations.map(function (a) {
        var font = Object.assign({}, a.font || {}, { size: Math.min((a.font && a.font.size) || 12, 10) });
        var copy = Object.assign({}, a, { font: font });
        if (a.xref === "paper" && a.yref === "paper" && a.text) {
          subplotTitles = true;
          copy.text = wrap(a.text, Math.max(14, Math.floor(width / columns / 6.5)));
        }
        return copy;
      });
    }
    out.margin = Object.assign({}, layout.margin || {}, { l: 48, r: 12 });
    out.margin.t = Math.max((layout.margin && layout.margin.t) || 0, 24 + 20 * titleLines + (subplotTitles ? 24 : 0));
    if (subplotTitles) {
      // Each subplot is titled: its axis titles would only crowd the neighbours.
      axisKeys(layout, "y").forEach(function (k) {
        out[k] = Object.assign({}, layout[k], { title: { text: "" } });
      });
    }
    if (axisKeys(layout, "y").length > 2) out.height = Math.round((layout.height || 420) * 1.3);
    (data || []).forEach(function (trace) {
      // A colour bar beside a narrow plot takes a third of its width: below it instead.
      if (trace.type !== "heatmap") return;
      // A heatmap's category labels wrapped, its colour bar below the plot instead of beside it, and no axis
      // titles (the categories say it): a narrow plot keeps most of its width for the cells.
      var wrapAll = function (values, chars) {
        return Array.isArray(values)
          ? values.map(function (v) {
              return typeof v === "string" ? wrap(v, chars) : v;
            })
          : values;
      };
      var columns = Array.isArray(trace.x) ? trace.x.length : 0;
      // Up to three columns: labels wrapped under their column; more: labels upright (rotated), unwrapped.
      if (columns <= 3) trace.x = wrapAll(trace.x, 12);
      trace.y = wrapAll(trace.y, 18);
      out.xaxis = Object.assign({}, layout.xaxis || {}, { tickangle: columns <= 3 ? 0 : -90, title: { text: "" } });
      out.yaxis = Object.assign({}, layout.yaxis || {}, { title: { text: "" } });
      var longest = Math.max.apply(null, [0].concat((trace.x || []).map(function (v) { return String(v).length; })));
      // Room for the labels under the plot, so the cells keep the figure's height.
      out.height = (out.height || layout.height || 420) + (columns <= 3 ? 40 : Math.min(longest * 6, 260));
      if (trace.showscale !== false) {
        // At the very bottom of the figure, under the axis labels whatever their height.
        trace.colorbar = Object.assign({}, trace.colorbar || {}, {
          orientation: "h",
          x: 0.5,
          xanchor: "center",
          yref: "container",
          y: 0.01,
          yanchor: "bottom",
          thickness: 12,
          nticks: 4,
          tickangle: 0,
          title: Object.assign({}, (trace.colorbar && trace.colorbar.title) || {}, { side: "right" }),
        });
        out.margin.b = Math.max((layout.margin && layout.margin.b) || 0, 50) + 60;
        out.height = (out.height || layout.height || 420) + 60;
      }
    });
    if (layout.showlegend !== false && (data || []).length > 1) {
      out.legend = Object.assign({}, layout.legend || {}, {
        orientation: "h",
        x: 0,
        xanchor: "left",
        y: -0.18,
        yanchor: "top",
        title: Object.assign({}, (layout.legend && layout.legend.title) || {}, { side: "top" }),
      });
      // Room for the legend under the plot: the chart grows instead of squeezing its plot area.
      out.height = (out.height || layout.height || 420) + 24 * Math.min(data.length, 12);
    }
    return out;
  }

  function lineCount(text) {
    return (text.match(/<br>/g) || []).length + 1;
  }

  function layoutFor(el, data) {
    var layout = el._segmentaLayout;
    return isNarrow() ? narrowLayout(el, layout, data) : layout;
  }

  function draw(el) {
    if (el.dataset.drawn || el.dataset.drawing) return;
    var source = document.getElementById(el.dataset.chart);
    if (!source || !window.Plotly) return;
    el.dataset.drawing = "1";
    if (needsGl(source)) {
      loadGl().then(
        function () {
          plot(el, source);
        },
        function (error) {
          delete el.dataset.drawing;
          throw error;
        }
      );
    } else {
      plot(el, source);
    }
  }

  function plot(el, source) {
    var figure = JSON.parse(source.textContent);
    el._segmentaLayout = figure.layout || {};
    el._segmentaNarrow = isNarrow();
    var layout = layoutFor(el, figure.data);
    if (layout.height) el.style.height = layout.height + "px";
    window.Plotly.newPlot(el, figure.data || [], layout, CONFIG).then(function () {
      el.dataset.drawn = "1";
      el.dataset.drawnAt = String(Math.round(window.performance.now()));
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
      var layout = layoutFor(el, el.data);
      el.style.height = (layout.height || 420) + "px";
      window.Plotly.react(el, el.data, layout, CONFIG);
    });
  }

  function start() {
    var charts = Array.prototype.slice.call(document.querySelectorAll("[data-chart]"));
    if (!charts.length || !window.Plotly) return;
    pending = charts.slice();
    if (glUrl && charts.some(function (el) {
      var source = document.getElementById(el.dataset.chart);
      return source && needsGl(source);
    })) {
      // Fetched now at low priority (the script tag of loadGl reuses it), compiled only when a figure needs it.
      var hint = document.createElement("link");
      hint.rel = "preload";
      hint.as = "script";
      hint.fetchPriority = "low";
      hint.href = glUrl;
      document.head.appendChild(hint);
    }
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
