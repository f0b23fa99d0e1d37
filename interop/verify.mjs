#!/usr/bin/env node
/*
 * An independent check that credentials creditledger issues are accepted by standard tools:
 * Digital Bazaar's @digitalbazaar/vc, the Digital Credentials Consortium's
 * @digitalcredentials/verifier-core, and JSON Schema validation with ajv.
 *
 *   node interop/verify.mjs --data <dir of manifest.json> [--status-list FILE]... FILE...
 *
 * Prints one JSON object on stdout ({"results": [...], "refused": [...]}) and exits 0
 * when the harness ran, whatever the verdicts; 2 on a usage error or when it could not run.
 *
 * Nothing is fetched from the network. Contexts and schemas come from the files
 * <data>/manifest.json lists, status list credentials from the --status-list files (each served
 * at its own `id`), did:key documents are computed locally. `globalThis.fetch` is replaced
 * before any library is loaded, and every TCP connection attempt throws: an attempt to reach
 * anything else fails loudly (on stderr, and in "refused").
 */
import {Console} from 'node:console';
import {existsSync, readFileSync} from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const USAGE =
  'usage: node verify.mjs --data <dir of manifest.json> [--status-list FILE]... FILE...';

// stdout carries the result only: whatever the libraries log goes to stderr.
const stderrConsole = new Console({stdout: process.stderr, stderr: process.stderr});
for(const level of ['log', 'info', 'debug', 'warn', 'error', 'trace', 'dir']) {
  console[level] = stderrConsole[level].bind(stderrConsole);
}

class UsageError extends Error {}

function fail(message, code = 2) {
  process.stderr.write(`verify.mjs: ${message}\n`);
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const args = {data: null, statusLists: [], files: []};
  for(let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if(arg === '-h' || arg === '--help') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else if(arg === '--data' || arg === '--status-list') {
      const value = argv[++i];
      if(value === undefined) {
        throw new UsageError(`${arg} needs a value`);
      }
      if(arg === '--data') {
        args.data = value;
      } else {
        args.statusLists.push(value);
      }
    } else if(arg.startsWith('--data=')) {
      args.data = arg.slice('--data='.length);
    } else if(arg.startsWith('--status-list=')) {
      args.statusLists.push(arg.slice('--status-list='.length));
    } else if(arg.startsWith('--')) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      args.files.push(arg);
    }
  }
  if(!args.data) {
    throw new UsageError('--data <dir of manifest.json> is required');
  }
  if(args.files.length === 0) {
    throw new UsageError('no credential FILE given');
  }
  return args;
}

