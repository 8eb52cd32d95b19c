// @ts-check
/**
 * The worker as a Node.js orchestrator drives it: spawned with `node:child_process`, JSON-RPC 2.0
 * requests written as lines on its stdin, its stdout split into lines on the event loop, each
 * parsed with `JSON.parse` and routed by id. Notifications carrying a `requestId` (`exec.output`,
 * `files.data`) go to the sink the caller gave for that request; `exec.output` data is decoded
 * (base64 → Buffer, utf8 → its UTF-8 length) so what is counted is what the host received.
 *
 * Deliberately thinner than `protocol/host/index.js` (no date revival, deadlines or cancellation):
 * the benchmark measures the worker plus the cheapest host that could sit on its pipes.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/** An error answered by the worker (`error` member of a response). */
export class RPCError extends Error {
  /** @param {{code: number, message: string, data?: any}} error */
  constructor(error) {
    super(`${error.code}: ${error.message}`);
    this.error = error;
  }
}

export class WorkerHost {
  /**
   * @param {string} binary path of the worker executable
   * @param {{stderr?: number | 'ignore'}} [options] `stderr`: a file descriptor the worker's stderr goes to
   */
  constructor(binary, options = {}) {
    this.spawnedAt = performance.now();
    this.child = spawn(binary, [], { stdio: ['pipe', 'pipe', options.stderr ?? 'ignore'] });
    this.pid = /** @type {number} */ (this.child.pid);
    this.nextId = 1;
    /** @type {Map<number, {resolve: (m: any) => void, reject: (e: Error) => void, sink?: (p: any) => void}>} */
    this.pending = new Map();
    /** @type {Buffer[]} pieces of a line not yet ended by a newline */
    this.partial = [];
    this.lines = 0;
    this.closed = false;
    this.child.stdout.on('data', (chunk) => this.onData(chunk));
    this.child.on('exit', () => this.failAll(new Error('the worker exited')));
    this.child.on('error', (e) => this.failAll(e));
    this.child.stdin.on('error', () => {});
  }

  /** @param {Buffer} chunk */
  onData(chunk) {
    let start = 0;
    let nl = chunk.indexOf(10);
    while (nl >= 0) {
      let line;
      if (this.partial.length) {
        this.partial.push(chunk.subarray(start, nl));
        line = Buffer.concat(this.partial);
        this.partial = [];
      } else {
        line = chunk.subarray(start, nl);
      }
      if (line.length) this.handle(line);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) this.partial.push(chunk.subarray(start));
  }

  /** @param {Buffer} line */
  handle(line) {
    this.lines++;
    const msg = JSON.parse(line.toString('utf8'));
    if (Array.isArray(msg)) {
      for (const m of msg) this.route(m);
      return;
    }
    if ('id' in msg) {
      this.route(msg);
      return;
    }
    const requestId = msg.params?.requestId;
    const slot = requestId === undefined ? undefined : this.pending.get(requestId);
    if (!slot?.sink) return;
    try {
      slot.sink(msg);
    } catch (error) {
      // A sink that fails (a check, a closed pipe) fails its call, not the host.
      this.pending.delete(requestId);
      slot.reject(/** @type {Error} */ (error));
    }
  }

  /** @param {any} msg */
  route(msg) {
    const slot = this.pending.get(msg.id);
    if (!slot) return;
    this.pending.delete(msg.id);
    slot.resolve(msg);
  }

  /** @param {Error} error */
  failAll(error) {
    this.closed = true;
    for (const slot of this.pending.values()) slot.reject(error);
    this.pending.clear();
  }

