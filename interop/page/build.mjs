// Build the offline verifier page: bundle the page's modules with the pinned npm packages
// (package-lock.json) and the JSON-LD contexts the Python package ships into one HTML file.
//
//   node page/build.mjs [OUT]   (from interop/; OUT defaults to the package's asset)
//
// The output depends only on these sources, the lock file and the contexts: the test
// tests/page/test_page_build.py rebuilds it and compares it with the committed asset.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2019 from "ajv/dist/2019.js";
import draft07 from "ajv/dist/refs/json-schema-draft-07.json" with { type: "json" };
import standaloneCode from "ajv/dist/standalone/index.js";
import { _ } from "ajv/dist/compile/codegen/index.js";
import addFormats from "ajv-formats";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, "..", "..", "src", "creditledger", "audit", "vc", "data");
const out = process.argv[2] || join(here, "..", "..", "src", "creditledger", "audit", "page", "verifier.html");

// The contexts, by URL, exactly as the package ships them (data/manifest.json).
const manifest = JSON.parse(readFileSync(join(data, "manifest.json"), "utf8"));
const contexts = Object.fromEntries(Object.entries(manifest.contexts).map(([url, file]) =>
  [url, JSON.parse(readFileSync(join(data, "contexts", file), "utf8"))]));

// The JSON Schemas the package ships, compiled by ajv into plain functions now, at build time:
// the page then validates without generating code at run time (which its Content-Security-
// Policy forbids). Ajv2019 for 1EdTech's Open Badges schema (draft 2019-09), with the draft-07
// meta-schema for creditledger's; formats (date-time...) checked with ajv-formats, whose code
// the standalone module imports.
const ajv = new Ajv2019({ code: { source: true, esm: true, formats: _`require("ajv-formats/dist/formats").fullFormats` },
  strict: false, allErrors: false });
ajv.addMetaSchema(draft07);
addFormats(ajv);
for (const [url, file] of Object.entries(manifest.schemas)) {
  ajv.addSchema(JSON.parse(readFileSync(join(data, "schemas", file), "utf8")), url);
}
const schemaCode = standaloneCode(ajv, Object.fromEntries(Object.keys(manifest.schemas)
  .map((url, i) => [`schema${i}`, url]))) + `\nexport const SCHEMAS = {${Object.keys(manifest.schemas)
  .map((url, i) => `${JSON.stringify(url)}: schema${i}`).join(", ")}};\n`;

const shipped = {
  name: "contexts",
  setup(build) {
    build.onResolve({ filter: /^virtual:contexts$/ }, () => ({ path: "contexts", namespace: "contexts" }));
    build.onLoad({ filter: /.*/, namespace: "contexts" }, () => ({
      contents: `export default ${JSON.stringify(contexts)};`, loader: "js" }));
    build.onResolve({ filter: /^virtual:schemas$/ }, () => ({ path: "schemas", namespace: "schemas" }));
    build.onLoad({ filter: /.*/, namespace: "schemas" }, () => ({
      contents: schemaCode, loader: "js", resolveDir: here }));
  },
};

const result = await esbuild.build({
  entryPoints: [join(here, "ui.mjs")], bundle: true, write: false, format: "iife",
  platform: "browser", target: "chrome120", minify: true, legalComments: "inline",
  plugins: [shipped], logLevel: "warning",
});
// "</script" inside the script would end the element early; "<\/script" means the same to JS.
const script = result.outputFiles[0].text.replaceAll("</script", "<\\/script");
const template = readFileSync(join(here, "template.html"), "utf8");
writeFileSync(out, template.replace("/*__SCRIPT__*/", () => script));
console.log(`wrote ${out} (${Buffer.byteLength(template) + Buffer.byteLength(script)} bytes)`);
