// JSON Schema validation against the schemas a credential names that the package ships (as
// creditledger.audit.vc.schemas does); the validators were compiled by ajv at build time.
import { SCHEMAS } from "virtual:schemas";
import { Invalid } from "./integrity.mjs";

const SCHEMA_TYPE = "JsonSchema";

export function checkSchemas(document, required) {
  const value = document.credentialSchema;
  const entries = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  const urls = entries.map((entry) => {
    if (!entry || typeof entry !== "object" || entry.type !== SCHEMA_TYPE || typeof entry.id !== "string") {
      throw new Invalid(`credentialSchema entry ${JSON.stringify(entry)} is not a ${SCHEMA_TYPE} with an id`);
    }
    return entry.id;
  });
  const missing = required.filter((u) => !urls.includes(u));
  if (missing.length) throw new Invalid(`credentialSchema does not name ${missing[0]}`);
  const shipped = urls.filter((u) => Object.hasOwn(SCHEMAS, u));
  for (const url of shipped) {
    const validate = SCHEMAS[url];
    if (!validate(document)) {
      const e = validate.errors[0];
      throw new Invalid(`not valid against ${url}: ${e.instancePath || "(document)"}: ${e.message}`);
    }
  }
  return [shipped, urls.filter((u) => !shipped.includes(u))];
}

export function schemaResult([checked, notShipped]) {
  const text = checked.length ? `valid against ${checked.join(", ")}` : "no shipped schema named";
  return text + (notShipped.length ? `; not checked (not shipped): ${notShipped.join(", ")}` : "");
}
