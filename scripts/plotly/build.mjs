// Builds the partial plotly.js bundles Segmenta serves, from the npm package plotly.js pinned in package.json
// (the version the Python plotly package embeds), minified with esbuild, with plotly.js's licence header.
// Writes into static/vendor/plotly/:
//   plotly-segmenta.min.js     plotly.js/lib/core + the `main` traces of traces.json; sets the global `Plotly`
//   plotly-segmenta-gl.min.js  the `gl` traces; registers them on that same `Plotly` (needs the main bundle)
//   plotly-segmenta.json       what they hold: plotly.js version, trace types, sizes and sha256 (read by the tests)
// The add-on shares the main bundle's modules instead of carrying its own copies: every module it needs that
// the main bundle already has is read from `window.__segmentaPlotlyModules` (written by the main bundle), so
// there is one registry and one `Plotly`.
// Run `make plotly` (npm ci + this script) when the trace lists or the plotly.js version change. The built files
// are committed: `make run` and CI need no JavaScript toolchain.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const out = path.resolve(here, "../../static/vendor/plotly");
const traces = JSON.parse(readFileSync(path.join(here, "traces.json"), "utf8"));
const version = require("plotly.js/package.json").version;
const SHARED = "__segmentaPlotlyModules";

const header = (what) =>
  [
    "/**",
    `* plotly.js v${version} (Segmenta partial bundle: ${what} - minified)`,
    "* Copyright 2012-2025, Plotly, Inc.",
    "* All rights reserved.",
    "* Licensed under the MIT license",
    "*/",
  ].join("\n");

const options = (contents, name, banner, plugins = []) => ({
  stdin: { contents, resolveDir: here, sourcefile: name },
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2016",
  legalComments: "eof",
  define: { global: "window", "define.amd": "false", "process.env.NODE_DEBUG": "false" },
  loader: { ".css": "empty" }, // only maplibre's stylesheet (map traces, in neither bundle)
  banner: { js: banner },
  metafile: true,
  write: false,
  logLevel: "warning",
  plugins,
});

const key = (file) => path.relative(here, file).split(path.sep).join("/");

function mainEntry(shared) {
  return [
    'var Plotly = require("plotly.js/lib/core");',
    `Plotly.register([${traces.main.map((t) => `require("plotly.js/lib/${t}")`).join(", ")}]);`,
    `window.${SHARED} = {`,
    ...[...shared].sort().map((file) => `  ${JSON.stringify(key(file))}: require(${JSON.stringify(file)}),`),
    "};",
    "window.Plotly = Plotly;",
  ].join("\n");
}

const glEntry = [
  "if (!window.Plotly || !window.__segmentaPlotlyModules) throw new Error('plotly-segmenta-gl needs plotly-segmenta first');",
  `window.Plotly.register([${traces.gl.map((t) => `require("plotly.js/lib/${t}")`).join(", ")}]);`,
].join("\n");

// 1. The main bundle alone: which modules it holds.
const first = await esbuild.build(options(mainEntry([]), "plotly-segmenta.js", ""));
const inMain = new Set(Object.keys(first.metafile.inputs).map((p) => path.resolve(here, p)));

// 2. The add-on, taking from the main bundle every module the main bundle holds.
const shared = new Set();
const fromMain = {
  name: "from-main-bundle",
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.kind === "entry-point" || args.pluginData?.inner) return undefined;
      const found = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { inner: true },
      });
      if (found.errors.length || !inMain.has(found.path)) return undefined;
      shared.add(found.path);
      return { path: found.path, namespace: "main-bundle" };
    });
    build.onLoad({ filter: /.*/, namespace: "main-bundle" }, (args) => ({
      contents: `module.exports = window.${SHARED}[${JSON.stringify(key(args.path))}];`,
      loader: "js",
    }));
  },
};
const gl = await esbuild.build(
  options(glEntry, "plotly-segmenta-gl.js", header(traces.gl.join(", ")), [fromMain]),
);

// 3. The main bundle again, now handing the add-on the modules it takes.
const main = await esbuild.build(options(mainEntry(shared), "plotly-segmenta.js", header(traces.main.join(", "))));

mkdirSync(out, { recursive: true });
const files = {};
for (const [name, result, list] of [
  ["plotly-segmenta.min.js", main, traces.main],
  ["plotly-segmenta-gl.min.js", gl, traces.gl],
]) {
  const code = result.outputFiles[0].contents;
  writeFileSync(path.join(out, name), code);
  files[name] = { traces: list, bytes: code.length, sha256: createHash("sha256").update(code).digest("hex") };
  console.log(`${name}: plotly.js ${version}, ${list.join(", ")}: ${code.length} bytes`);
}
const manifest = {
  plotly_js_version: version,
  built_by: "scripts/plotly/build.mjs (make plotly)",
  shared_modules: shared.size,
  files,
};
writeFileSync(path.join(out, "plotly-segmenta.json"), JSON.stringify(manifest, null, 2) + "\n");