function readJson(file, what) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch(e) {
    throw new UsageError(`cannot read ${what} ${file}: ${e.message}`);
  }
  try {
    return JSON.parse(text);
  } catch(e) {
    throw new UsageError(`${what} ${file} is not JSON: ${e.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The local documents: the manifest's contexts and schemas (read lazily, when first asked
// for: the manifest may list files not written yet), and the status list credentials.

class LocalStore {
  constructor(dataDir, statusListFiles) {
    this.dataDir = path.resolve(dataDir);
    const manifest = readJson(path.join(this.dataDir, 'manifest.json'), 'manifest');
    for(const kind of ['contexts', 'schemas']) {
      const table = manifest[kind] ?? {};
      if(typeof table !== 'object' || Array.isArray(table) ||
        !Object.values(table).every(v => typeof v === 'string')) {
        throw new UsageError(
          `${this.dataDir}/manifest.json: "${kind}" must map URLs to file names`);
      }
    }
    this.manifest = {contexts: manifest.contexts ?? {}, schemas: manifest.schemas ?? {}};
    this.cache = new Map();
    this.statusLists = new Map();
    for(const file of statusListFiles) {
      const credential = readJson(file, 'status list credential');
      const id = credential?.id;
      if(typeof id !== 'string' || !id) {
        throw new UsageError(`status list credential ${file} has no "id" to serve it at`);
      }
      if(this.statusLists.has(id) || this.manifest.contexts[id] ||
        this.manifest.schemas[id]) {
        throw new UsageError(`status list credential ${file}: ${id} is served twice`);
      }
      this.statusLists.set(id, credential);
    }
  }

  /** Whether the manifest lists `url` as a schema. */
  hasSchema(url) {
    return Object.hasOwn(this.manifest.schemas, url);
  }

  /** The manifest's file for a URL of one kind; throws a clear error when not served. */
  _file(kind, url) {
    const name = this.manifest[kind][url];
    const folder = path.join(this.dataDir, kind);
    const file = path.resolve(folder, name);
    if(path.dirname(file) !== folder) {
      throw new Error(`${url}: the manifest's file name ${JSON.stringify(name)} ` +
        `is not a file in ${folder}`);
    }
    if(!existsSync(file)) {
      throw new Error(`${url} is listed in ${this.dataDir}/manifest.json as ${kind}/${name}, ` +
        'but that file does not exist');
    }
    return file;
  }

  _read(kind, url) {
    const key = `${kind} ${url}`;
    if(!this.cache.has(key)) {
      const file = this._file(kind, url);
      let document;
      try {
        document = JSON.parse(readFileSync(file, 'utf8'));
      } catch(e) {
        throw new Error(`${url}: ${file} is not readable JSON: ${e.message}`);
      }
      this.cache.set(key, document);
    }
    return structuredClone(this.cache.get(key));
  }

  schema(url) {
    if(!this.hasSchema(url)) {
      throw new Error(`the schema ${url} is not shipped (not in ${this.dataDir}/manifest.json)`);
    }
    return this._read('schemas', url);
  }

  /** The document served at `url` (a context, a schema or a status list credential);
   * throws an error naming the URL when there is none. */
  get(url) {
    const bare = String(url).split('#')[0];
    for(const candidate of new Set([url, bare])) {
      if(Object.hasOwn(this.manifest.contexts, candidate)) {
        return {document: this._read('contexts', candidate), kind: 'context'};
      }
      if(Object.hasOwn(this.manifest.schemas, candidate)) {
        return {document: this._read('schemas', candidate), kind: 'schema'};
      }
      if(this.statusLists.has(candidate)) {
        return {document: structuredClone(this.statusLists.get(candidate)),
          kind: 'status list'};
      }
    }
    throw new Error(`refused to load ${url}: it is not a context or schema in ` +
      `${this.dataDir}/manifest.json, nor a --status-list credential's id ` +
      '(this harness fetches nothing from the network)');
  }
}

// ---------------------------------------------------------------------------------------------
// No network: fetch serves the local documents, every socket connection throws.

// every URL a library asked for that is not served locally, and every connection attempted
const refused = [];

function refuse(what, error) {
  if(!refused.includes(what)) {
    refused.push(what);
  }
  process.stderr.write(`verify.mjs: REFUSED (nothing is fetched): ${error.message}\n`);
  return error;
}