  /**
   * Writes several requests in one write and returns one promise per request, resolving to its
   * result (rejecting with `RPCError`).
   * @param {Array<[string, any]>} calls method and params of each request
   * @param {(notification: any) => void} [sink] receives the notifications of every one of them
   * @returns {Promise<any>[]}
   */
  sendMany(calls, sink) {
    const lines = [];
    const promises = [];
    for (const [method, params] of calls) {
      const id = this.nextId++;
      lines.push(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      promises.push(
        new Promise((resolve, reject) => {
          this.pending.set(id, {
            resolve: (msg) => (msg.error ? reject(new RPCError(msg.error)) : resolve(msg.result)),
            reject,
            sink,
          });
        }),
      );
    }
    this.child.stdin.write(lines.join('\n') + '\n');
    return promises;
  }

  /**
   * One request; resolves to its result.
   * @param {string} method
   * @param {any} [params]
   * @param {(notification: any) => void} [sink] receives the notifications naming this request
   */
  call(method, params = {}, sink) {
    return this.sendMany([[method, params]], sink)[0];
  }

  /**
   * A streamed exec whose `exec.output` bytes are decoded and counted.
   * @returns {Promise<{result: any, stdout: number, stderr: number, notifications: number}>}
   */
  async execCounted(/** @type {string} */ externalId, /** @type {string[]} */ command, /** @type {'base64'|'utf8'} */ encoding) {
    const counts = { stdout: 0, stderr: 0, notifications: 0 };
    const sink = (/** @type {any} */ n) => {
      if (n.method !== 'exec.output') return;
      const p = n.params;
      const bytes = encoding === 'base64' ? Buffer.from(p.data, 'base64').length : Buffer.byteLength(p.data, 'utf8');
      if (p.stream === 'stdout') counts.stdout += bytes;
      else counts.stderr += bytes;
      counts.notifications++;
    };
    const result = await this.call('exec', { externalId, command, options: { stream: true, encoding } }, sink);
    return { result, ...counts };
  }

  /**
   * `files.download` whose `files.data` bytes are decoded from base64 and handed to `onBytes` in order.
   * @param {any} params the `files.download` params
   * @param {(bytes: Buffer) => void} onBytes
   * @returns {Promise<any>} the result (`{size, sha256, …}`)
   */
  download(params, onBytes) {
    return this.call('files.download', params, (n) => {
      if (n.method === 'files.data') onBytes(Buffer.from(n.params.data, 'base64'));
    });
  }

  initialize() {
    return this.call('initialize', { protocolVersion: '1.1' });
  }

  /** `Threads`, `VmRSS`, `VmHWM`, `RssAnon`, `RssFile` (kB) from /proc/PID/status. */
  status() {
    return procStatus(this.pid);
  }

  /** Resets the peak resident set (`VmHWM`) to the current one; false if the kernel refused. */
  resetPeak() {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  /** Asks the worker to shut down, closes its stdin, and kills it if it has not exited in 5 s. */
  async close() {
    if (this.closed) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    try {
      await Promise.race([this.call('shutdown', {}), new Promise((r) => setTimeout(r, 3000))]);
    } catch {
      // already going
    }
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Some fields of /proc/PID/status, in kB (or a count for `Threads`).
 * @param {number} pid
 * @returns {Record<string, number>}
 */
export function procStatus(pid) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const [key, value] = line.split(':');
    if (['Threads', 'VmRSS', 'VmHWM', 'RssAnon', 'RssFile', 'RssShmem'].includes(key)) out[key] = parseInt(value, 10);
  }
  return out;
}

/**
 * User + system CPU seconds of a process (all its threads), from /proc/PID/stat.
 * @param {number} pid
 */
export function procCpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()?.trim().split(' ') ?? [];
  return (parseInt(fields[11], 10) + parseInt(fields[12], 10)) / 100; // USER_HZ is 100 on Linux
}

/**
 * Samples a process's thread count and RSS every `intervalMs` on the event loop until `stop()`.
 * @param {number} pid
 * @param {number} [intervalMs]
 */
export function sampleProcess(pid, intervalMs = 2) {
  const peak = { threads: 0, rssKb: 0, samples: 0 };
  const take = () => {
    try {
      const s = procStatus(pid);
      peak.threads = Math.max(peak.threads, s.Threads);
      peak.rssKb = Math.max(peak.rssKb, s.VmRSS);
      peak.samples++;
    } catch {
      // the process is gone
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    peak,
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}
