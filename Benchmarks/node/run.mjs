#!/usr/bin/env node
// @ts-check
/**
 * The worker measured from a Node.js host, side by side with a raw `node:http` client on the
 * engine's socket and the Docker SDK for Python, in one run, trials interleaved.
 *
 *   node Benchmarks/node/run.mjs [--quick] [--worker PATH] [--out FILE] [--no-files]
 *
 * Writes Benchmarks/results/node-latest.md (--quick: node-latest-quick.md) and, in a full run,
 * the top-level README's benchmark table. See Benchmarks/README.md ("Node.js host").
 */
import { spawn, execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, readFileSync, writeFileSync, mkdirSync, rmSync, statSync, readdirSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem, tmpdir, release } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { RawEngine } from './raw-engine.mjs';
import { WorkerHost, procCpuSeconds, procStatus, sampleProcess } from './worker-host.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const SOCKET = '/var/run/docker.sock';
const IMAGE = 'openlattice-test/busybox:latest';
const MiB = 1 << 20;
/** Every container this run creates carries both: `olw-bench=1` as run.py's, and this run's pid. */
const RUN_LABELS = { 'olw-bench': '1', 'olw-bench-node': String(process.pid) };
const README_BEGIN = '<!-- benchmark table: begin (written by Benchmarks/node/run.mjs) -->';
const README_END = '<!-- benchmark table: end -->';

const FULL = { ping: 300, inspect: 200, execTrue: 40, cycle: 8, streamTrials: 3, streamMiB: 128, concTrials: 3,
  concExecs: 64, startTrials: 10, fileMiB: 256, fileRounds: 3, smallFiles: 200, folderFiles: 5000, folderMiB: 200 };
const QUICK = { ping: 60, inspect: 40, execTrue: 10, cycle: 3, streamTrials: 1, streamMiB: 32, concTrials: 1,
  concExecs: 64, startTrials: 5, fileMiB: 64, fileRounds: 1, smallFiles: 200, folderFiles: 1000, folderMiB: 20 };

const execFileAsync = promisify(execFile);
const log = (/** @type {any[]} */ ...a) => console.error(...a);
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// figures

/** A series of trial values with a unit. */
class Figure {
  /** @param {number[]} values @param {string} unit */
  constructor(values, unit) {
    this.values = values;
    this.unit = unit;
  }
  get median() {
    const s = [...this.values].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }
  cell() {
    if (!this.values.length) return '—';
    if (this.values.length === 1) return `${fmt(this.median)} ${this.unit}`;
    return `${fmt(this.median)} ${this.unit} (${fmt(Math.min(...this.values))}–${fmt(Math.max(...this.values))})`;
  }
}

/** @param {number} x */
function fmt(x) {
  if (Number.isNaN(x)) return 'nan';
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
}

/** @param {Figure | undefined} a @param {Figure | undefined} b */
const ratio = (a, b) => (a && b && a.values.length && b.values.length && b.median ? a.median / b.median : undefined);
const ratioCell = (/** @type {number | undefined} */ r) => (r === undefined ? '—' : `${r.toFixed(2)}×`);