function installNetworkGuard(store) {
  globalThis.fetch = async function localFetch(input /* , init */) {
    const url = typeof input === 'string' ? input :
      input instanceof URL ? input.href : String(input?.url ?? input);
    let found;
    try {
      found = store.get(url);
    } catch(e) {
      throw refuse(url, new TypeError(`fetch(${url}): ${e.message}`));
    }
    if(process.env.INTEROP_TRACE) {
      process.stderr.write(`verify.mjs: fetch(${url}) served locally (${found.kind})\n`);
    }
    const type = found.kind === 'context' ? 'application/ld+json' : 'application/json';
    return new Response(JSON.stringify(found.document), {
      status: 200, headers: {'content-type': type}
    });
  };
  net.Socket.prototype.connect = function guardedConnect(...args) {
    // net.connect() passes its arguments normalised, as one array
    const [first, second] = Array.isArray(args[0]) ? args[0] : args;
    const target = typeof first === 'object' && first !== null ?
      (first.path ?? `${first.host ?? 'localhost'}:${first.port}`) :
      (typeof first === 'string' && !/^\d+$/.test(first) ? first :
        `${typeof second === 'string' ? second : 'localhost'}:${first}`);
    throw refuse(`socket ${target}`, new Error(
      `a network connection to ${target} was attempted; this harness fetches nothing`));
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function message(error) {
  if(error === undefined || error === null) {
    return null;
  }
  if(typeof error !== 'object') {
    return String(error);
  }
  const parts = [];
  const own = error.message ?? (error.name ? String(error.name) : null);
  if(own && typeof own === 'string') {
    parts.push(own);
  } else if(own) {
    parts.push(message(own));
  }
  if(Array.isArray(error.errors)) {
    for(const inner of error.errors) {
      const text = message(inner);
      if(text && !parts.includes(text)) {
        parts.push(text);
      }
    }
  }
  for(const cause of [error.cause, error.details?.cause]) {
    if(!cause) {
      continue;
    }
    const text = message(cause);
    if(text && !parts.some(p => p.includes(text))) {
      parts.push(`cause: ${text}`);
    }
  }
  return parts.length ? parts.join('; ') : JSON.stringify(error);
}

function proofsOf(credential) {
  const {proof} = credential;
  if(proof === undefined || proof === null) {
    return [];
  }
  return Array.isArray(proof) ? proof : [proof];
}

function vmId(proof) {
  const vm = proof?.verificationMethod;
  return typeof vm === 'object' && vm !== null ? vm.id ?? null : vm ?? null;
}

// ---------------------------------------------------------------------------------------------
// Digital Bazaar: @digitalbazaar/vc with DataIntegrityProof (eddsa-rdfc-2022, eddsa-jcs-2022)

async function digitalBazaarVerifier(store) {
  const vc = await import('@digitalbazaar/vc');
  const {DataIntegrityProof} = await import('@digitalbazaar/data-integrity');
  const {cryptosuite: rdfc} = await import('@digitalbazaar/eddsa-rdfc-2022-cryptosuite');
  const {createVerifyCryptosuite} = await import('@digitalbazaar/eddsa-jcs-2022-cryptosuite');
  const Ed25519Multikey = await import('@digitalbazaar/ed25519-multikey');
  const DidKey = await import('@digitalbazaar/did-method-key');
  const {checkStatus} = await import('@digitalbazaar/vc-bitstring-status-list');

  const didKeyDriver = DidKey.driver();
  didKeyDriver.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

  async function documentLoader(url) {
    if(url.startsWith('did:key:')) {
      // computed from the key itself: no resolution over the network
      const document = await didKeyDriver.get({url});
      return {contextUrl: null, documentUrl: url, document};
    }
    if(url.startsWith('did:')) {
      throw refuse(url, new Error(`cannot resolve ${url}: only did:key is resolved (locally)`));
    }
    try {
      return {contextUrl: null, documentUrl: url, document: store.get(url).document};
    } catch(e) {
      throw refuse(url, e);
    }
  }

  const suite = [
    new DataIntegrityProof({cryptosuite: rdfc}),
    new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()})
  ];

  return async function verify(credential) {
    const out = {verified: false, proofs: [],
      status: {checked: false, revoked: null, error: null}, error: null};
    let result;
    try {
      result = await vc.verifyCredential({
        credential: structuredClone(credential), suite, documentLoader, checkStatus
      });
    } catch(e) {
      out.error = `verifyCredential threw: ${message(e)}`;
      return out;
    }
    out.verified = result.verified === true;
    const results = Array.isArray(result.results) ? result.results : [];
    const used = new Set();
    out.proofs = proofsOf(credential).map(proof => {
      const index = results.findIndex((r, i) => !used.has(i) && r.proof &&
        r.proof.proofValue === proof.proofValue && vmId(r.proof) === vmId(proof));
      if(index < 0) {
        return {verified: false, verificationMethod: vmId(proof),
          cryptosuite: proof.cryptosuite ?? null,
          error: 'not verified: no suite matched this proof (type, cryptosuite, purpose)'};
      }
      used.add(index);
      const r = results[index];
      let error = r.verified ? null : message(r.error);
      if(!r.verified && !error && r.purposeResult?.error) {
        error = message(r.purposeResult.error);
      }
      return {verified: r.verified === true, verificationMethod: vmId(proof),
        cryptosuite: proof.cryptosuite ?? null, error: r.verified ? null :
          error ?? 'not verified'};
    });
    if(credential.credentialStatus) {
      const statusResult = result.statusResult;
      if(!statusResult) {
        out.status.error = 'not checked: the credential did not verify';
      } else if(statusResult.error || !statusResult.verified) {
        out.status.error = message(statusResult.error) ?? 'status not verified';
      } else {
        out.status.checked = true;
        const revocation = (statusResult.results ?? []).filter(
          r => r.credentialStatus?.statusPurpose === 'revocation');
        out.status.revoked = revocation.length ?
          revocation.some(r => r.status === true) : null;
      }
    }
    if(!out.verified) {
      out.error = message(result.error) ?? 'not verified';
    }
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// DCC: @digitalcredentials/verifier-core verifyCredential({credential, knownDIDRegistries})
//
// Its result is either {credential, errors: [{name, message}]} (fatal: no log) or
// {credential, log: [{id, valid, error?}], additionalInformation: [{id: 'schema_check', ...}]}.
// verifier-core draws no overall conclusion; here "verified" means no fatal error and every
// step in the log valid, except "registered_issuer" (no registries are given: it would fetch
// them, and it is false by construction).

// the suites verifier-core registers (dist/Verify.js): a proof of another kind never verifies
const DCC_SUITES = ['eddsa-rdfc-2022', 'Ed25519Signature2020'];

function dccSchemaCheck(result) {
  const entry = (result.additionalInformation ?? []).find(e => e?.id === 'schema_check');
  if(!entry) {
    return null;
  }
  if(!Array.isArray(entry.results)) {
    return entry.results ?? null;
  }
  return entry.results.map(r => ({
    schema: r.schema ?? null,
    valid: r.result?.valid === true,
    errors: (r.result?.errors ?? []).map(e =>
      typeof e === 'object' ? `${e.instancePath || '/'} ${e.message}` : String(e)),
    source: r.source ?? null
  }));
}

async function dccVerifier() {
  const dcc = await import('@digitalcredentials/verifier-core');
  return async function verify(credential) {
    const out = {verified: false, log: [], error: null, schemaCheck: null};
    let result;
    try {
      result = await dcc.verifyCredential({
        credential: structuredClone(credential), knownDIDRegistries: []
      });
    } catch(e) {
      out.error = `verifyCredential threw: ${message(e)}`;
      return out;
    }
    out.log = (result.log ?? []).map(step => {
      const entry = {id: step.id, valid: step.valid === true};
      if(step.error) {
        entry.error = message(step.error);
      }
      return entry;
    });
    out.schemaCheck = dccSchemaCheck(result);
    if(Array.isArray(result.errors) && result.errors.length) {
      out.error = result.errors.map(e => {
        const detail = e.stackTrace ? ` (${message(e.stackTrace)})` : '';
        return `${e.name}: ${message(e.message) ?? ''}${detail}`;
      }).join('; ');
      const kinds = proofsOf(credential).map(p => p?.cryptosuite ?? p?.type);
      if(kinds.length && !kinds.some(kind => DCC_SUITES.includes(kind))) {
        out.error += ` [harness note: verifier-core verifies only ${DCC_SUITES.join(' and ')} ` +
          `proofs; this credential's are ${[...new Set(kinds)].join(', ')}]`;
      }
      return out;
    }
    const counted = out.log.filter(step => step.id !== 'registered_issuer');
    const signature = counted.find(step => step.id === 'valid_signature');
    out.verified = !!signature && counted.every(step => step.valid);
    if(!out.verified) {
      out.error = counted.filter(step => !step.valid)
        .map(step => `${step.id}: ${step.error ?? 'not valid'}`).join('; ') ||
        'no valid_signature step in the log';
    }
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// JSON Schema: every credentialSchema the manifest ships, with the Ajv class its $schema names

async function schemaValidator(store) {
  const {default: Ajv} = await import('ajv');
  const {default: Ajv2019} = await import('ajv/dist/2019.js');
  const {default: Ajv2020} = await import('ajv/dist/2020.js');
  const {default: AjvDraft04} = await import('ajv-draft-04');
  const formats = await import('ajv-formats');
  const addFormats = formats.default?.default ?? formats.default;

  const classes = [
    [/^https?:\/\/json-schema\.org\/draft-04\/schema#?$/, 'draft-04', AjvDraft04],
    [/^https?:\/\/json-schema\.org\/draft-07\/schema#?$/, 'draft-07', Ajv],
    [/^https:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/, '2019-09', Ajv2019],
    [/^https:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/, '2020-12', Ajv2020]
  ];
  const instances = new Map();
  const compiled = new Map();

  function ajvFor(schemaUrl, document) {
    const dialect = document.$schema ?? 'http://json-schema.org/draft-07/schema#';
    const match = classes.find(([pattern]) => pattern.test(dialect));
    if(!match) {
      throw new Error(`${schemaUrl}: unsupported "$schema" ${JSON.stringify(dialect)}`);
    }
    const [, name, AjvClass] = match;
    if(!instances.has(name)) {
      const ajv = new AjvClass({
        allErrors: true, strict: false, validateFormats: true,
        loadSchema: async url => store.schema(url)
      });
      addFormats(ajv);
      instances.set(name, ajv);
    }
    return instances.get(name);
  }

  async function validatorFor(url) {
    if(!compiled.has(url)) {
      compiled.set(url, (async () => {
        const document = store.schema(url);
        return ajvFor(url, document).compileAsync(document);
      })());
    }
    return compiled.get(url);
  }

  return async function validate(credential) {
    const declared = credential.credentialSchema;
    const entries = declared === undefined ? [] :
      Array.isArray(declared) ? declared : [declared];
    const results = [];
    for(const entry of entries) {
      const url = typeof entry === 'string' ? entry : entry?.id;
      if(typeof url !== 'string') {
        results.push({schema: null, valid: false,
          errors: ['a credentialSchema entry has no "id"']});
        continue;
      }
      if(!store.hasSchema(url)) {
        results.push({schema: url, valid: false, errors: [
          `the schema ${url} is not shipped (not in ${store.dataDir}/manifest.json)`]});
        continue;
      }
      try {
        const check = await validatorFor(url);
        const valid = check(structuredClone(credential)) === true;
        const errors = valid ? [] : (check.errors ?? []).map(e =>
          `${e.instancePath || '/'} ${e.message}` +
          (e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''));
        results.push({schema: url, valid, errors});
      } catch(e) {
        results.push({schema: url, valid: false, errors: [message(e)]});
      }
    }
    return results;
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  let args;
  let store;
  let credentials;
  try {
    args = parseArgs(process.argv.slice(2));
    store = new LocalStore(args.data, args.statusLists);
    credentials = args.files.map(file => ({file, credential: readJson(file, 'credential')}));
    for(const {file, credential} of credentials) {
      if(typeof credential !== 'object' || credential === null || Array.isArray(credential)) {
        throw new UsageError(`credential ${file} is not a JSON object`);
      }
    }
  } catch(e) {
    if(e instanceof UsageError) {
      fail(`${e.message}\n${USAGE}`);
    }
    throw e;
  }

  installNetworkGuard(store);
  // the libraries are loaded only now, after fetch and sockets are guarded
  const [digitalbazaar, dcc, schemas] = await Promise.all([
    digitalBazaarVerifier(store), dccVerifier(), schemaValidator(store)
  ]);

  const results = [];
  for(const {file, credential} of credentials) {
    results.push({
      file,
      digitalbazaar: await digitalbazaar(credential),
      dcc: await dcc(credential),
      schemas: await schemas(credential)
    });
  }
  const output = JSON.stringify({results, refused}, null, 2) + '\n';
  process.stdout.write(output, () => process.exit(0));
}

main().catch(e => fail(`could not run: ${e?.stack ?? e}`));
