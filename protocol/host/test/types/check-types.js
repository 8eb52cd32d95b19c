#!/usr/bin/env node
// Checks index.d.ts against openrpc.json and type-checks an example app against index.d.ts, with
// `tsc` (Debian's node-typescript: apt-get install -y node-typescript; no npm, no @types/node).
//
//   node protocol/host/test/types/check-types.js      exit status 0 when both pass
//
// 1. Member for member: for every wire shape the adapter declares (the table SHAPES below), the
//    declared interface has exactly the members of the openrpc.json schema, optional exactly where
//    the schema does not require them, recursively into nested objects, arrays and maps. An
//    index signature (`[key: string]: unknown`, for the results' additional members) is not a member.
//    Every openrpc.json method has its adapter method (METHODS). The checks are generated as types
//    (generated-checks.ts in a temporary folder) and a mismatch is a tsc error naming the shape,
//    the path and the member.
// 2. example-app.ts, a small orchestrator written against the declarations (and lines that must
//    not compile, marked @ts-expect-error), compiles under --strict with node-shim.d.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const hostDir = join(here, '..', '..');
const openrpc = JSON.parse(readFileSync(join(hostDir, '..', 'openrpc.json'), 'utf8'));
const schemas = openrpc.components.schemas;

/** d.ts type expression → openrpc.json schema (by name), with members the adapter adds on its side. */
const SHAPES = [
  ['DockerProviderConfig', 'Config'],
  ['NodeSpec', 'NodeSpec'],
  ['RestoreSpec', 'RestoreSpec'],
  ['Node', 'Node'],
  ['ExecOptions', 'ExecOptions', ['onOutput', 'signal']],
  ['ExecResult', 'ExecResult'],
  ['InspectResult', 'InspectResult'],
  ['SnapshotRef', 'SnapshotRef'],
  ['HealthResult', 'HealthResult'],
  ['ResourceUsage', 'ResourceUsage'],
  ['FileContent', 'FileContent'],
  ['FileEntry', 'FileEntry'],
  ['FileWriteResult', 'FileWriteResult'],
  ['FileToWrite', 'FileToWrite'],
  ['DownloadResult', 'DownloadResult'],
  ['TransferProgress', 'FilesProgressParams', [], ['requestId', 'uploadId']],
  ['StreamMetricsResult', 'StreamMetricsResult'],
  ['ReapResult', 'ReapResult'],
  ['NodeEvent', 'NodeEventParams'],
  ['PullProgress', 'PullProgressParams'],
  ['OutputChunk', 'ExecOutputParams', [], ['requestId', 'encoding']],
  ['Capabilities', 'Capabilities'],
  ['WorkerErrorData', 'ErrorData'],
  ['InitializeResult', 'InitializeResult'],
  ['ExecListEntry', 'ExecListEntry'],
];

/** openrpc.json method → the adapter member that serves it (`Type.member`). */
const METHODS = {
  initialize: 'DockerWorkerProvider.connect',
  shutdown: 'DockerWorkerProvider.close',
  provision: 'DockerWorkerProvider.provision',
  exec: 'DockerWorkerProvider.exec',
  'exec.attach': 'DockerWorkerProvider.attachExec',
  'exec.kill': 'DockerWorkerProvider.killExec',
  'exec.list': 'DockerWorkerProvider.listExecs',
  inspect: 'DockerWorkerProvider.inspect',
  destroy: 'DockerWorkerProvider.destroy',
  stop: 'DockerWorkerProvider.stop',
  start: 'DockerWorkerProvider.start',
  restart: 'DockerWorkerProvider.restart',
  pause: 'DockerWorkerProvider.pause',
  resume: 'DockerWorkerProvider.resume',
  snapshot: 'DockerWorkerProvider.snapshot',
  restore: 'DockerWorkerProvider.restore',
  healthCheck: 'DockerWorkerProvider.healthCheck',
  detectGpu: 'DockerWorkerProvider.detectGpu',
  list: 'DockerWorkerProvider.list',
  reap: 'DockerWorkerProvider.reap',
  getExtension: 'DockerWorkerProvider.getExtension',
  'events.subscribe': 'DockerWorkerProvider.subscribeEvents',
  'lifetime.set': 'DockerWorkerProvider.setLifetime',
  'snapshots.list': 'DockerWorkerProvider.listSnapshots',
  'snapshots.delete': 'DockerWorkerProvider.deleteSnapshot',
  'network.getUrl': 'NetworkExtension.getUrl',
  'files.read': 'FilesExtension.read',
  'files.write': 'FilesExtension.write',
  'files.list': 'FilesExtension.list',
  'files.remove': 'FilesExtension.remove',
  'files.mkdir': 'FilesExtension.mkdir',
  'files.writeMany': 'FilesExtension.writeMany',
  'files.download': 'FilesExtension.download',
  'files.upload': 'FilesExtension.upload',
  'files.uploadChunk': 'FilesExtension.upload',
  'files.finishUpload': 'FilesExtension.upload',
  'files.cancelUpload': 'FilesExtension.upload',
  'metrics.getResourceUsage': 'MetricsExtension.getResourceUsage',
  'metrics.streamMetrics': 'MetricsExtension.streamMetrics',
  logs: 'LogsExtension.get',
};

/** @param {any} schema */
function resolve(schema) {
  let current = schema;
  for (let i = 0; i < 10 && current; i++) {
    if (current.$ref) current = schemas[current.$ref.split('/').pop()];
    else if (Array.isArray(current.allOf) && current.allOf.length === 1 && !current.properties) current = current.allOf[0];
    else break;
  }
  return current;
}