/** @param {() => Promise<any>} fn @returns {Promise<number>} wall milliseconds */
async function timeMs(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

// ---------------------------------------------------------------------------------------------
// the SDK helper process

class SDKHelper {
  constructor() {
    this.child = spawn('python3', [path.join(HERE, 'sdk_helper.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }
  /**
   * One operation; its answer (with `seconds`, measured in the helper).
   * @param {Record<string, any>} req
   */
  async run(req) {
    this.child.stdin.write(JSON.stringify(req) + '\n');
    const { value, done } = await this.lines.next();
    if (done) throw new Error('the SDK helper exited');
    const out = JSON.parse(value);
    if (out.error) throw new Error(`SDK ${req.op}: ${out.error}`);
    return out;
  }
  /** @param {Record<string, any>} req @returns {Promise<number>} milliseconds */
  async ms(req) {
    return (await this.run(req)).seconds * 1000;
  }
  close() {
    this.child.stdin.end();
  }
}

// ---------------------------------------------------------------------------------------------
// the benchmark

class Bench {
  /** @param {{quick: boolean, worker: string, out?: string, files: boolean}} args */
  constructor(args) {
    this.args = args;
    this.p = args.quick ? QUICK : FULL;
    /** @type {Array<Record<string, any>>} */
    this.rows = [];
    /** @type {Array<string[]>} */
    this.fileRows = [];
    /** @type {string[]} */
    this.notes = [];
    /** @type {string[]} */
    this.cpuRows = [];
    /** @type {WorkerHost[]} */
    this.workers = [];
    this.resultsDir = path.join(HERE, '..', 'results');
    mkdirSync(this.resultsDir, { recursive: true });
    this.stderrFd = openSync(path.join(this.resultsDir, 'worker-stderr.log'), 'w');
    this.raw = new RawEngine(SOCKET);
    this.sdk = new SDKHelper();
    /** @type {string | undefined} */
    this.work = undefined;
  }

  spawnWorker() {
    const w = new WorkerHost(this.args.worker, { stderr: this.stderrFd });
    this.workers.push(w);
    return w;
  }

  async setup() {
    await this.raw.connect();
    this.version = await this.raw.json('GET', '/version');
    this.sdkVersion = await this.sdk.run({ op: 'version' });
    const stale = await removeStale(this.raw);
    if (stale) log(`removed ${stale} container(s) of earlier runs that are no longer running`);
    await this.raw.json('GET', `/images/${IMAGE}/json`);
    this.cid = await this.raw.create(
      { Image: IMAGE, Cmd: ['sleep', '86400'], Labels: { ...RUN_LABELS, 'openlattice.managed': 'true' } },
      `olbench-node-target-${process.pid}`,
    );
    await this.raw.start(this.cid);
  }

  async teardown() {
    for (const w of this.workers) await w.close().catch((e) => log(`closing worker ${w.pid}: ${e.message}`));
    this.workers = [];
    this.sdk.close();
    let n = 0;
    try {
      const mine = await this.raw.list(`olw-bench-node=${process.pid}`);
      for (const c of mine) await this.raw.remove(c.Id);
      n = mine.length;
    } catch (e) {
      log(`cleanup failed: ${/** @type {Error} */ (e).message}`);
    }
    this.raw.close();
    if (this.work) rmSync(this.work, { recursive: true, force: true });
    log(`removed ${n} benchmark container(s)`);
  }

  /**
   * Runs each op `n` times after `warmup` untimed runs, rotating the order every round; each op
   * resolves to its own duration in ms.
   * @param {number} n @param {Record<string, () => Promise<number>>} ops @param {number} [warmup]
   * @returns {Promise<Record<string, Figure>>}
   */
  async interleave(n, ops, warmup = 3, unit = 'ms') {
    const names = Object.keys(ops);
    for (const name of names) for (let i = 0; i < warmup; i++) await ops[name]();
    /** @type {Record<string, number[]>} */
    const times = Object.fromEntries(names.map((k) => [k, []]));
    const c0 = procCpuSeconds(this.w.pid);
    for (let i = 0; i < n; i++) {
      const k = i % names.length;
      for (const name of [...names.slice(k), ...names.slice(0, k)]) times[name].push(await ops[name]());
    }
    this.workerCpuPerCall = ((procCpuSeconds(this.w.pid) - c0) * 1000) / Math.max(1, n);
    return Object.fromEntries(names.map((k) => [k, new Figure(times[k], unit)]));
  }

  /**
   * A row of the main table.
   * @param {string} name @param {Record<string, Figure>} f worker, raw, sdk @param {string} target
   * @param {boolean | undefined} met
   */
  row(name, f, target, met) {
    this.rows.push({ name, worker: f.worker.cell(), raw: f.raw?.cell() ?? '—', sdk: f.sdk?.cell() ?? '—',
      wr: ratioCell(ratio(f.worker, f.raw)), ws: ratioCell(ratio(f.worker, f.sdk)), target, met });
  }

  /** @param {string} name @param {string} value @param {string} target @param {boolean | undefined} met */
  single(name, value, target, met) {
    this.rows.push({ name, worker: value, raw: '—', sdk: '—', wr: '—', ws: '—', target, met });
  }

  // -- items -------------------------------------------------------------------------------

  async itemStart() {
    log('ready: worker spawn -> initialize answered');
    const times = [];
    for (let i = 0; i < this.p.startTrials; i++) {
      const t0 = performance.now();
      const w = this.spawnWorker();
      await w.initialize();
      times.push(performance.now() - t0);
      await w.close();
      this.workers.splice(this.workers.indexOf(w), 1);
    }
    this.start = new Figure(times, 'ms');
  }

  async itemPing() {
    log('1: healthCheck vs GET /_ping vs SDK ping');
    const { w, raw, sdk } = this;
    const f = await this.interleave(this.p.ping, {
      worker: () => timeMs(() => w.call('healthCheck')),
      raw: () => timeMs(() => raw.ping()),
      sdk: () => sdk.ms({ op: 'ping' }),
    });
    const met = f.worker.median <= f.raw.median + 0.1;
    this.row('1. `healthCheck` vs `GET /_ping`', f, '≤ raw + 0.1 ms', met);
    this.notes.push(`Item 1: worker − raw = ${fmt(f.worker.median - f.raw.median)} ms; worker CPU per healthCheck ${fmt(this.workerCpuPerCall)} ms.`);
  }

  async itemInspect() {
    log('2: warm inspect');
    const { w, raw, sdk, cid } = this;
    const cold = await timeMs(() => w.call('inspect', { externalId: cid }));
    const f = await this.interleave(this.p.inspect, {
      worker: () => timeMs(() => w.call('inspect', { externalId: cid })),
      raw: () => timeMs(() => raw.inspect(cid)),
      sdk: () => sdk.ms({ op: 'inspect', id: cid }),
    });
    this.row('2. warm `inspect` of a running container', f, '≤ raw + 0.15 ms', f.worker.median <= f.raw.median + 0.15);
    this.notes.push(`Item 2: the first (cold) inspect took ${fmt(cold)} ms (the stats stream starts); worker − raw = ` +
      `${fmt(f.worker.median - f.raw.median)} ms; worker CPU per warm inspect ${fmt(this.workerCpuPerCall)} ms.`);
  }

  async itemExecTrue() {
    log('3: exec true');
    const { w, raw, sdk, cid } = this;
    const check = (/** @type {number} */ code) => {
      if (code !== 0) throw new Error(`exec true exited ${code}`);
    };
    const f = await this.interleave(this.p.execTrue, {
      worker: () => timeMs(async () => check((await w.call('exec', { externalId: cid, command: ['true'] })).exitCode)),
      raw: () => timeMs(async () => check((await raw.exec(cid, ['true'])).exitCode)),
      sdk: async () => {
        const out = await sdk.run({ op: 'exec', id: cid, cmd: ['true'] });
        check(out.exitCode);
        return out.seconds * 1000;
      },
    });
    this.row('3. `exec true` with its exit code', f, '— (no target)', undefined);
  }

  async itemCycle() {
    log('6: provision -> exec -> destroy');
    const { w, raw, sdk } = this;
    const env = { OL_BENCH_A: '1', OL_BENCH_B: 'two' };
    const f = await this.interleave(this.p.cycle, {
      worker: () => timeMs(async () => {
        const node = await w.call('provision', { spec: { runtime: { image: IMAGE, env },
          network: { ports: [{ port: 8080, hostPort: 0 }] }, labels: RUN_LABELS } });
        const res = await w.call('exec', { externalId: node.externalId, command: ['true'] });
        if (res.exitCode !== 0) throw new Error(`exec in the new node exited ${res.exitCode}`);
        await w.call('destroy', { externalId: node.externalId });
      }),
      // The engine requests the worker makes: image check, create, start, inspect, exec, remove.
      raw: () => timeMs(async () => {
        await raw.json('GET', `/images/${IMAGE}/json`);
        const id = await raw.create({ Image: IMAGE, Cmd: ['sh', '-c', 'sleep infinity'],
          Env: Object.entries(env).map(([k, v]) => `${k}=${v}`), Labels: RUN_LABELS, ExposedPorts: { '8080/tcp': {} },
          HostConfig: { PortBindings: { '8080/tcp': [{ HostPort: '' }] } } });
        await raw.start(id);
        await raw.inspect(id);
        if ((await raw.exec(id, ['true'])).exitCode !== 0) throw new Error('raw exec in the new container failed');
        await raw.remove(id);
      }),
      sdk: () => sdk.ms({ op: 'cycle', image: IMAGE, env, labels: RUN_LABELS }),
    }, 1);
    this.row('6. provision → exec → destroy (env, port, labels)', f, '— (no target)', undefined);
  }

  async itemStreams() {
    const { w, raw, sdk, cid } = this;
    const mib = this.p.streamMiB;
    const expected = mib * MiB;
    this.hwmResetOk = w.resetPeak();
    const sampler = sampleProcess(w.pid, 5);
    for (const [variant, cmd, encoding] of /** @type {const} */ ([
      ['binary', ['head', '-c', String(expected), '/dev/zero'], 'base64'],
      ['text', ['sh', '-c', `yes abcdefghijklmnopqrstuvwxyz | head -c ${expected}`], 'utf8'],
    ])) {
      log(`4: streamed ${variant}, ${mib} MiB`);
      const text = variant === 'text';
      /** @type {Record<string, {worker: number, host: number, wall: number}>} */
      const cpu = { worker: { worker: 0, host: 0, wall: 0 }, raw: { worker: 0, host: 0, wall: 0 }, sdk: { worker: 0, host: 0, wall: 0 } };
      let notifications = 0;
      /**
       * Times `fn` and adds the CPU of the worker and of the host process (`hostPid`, or this one) to `cpu[name]`.
       * @param {string} name @param {() => Promise<number>} fn resolves to the byte count @param {number} [hostPid]
       */
      const measured = async (name, fn, hostPid) => {
        const hostCpu = () => (hostPid ? procCpuSeconds(hostPid) : process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6);
        const w0 = procCpuSeconds(w.pid);
        const h0 = hostCpu();
        const t0 = performance.now();
        const bytes = await fn();
        const wall = (performance.now() - t0) / 1000;
        if (bytes !== expected) throw new Error(`${name} ${variant} stream delivered ${bytes} bytes, not ${expected}`);
        cpu[name].worker += procCpuSeconds(w.pid) - w0;
        cpu[name].host += hostCpu() - h0;
        cpu[name].wall += wall;
        return mib / wall;
      };
      const f = await this.interleave(this.p.streamTrials, {
        worker: () => measured('worker', async () => {
          const out = await w.execCounted(cid, [...cmd], encoding);
          if (out.result.exitCode !== 0) throw new Error(`worker stream exited ${out.result.exitCode}`);
          notifications += out.notifications;
          return out.stdout;
        }),
        raw: () => measured('raw', async () => (await raw.exec(cid, [...cmd], { text })).stdout),
        sdk: () => measured('sdk', async () => (await sdk.run({ op: 'stream', id: cid, cmd, text })).bytes, sdk.child.pid),
      }, 0, 'MiB/s');
      const rw = ratio(f.worker, f.raw);
      const rs = ratio(f.worker, f.sdk);
      this.row(text
        ? `4b. streamed text, \`yes … \\| head -c ${mib}M\` (worker: \`encoding: utf8\`)`
        : `4. streamed binary, \`head -c ${mib}M /dev/zero\` (worker: \`encoding: base64\`)`,
      f, '≥ 0.95 × raw, ≥ 1.0 × SDK', rw !== undefined && rs !== undefined && rw >= 0.95 && rs >= 1.0);
      const total = mib * this.p.streamTrials;
      for (const name of ['worker', 'raw', 'sdk']) {
        const c = cpu[name];
        this.cpuRows.push(`| ${variant} | ${name} | ${fmt(f[name].median)} | ${name === 'worker' ? fmt((c.worker * 1000) / total) : '—'} | ` +
          `${fmt((c.host * 1000) / total)} | ${name === 'worker' ? `${fmt(notifications / this.p.streamTrials)} of ${fmt(expected / (notifications / this.p.streamTrials) / 1024)} KiB` : '—'} |`);
      }
    }
    const peak = sampler.stop();
    this.streamThreads = peak.threads;
    this.streamHwmKb = procStatus(w.pid).VmHWM;
  }

  async itemConcurrent() {
    const { w, raw, sdk, cid } = this;
    const n = this.p.concExecs;
    log(`5: ${n} concurrent sleep 1 execs`);
    const cmd = ['sleep', '1'];
    let peakThreads = 0;
    const f = await this.interleave(this.p.concTrials, {
      worker: async () => {
        const sampler = sampleProcess(w.pid, 2);
        const t0 = performance.now();
        const results = await Promise.all(w.sendMany(Array.from({ length: n }, () => ['exec', { externalId: cid, command: cmd }])));
        const wall = performance.now() - t0;
        peakThreads = Math.max(peakThreads, sampler.stop().threads);
        if (results.some((r) => r.exitCode !== 0)) throw new Error('a concurrent worker exec failed');
        return wall / 1000;
      },
      raw: async () => {
        const t0 = performance.now();
        const results = await Promise.all(Array.from({ length: n }, () => raw.exec(cid, cmd)));
        if (results.some((r) => r.exitCode !== 0)) throw new Error('a concurrent raw exec failed');
        return (performance.now() - t0) / 1000;
      },
      sdk: async () => {
        const out = await sdk.run({ op: 'concurrent', id: cid, cmd, n });
        if (out.exitCodes.some((/** @type {number} */ c) => c !== 0)) throw new Error('a concurrent SDK exec failed');
        return out.seconds;
      },
    }, 0, 's');
    this.row(`5. ${n} concurrent \`sleep 1\` execs, wall time`, f, '— (no target)', undefined);
    this.single(`5a. worker threads, peak during the ${n} execs`, String(peakThreads), '≤ 16', peakThreads <= 16);
    this.notes.push(`Item 5: raw = ${n} concurrent exec flows on one keep-alive \`http.Agent\` (each exec start uses up a ` +
      `connection: the engine closes it at the end of the stream); SDK = ${n} Python threads sharing one \`DockerClient\` with ` +
      `enlarged pools. Worker peak threads during the streams: ${this.streamThreads}.`);
  }

  // -- files.* (as Benchmarks/files.py, against docker cp) -----------------------------------

  async itemFiles() {
    const { w, p } = this;
    const work = (this.work = mkdtempSync(path.join(tmpdir(), 'olw-bench-node-')));
    log(`files: provisioning a node; ${p.fileMiB} MiB file, ${p.smallFiles} small files, ${p.folderFiles} files in a folder`);
    const node = (await w.call('provision', { spec: { runtime: { image: IMAGE }, labels: RUN_LABELS } })).externalId;
    try {
      await this.filesBig(node, work);
      await this.filesSmall(node, work);
      await this.filesFolder(node, work);
    } finally {
      await w.call('destroy', { externalId: node }).catch((e) => log(`destroy of the files node: ${e.message}`));
    }
  }

  /** @param {string} node @param {string} work */
  async filesBig(node, work) {
    const { w, p } = this;
    const source = path.join(work, 'big.bin');
    const fd = openSync(source, 'w');
    const hash = createHash('sha256');
    for (let i = 0; i < p.fileMiB; i++) {
      const block = randomBytes(MiB);
      hash.update(block);
      writeFileSync(fd, block);
    }
    closeSync(fd);
    const expected = hash.digest('hex');
    const size = p.fileMiB * MiB;
    /** @type {Record<string, number[]>} */
    const t = { up: [], upCp: [], down: [], downCp: [] };
    const peaks = { up: 0, down: 0 };
    for (let round = 0; round < p.fileRounds; round++) {
      w.resetPeak();
      t.up.push(await timeMs(() => sendChunks(w, { externalId: node, path: '/tmp/w.bin', size }, fileBlocks(source))));
      peaks.up = Math.max(peaks.up, w.status().VmHWM);
      await expectSum(node, '/tmp/w.bin', expected, 'files.upload');
      t.upCp.push(await timeMs(() => execFileAsync('docker', ['cp', source, `${node}:/tmp/c.bin`])));
      await expectSum(node, '/tmp/c.bin', expected, 'docker cp');
      w.resetPeak();
      const digest = createHash('sha256');
      /** @type {any} */
      let result;
      t.down.push(await timeMs(async () => {
        result = await w.download({ externalId: node, path: '/tmp/w.bin', chunkBytes: MiB }, (bytes) => digest.update(bytes));
      }));
      peaks.down = Math.max(peaks.down, w.status().VmHWM);
      if (digest.digest('hex') !== expected || result.sha256 !== expected) throw new Error('files.download gave other bytes');
      const out = path.join(work, `cp-out-${round}`);
      mkdirSync(out);
      t.downCp.push(await timeMs(() => execFileAsync('docker', ['cp', `${node}:/tmp/c.bin`, out])));
      if (fileSum(path.join(out, 'c.bin')) !== expected) throw new Error('docker cp gave other bytes');
      rmSync(out, { recursive: true });
      log(`files round ${round + 1}: up ${fmt(t.up.at(-1) ?? 0)}/${fmt(t.upCp.at(-1) ?? 0)} ms, down ${fmt(t.down.at(-1) ?? 0)}/${fmt(t.downCp.at(-1) ?? 0)} ms (worker/docker cp)`);
    }
    await execFileAsync('docker', ['exec', node, 'rm', '-f', '/tmp/w.bin', '/tmp/c.bin']);
    rmSync(source);
    const rate = (/** @type {number[]} */ ms) => new Figure(ms.map((x) => p.fileMiB / (x / 1000)), 'MiB/s');
    this.fileRow(`F1. ${p.fileMiB} MiB file host → node: \`files.upload\` (4 MiB chunks, two in flight)`, rate(t.up), rate(t.upCp), peaks.up);
    this.fileRow(`F2. the same node → host: \`files.download\` (1 MiB notifications, hashed)`, rate(t.down), rate(t.downCp), peaks.down);
  }

  /** @param {string} node @param {string} work */
  async filesSmall(node, work) {
    const { w, p } = this;
    const small = path.join(work, 'small');
    mkdirSync(small);
    const contents = Array.from({ length: p.smallFiles }, (_, i) => [`f${String(i).padStart(3, '0')}.txt`, randomBytes(1024)]);
    for (const [name, data] of contents) writeFileSync(path.join(small, /** @type {string} */ (name)), data);
    /** @type {Record<string, number[]>} */
    const t = { many: [], single: [], cp: [] };
    for (let round = 0; round < p.fileRounds; round++) {
      const files = contents.map(([name, data]) => ({ path: `/srv/m${round}/${name}`, content: data.toString('base64'), encoding: 'base64' }));
      t.many.push(await timeMs(() => w.call('files.writeMany', { externalId: node, files })));
      t.single.push(await timeMs(async () => {
        for (const [name, data] of contents) {
          await w.call('files.write', { externalId: node, path: `/srv/s${round}/${name}`, content: data.toString('base64'), encoding: 'base64' });
        }
      }));
      t.cp.push(await timeMs(() => execFileAsync('docker', ['cp', small, `${node}:/srv/c${round}`])));
      const { stdout } = await execFileAsync('docker', ['exec', node, 'sh', '-c', `ls /srv/m${round} | wc -l; ls /srv/s${round} | wc -l; ls /srv/c${round} | wc -l`]);
      if (stdout.split(/\s+/).filter(Boolean).some((x) => Number(x) !== p.smallFiles)) throw new Error(`small files missing: ${stdout}`);
    }
    const cp = new Figure(t.cp, 'ms');
    this.fileRow(`F3. ${p.smallFiles} files of 1 KiB, one \`files.writeMany\``, new Figure(t.many, 'ms'), cp);
    this.fileRow(`F3a. the same as ${p.smallFiles} \`files.write\` calls`, new Figure(t.single, 'ms'), cp);
  }

  /** @param {string} node @param {string} work */
  async filesFolder(node, work) {
    const { w, p } = this;
    const folder = path.join(work, 'tree');
    const perFile = Math.floor((p.folderMiB * MiB) / p.folderFiles);
    for (let i = 0; i < p.folderFiles; i++) {
      const sub = path.join(folder, `d${String(i % 50).padStart(2, '0')}`);
      mkdirSync(sub, { recursive: true });
      writeFileSync(path.join(sub, `f${String(i).padStart(5, '0')}.bin`), randomBytes(perFile));
    }
    /** @type {Record<string, number[]>} */
    const t = { up: [], upCp: [], down: [], downCp: [] };
    let peak = 0;
    const count = async (/** @type {string} */ dir) =>
      Number((await execFileAsync('docker', ['exec', node, 'sh', '-c', `find ${dir} -type f | wc -l`])).stdout.trim());
    for (let round = 0; round < p.fileRounds; round++) {
      await execFileAsync('docker', ['exec', node, 'sh', '-c', 'rm -rf /srv/t /srv/ct && mkdir -p /srv/t']);
      w.resetPeak();
      t.up.push(await timeMs(async () => {
        const tar = spawn('tar', ['-C', folder, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
        await sendChunks(w, { externalId: node, path: '/srv/t', format: 'tar' }, rechunk(tar.stdout, 4 * MiB));
      }));
      peak = Math.max(peak, w.status().VmHWM);
      if ((await count('/srv/t')) !== p.folderFiles) throw new Error('files.upload of the folder lost files');
      t.upCp.push(await timeMs(() => execFileAsync('docker', ['cp', folder, `${node}:/srv/ct`])));
      const into = path.join(work, `down-${round}`);
      mkdirSync(into);
      w.resetPeak();
      t.down.push(await timeMs(async () => {
        const tar = spawn('tar', ['-C', into, '-xf', '-'], { stdio: ['pipe', 'ignore', 'inherit'] });
        const exited = new Promise((resolve) => tar.on('exit', resolve));
        await w.download({ externalId: node, path: '/srv/t', chunkBytes: MiB }, (bytes) => tar.stdin.write(bytes));
        tar.stdin.end();
        await exited;
      }));
      peak = Math.max(peak, w.status().VmHWM);
      const got = countFiles(into);
      if (got !== p.folderFiles) throw new Error(`files.download of the folder gave ${got} files`);
      const cpInto = path.join(work, `cp-down-${round}`);
      mkdirSync(cpInto);
      t.downCp.push(await timeMs(() => execFileAsync('docker', ['cp', `${node}:/srv/ct`, cpInto])));
      rmSync(into, { recursive: true });
      rmSync(cpInto, { recursive: true });
      log(`folder round ${round + 1}: up ${fmt(t.up.at(-1) ?? 0)}/${fmt(t.upCp.at(-1) ?? 0)} ms, down ${fmt(t.down.at(-1) ?? 0)}/${fmt(t.downCp.at(-1) ?? 0)} ms`);
    }
    const label = `${p.folderMiB} MiB folder of ${p.folderFiles.toLocaleString('en')} files`;
    this.fileRow(`F4. ${label} host → node (\`files.upload format: tar\` fed by \`tar -c\`)`, new Figure(t.up, 'ms'), new Figure(t.upCp, 'ms'), peak);
    this.fileRow(`F4a. the same node → host (\`files.download\` into \`tar -x\`)`, new Figure(t.down, 'ms'), new Figure(t.downCp, 'ms'));
  }

  /**
   * A row of the files table; the ratio is the worker's speed over docker cp's (> 1: the worker is faster).
   * @param {string} name @param {Figure} worker @param {Figure} cp @param {number} [peakKb]
   */
  fileRow(name, worker, cp, peakKb) {
    const speed = worker.unit === 'MiB/s' ? ratio(worker, cp) : ratio(cp, worker);
    this.fileRows.push([name, worker.cell(), cp.cell(), ratioCell(speed), peakKb ? `${fmt(peakKb / 1024)} MiB` : '—']);
  }

  // -- run ---------------------------------------------------------------------------------

  async run() {
    const tStart = performance.now();
    this.loadStart = loadavg().map((x) => x.toFixed(2)).join(' ');
    await this.setup();
    await this.itemStart();
    const w = (this.w = this.spawnWorker());
    const t0 = performance.now();
    await w.initialize();
    const mainReady = performance.now() - t0;
    await sleep(300);
    const idle = w.status();
    log(`worker ${w.pid} ready; idle RSS ${fmt(idle.VmRSS / 1024)} MiB, ${idle.Threads} threads`);
    await this.itemPing();
    await this.itemInspect();
    await this.itemExecTrue();
    await this.itemCycle();
    await this.itemStreams();
    await this.itemConcurrent();
    if (this.args.files) await this.itemFiles();
    this.totalS = (performance.now() - tStart) / 1000;

    const idleMB = (idle.VmRSS * 1024) / 1e6;
    const streamMiB = (this.streamHwmKb ?? 0) / 1024;
    this.single('7. ready: spawn → `initialize` answered', this.start?.cell() ?? '—', '< 50 ms', (this.start?.median ?? Infinity) < 50);
    this.single('7a. idle RSS 0.3 s after `initialize`', `${fmt(idleMB)} MB (${fmt(idle.VmRSS / 1024)} MiB)`, '< 24 MB', idleMB < 24);
    this.single('7b. peak RSS during the streams (`VmHWM`)', `${fmt(streamMiB)} MiB`, '< 64 MiB', streamMiB < 64);
    this.notes.push(`Item 7: ${this.start?.values.length} fresh spawns from \`spawn()\` to the \`initialize\` answer; the measured ` +
      `worker's own start took ${fmt(mainReady)} ms. Idle: ${fmt(idle.RssAnon / 1024)} MiB anonymous + ${fmt(idle.RssFile / 1024)} MiB ` +
      `file-backed, ${idle.Threads} threads. Peak RSS is \`VmHWM\`${this.hwmResetOk ? ', reset through `/proc/PID/clear_refs` before the streams' : ' (the reset was refused: it includes the earlier items)'}.`);
    return this.report();
  }

  report() {
    const v = this.version;
    const rev = gitRev();
    const now = new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
    let built = '?';
    try {
      built = statSync(this.args.worker).mtime.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
    } catch {
      // no binary, no date
    }
    const table = [
      '| benchmark | worker | raw (`node:http`) | SDK (docker-py) | worker/raw | worker/SDK | target | met? |',
      '|---|---|---|---|---|---|---|---|',
      ...this.rows.map((r) => `| ${r.name} | ${r.worker} | ${r.raw} | ${r.sdk} | ${r.wr} | ${r.ws} | ${r.target} | ` +
        `${r.met === undefined ? '—' : r.met ? 'yes' : '**no**'} |`),
    ];
    const fileTable = this.fileRows.length ? [
      '| files.* item | worker | `docker cp` | worker speed ÷ docker cp\'s | worker peak RSS |',
      '|---|---|---|---|---|',
      ...this.fileRows.map((r) => `| ${r.join(' | ')} |`),
    ] : [];
    const lines = [
      '# openlattice-docker-worker benchmark from a Node.js host',
      '',
      `- date: ${now}${this.args.quick ? ' (--quick)' : ''}; the run took ${this.totalS.toFixed(0)} s`,
      `- machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${release()}; ` +
        `load average ${this.loadStart} at the start, ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end (shared machine)`,
      `- engine: Docker ${v.Version} (API ${v.ApiVersion}), ${v.Os}/${v.Arch}, socket ${SOCKET}`,
      `- worker binary: \`${path.resolve(this.args.worker)}\` (built ${built}; sources at ${rev})`,
      `- host: Node.js ${process.version} (\`Benchmarks/node/worker-host.mjs\`); raw: \`node:http\` with a keep-alive \`Agent\` on the socket ` +
        `(\`Benchmarks/node/raw-engine.mjs\`); SDK: docker-py ${this.sdkVersion.sdk} on Python ${this.sdkVersion.python} in a helper ` +
        'process (`Benchmarks/node/sdk_helper.py`), each operation timed inside Python',
      `- image: \`${IMAGE}\`; figures are median (min–max) over the trials, interleaved (the order rotates every round)`,
      '',
      ...table,
      '',
      'Ratios are of medians: for times < 1 means the worker is faster, for throughputs > 1.',
      '',
      ...(fileTable.length ? ['## files.* against `docker cp` (as `Benchmarks/files.py`, alternating, every transfer checked)', '', ...fileTable, ''] : []),
      '## Diagnostics',
      '',
      ...this.notes.map((n) => `- ${n}`),
      '',
      'Streams, CPU milliseconds per MiB delivered (all trials): the worker, and the host process (this Node process for ' +
        'worker and raw, the Python helper for the SDK).',
      '',
      '| stream | client | MiB/s | worker CPU ms/MiB | host CPU ms/MiB | notifications per trial |',
      '|---|---|---|---|---|---|',
      ...this.cpuRows,
      '',
    ];
    const text = lines.join('\n');
    const out = this.args.out ?? path.join(this.resultsDir, this.args.quick ? 'node-latest-quick.md' : 'node-latest.md');
    writeFileSync(out, text);
    console.log(text);
    log(`written to ${out}`);
    // Only a full run, files.* included, speaks for the README.
    if (!this.args.quick && !this.args.out && this.args.files) {
      updateReadme(table, `Run of ${now} from a Node.js host (\`node Benchmarks/node/run.mjs\`), ${rev}, load average ` +
        `${this.loadStart} → ${loadavg().map((x) => x.toFixed(2)).join(' ')} ` +
        '([`Benchmarks/results/node-latest.md`](Benchmarks/results/node-latest.md), with the files.* items):');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// helpers

/**
 * Removes containers labelled by earlier Node runs whose process is gone (a killed run); leaves
 * those of runs still going (and run.py's, which carry no `olw-bench-node`) alone.
 * @param {RawEngine} raw
 */
async function removeStale(raw) {
  let n = 0;
  for (const c of await raw.list('olw-bench-node')) {
    const pid = Number(c.Labels['olw-bench-node']);
    if (pid === process.pid || isAlive(pid)) continue;
    await raw.remove(c.Id);
    n++;
  }
  return n;
}

/** @param {number} pid */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return /** @type {any} */ (e).code === 'EPERM';
  }
}

/**
 * `files.upload` with `params`, then each block as a base64 `files.uploadChunk` (two in flight), then the finish.
 * @param {WorkerHost} w @param {any} params @param {AsyncIterable<Buffer>} blocks
 */
async function sendChunks(w, params, blocks) {
  const { uploadId } = await w.call('files.upload', params);
  /** @type {Promise<any>[]} */
  const inFlight = [];
  for await (const block of blocks) {
    inFlight.push(w.call('files.uploadChunk', { uploadId, data: block.toString('base64'), encoding: 'base64' }));
    if (inFlight.length >= 2) await inFlight.shift();
  }
  await Promise.all(inFlight);
  return w.call('files.finishUpload', { uploadId });
}

/** A file's contents in 4 MiB blocks. @param {string} file */
async function* fileBlocks(file) {
  const handle = await openFile(file, 'r');
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(4 * MiB);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/**
 * A stream's bytes regrouped into blocks of `size` (the last one shorter).
 * @param {AsyncIterable<Buffer>} stream @param {number} size
 */
async function* rechunk(stream, size) {
  /** @type {Buffer[]} */
  let parts = [];
  let have = 0;
  for await (const chunk of stream) {
    parts.push(chunk);
    have += chunk.length;
    while (have >= size) {
      const all = Buffer.concat(parts);
      yield all.subarray(0, size);
      parts = [all.subarray(size)];
      have -= size;
    }
  }
  if (have) yield Buffer.concat(parts);
}

/** @param {string} node @param {string} file @param {string} expected @param {string} how */
async function expectSum(node, file, expected, how) {
  const { stdout } = await execFileAsync('docker', ['exec', node, 'sha256sum', file]);
  if (stdout.split(/\s+/)[0] !== expected) throw new Error(`${how} landed other bytes`);
}

/** @param {string} file */
function fileSum(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Regular files below a folder. @param {string} dir @returns {number} */
function countFiles(dir) {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) n += countFiles(path.join(dir, entry.name));
    else if (entry.isFile()) n++;
  }
  return n;
}

function gitRev() {
  try {
    const git = (/** @type {string[]} */ ...a) => execFileSync('git', ['-C', ROOT, ...a], { encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'Sources', 'Package.swift');
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes in Sources/' : ''}`;
  } catch {
    return '?';
  }
}

/** Replaces the table between the README's benchmark markers. @param {string[]} table @param {string} header */
function updateReadme(table, header) {
  const readme = path.join(ROOT, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const begin = text.indexOf(README_BEGIN);
  const end = text.indexOf(README_END);
  if (begin < 0 || end < begin) {
    log('README.md has no benchmark-table markers; not updated');
    return;
  }
  writeFileSync(readme, text.slice(0, begin) + [README_BEGIN, header, '', ...table, README_END].join('\n') + text.slice(end + README_END.length));
  log("README.md's benchmark table updated");
}

async function main() {
  const argv = process.argv.slice(2);
  const value = (/** @type {string} */ flag) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const args = {
    quick: argv.includes('--quick'),
    files: !argv.includes('--no-files'),
    worker: value('--worker') ?? path.join(ROOT, '.build-release', 'release', 'openlattice-docker-worker'),
    out: value('--out'),
  };
  if (argv.includes('--help')) {
    console.log('node Benchmarks/node/run.mjs [--quick] [--worker PATH] [--out FILE] [--no-files]');
    return 0;
  }
  try {
    statSync(args.worker);
  } catch {
    log(`worker binary not found: ${args.worker}\nbuild it: swift build -c release --static-swift-stdlib --scratch-path .build-release --product openlattice-docker-worker`);
    return 2;
  }
  const bench = new Bench(args);
  /** @type {Promise<void> | undefined} */
  let teardown;
  const teardownOnce = () => (teardown ??= bench.teardown());
  // Ctrl-C, SIGTERM or an exception outside a call: clean up once, then leave (the run's own
  // `finally` waits for the same teardown if it is still going).
  const stop = (/** @type {string} */ reason, exitCode = 130) => {
    log(`${reason}: cleaning up`);
    teardownOnce().finally(() => process.exit(exitCode));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('uncaughtException', (error) => {
    log(error);
    stop('uncaught exception', 1);
  });
  try {
    await bench.run();
    return 0;
  } finally {
    await teardownOnce();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(error);
    process.exit(1);
  },
);