const lines = [];
let counter = 0;
const q = (names) => (names.length === 0 ? 'never' : names.map((n) => JSON.stringify(n)).join(' | '));

/**
 * @param {string} expr TypeScript type expression
 * @param {any} schema
 * @param {string} label
 * @param {string[]} extra members only the adapter has
 * @param {string[]} skip wire members the adapter does not expose
 */
function shape(expr, schema, label, extra = [], skip = []) {
  const s = resolve(schema);
  if (!s) throw new Error(`${label}: no schema`);
  if (s.properties) {
    const names = Object.keys(s.properties).filter((n) => !skip.includes(n));
    const required = (s.required ?? []).filter((n) => !skip.includes(n));
    const optional = names.filter((n) => !required.includes(n));
    const keys = q([...names, ...extra]);
    const id = () => `C${++counter}`;
    lines.push(`// ${label}`);
    lines.push(`export const ${id()}_${safe(label)}__in_index_d_ts_but_not_in_openrpc: Members<Exclude<KnownKeys<${expr}>, ${keys}>> = true;`);
    lines.push(`export const ${id()}_${safe(label)}__in_openrpc_but_missing_from_index_d_ts: Members<Exclude<${keys}, KnownKeys<${expr}>>> = true;`);
    lines.push(`export const ${id()}_${safe(label)}__required_in_openrpc_but_optional_in_index_d_ts: Members<Exclude<${q(required)}, RequiredKeys<${expr}>>> = true;`);
    lines.push(`export const ${id()}_${safe(label)}__optional_in_openrpc_but_required_in_index_d_ts: Members<Exclude<${q(optional)}, OptionalKeys<${expr}>>> = true;`);
    for (const name of names) {
      const member = resolve(s.properties[name]);
      const sub = `NonNullable<${expr}[${JSON.stringify(name)}]>`;
      if (!member) continue;
      if (member.properties) shape(sub, member, `${label}.${name}`);
      else if (member.type === 'array' && resolve(member.items)?.properties) shape(`${sub}[number]`, member.items, `${label}.${name}[]`);
      else if (member.additionalProperties && typeof member.additionalProperties === 'object' && resolve(member.additionalProperties)?.properties) {
        shape(`${sub}[string]`, member.additionalProperties, `${label}.${name}{}`);
      }
    }
  }
}
/** @param {string} label */
function safe(label) { return label.replace(/[^A-Za-z0-9]/g, '_'); }

for (const [type, schema, extra = [], skip = []] of SHAPES) {
  if (!schemas[schema]) throw new Error(`openrpc.json has no schema ${schema}`);
  shape(`T.${type}`, schemas[schema], type, extra, skip);
}
const methods = openrpc.methods.map((m) => m.name);
const unmapped = methods.filter((m) => !METHODS[m]);
if (unmapped.length > 0) {
  console.error(`openrpc.json methods without an adapter method in check-types.js: ${unmapped.join(', ')}`);
  process.exit(1);
}
for (const name of methods) {
  const [type, member] = METHODS[name].split('.');
  lines.push(`export const C${++counter}_method_${safe(name)}__served_by_${type}_${member}: Members<Exclude<${JSON.stringify(member)}, keyof T.${type}>> = true;`);
}

const header = `// Generated by check-types.js from openrpc.json: each constant's type must be true.
import type * as T from ${JSON.stringify(join(hostDir, 'index.js'))};
type Members<X> = [X] extends [never] ? true : { members: X };
type KnownKeys<X> = keyof { [K in keyof X as string extends K ? never : number extends K ? never : K]: 0 };
type OptionalKeys<X> = { [K in KnownKeys<X>]-?: {} extends Pick<X, K & keyof X> ? K : never }[KnownKeys<X>];
type RequiredKeys<X> = Exclude<KnownKeys<X>, OptionalKeys<X>>;
`;

const tsc = process.env.TSC ?? 'tsc';
const work = mkdtempSync(join(tmpdir(), 'olw-types-'));
try {
  writeFileSync(join(work, 'generated-checks.ts'), header + lines.join('\n') + '\n');
  writeFileSync(join(work, 'package.json'), JSON.stringify({ type: 'module' }));
  const options = ['--strict', '--noEmit', '--pretty', 'false', '--target', 'es2022', '--lib', 'es2022',
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--noUnusedLocals', 'false'];
  const files = [join(here, 'node-shim.d.ts'), join(work, 'generated-checks.ts'), join(here, 'example-app.ts')];
  for (const file of files) if (!existsSync(file)) throw new Error(`missing ${file}`);
  try {
    execFileSync(tsc, [...options, ...files], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    const e = /** @type {any} */ (error);
    if (e.code === 'ENOENT') {
      console.error(`tsc not found (${tsc}): apt-get install -y node-typescript (scripts/setup.sh does)`);
      process.exit(2);
    }
    const generated = readFileSync(join(work, 'generated-checks.ts'), 'utf8').split('\n');
    const out = String(e.stdout ?? '') + String(e.stderr ?? '');
    for (const line of out.split('\n').filter(Boolean)) {
      const match = /generated-checks\.ts\((\d+),\d+\): error TS\d+: (.*)/.exec(line);
      if (match) {
        const source = generated[Number(match[1]) - 1] ?? '';
        const alias = /export const (C\d+_[^:]+)/.exec(source)?.[1] ?? source;
        console.error(`index.d.ts ≠ openrpc.json: ${alias.replace(/^C\d+_/, '')}: ${match[2]}`);
      } else {
        console.error(line);
      }
    }
    process.exit(1);
  }
  console.log(`index.d.ts matches openrpc.json (${SHAPES.length} shapes, ${counter} checks, ${methods.length} methods); example-app.ts type-checks`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
