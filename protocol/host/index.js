// @ts-check
/**
 * Node.js host adapter for openlattice-docker-worker.
 *
 * `DockerWorkerProvider` spawns the worker binary, speaks its JSON-RPC 2.0 line protocol
 * (protocol/README.md) over the child's stdin/stdout, and exposes the interface of the original
 * TypeScript `DockerProvider`, so an OpenLattice core can swap providers without changing a line.
 *
 * Zero dependencies: Node.js 20 built-ins only.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';

/** The protocol version this adapter speaks. */
export const PROTOCOL_VERSION = '1.1';

/** Result members (at any depth) whose ISO 8601 string values are turned into `Date`s. */
const DATE_KEYS = new Set(['startedAt', 'createdAt', 'finishedAt', 'sampledAt', 'modifiedAt', 'timestamp', 'time', 'expiresAt', 'ttlExpiresAt']);
/** Members whose contents are user data and are never rewritten (a label may be called "createdAt"). */
const OPAQUE_KEYS = new Set(['labels', 'env']);
/** Config keys that belong to the adapter and are not sent to the worker in `initialize`. */
const ADAPTER_KEYS = new Set(['workerPath', 'workerArgs', 'workerEnv', 'onLog', 'closeTimeoutMs']);
/** The worker config members `initialize` takes (openrpc.json `Config`); anything else is refused here. */
const WORKER_CONFIG_KEYS = new Set([
  'host', 'apiVersion', 'network', 'defaultLabels', 'gpuAvailable', 'snapshotRepository', 'requestTimeoutMs', 'tls',
  'manageUnlabeled', 'ownerId', 'registryAuth', 'sshOptions', 'policy', 'onHostExit', 'snapshotRetentionSeconds', 'streamStallMs', 'maxOutputBytes',
]);
/** The worker's request line limit until `initialize` reports its own (`limits.maxLineBytes`). */
const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;
/** The worker's default `requestTimeoutMs`, also the adapter's default deadline of a call. */
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** Extension names the worker serves and `getExtension` hands out. */
const EXTENSIONS = new Set(['network', 'files', 'metrics', 'logs']);

/**
 * @typedef {import('./index.js').DockerWorkerProviderConfig} DockerWorkerProviderConfig
 * @typedef {{ method: string, resolve: (value: any) => void, reject: (reason: any) => void,
 *             onNotification?: (method: string, params: any) => void }} PendingCall
 * @typedef {{ child: import('node:child_process').ChildProcessWithoutNullStreams, pending: Map<number, PendingCall>,
 *             partial: Buffer[], exited: boolean, exitInfo: { code: number | null, signal: string | null } | null,
 *             exitPromise: Promise<void>, markExited: () => void, ready: Promise<any> | null,
 *             initialized: boolean, closing: boolean, spawnError: Error | null, maxLineBytes: number }} Session
 * @typedef {{ signal?: AbortSignal, timeoutMs?: number | null, onNotification?: (method: string, params: any) => void }} CallOptions
 */

/**
 * An error answered by the worker: `message` is the worker's message (`[docker] <method> failed: …`),
 * `code` the JSON-RPC error code and `data` its structured details.
 */
export class DockerWorkerError extends Error {
  /**
   * @param {string} message
   * @param {number} code
   * @param {any} [data]
   * @param {string} [method]
   */
  constructor(message, code, data, method) {
    super(message);
    this.name = 'DockerWorkerError';
    /** @type {number} */
    this.code = code;
    /** @type {any} */
    this.data = data;
    /** @type {string | undefined} */
    this.method = method;
  }
}

/** The worker process ended (or could not be started) while a call was in flight. */
export class WorkerExitedError extends Error {
  /**
   * @param {string} message
   * @param {number | null} exitCode
   * @param {string | null} signal
   * @param {string} [method]
   */
  constructor(message, exitCode, signal, method) {
    super(message);
    this.name = 'WorkerExitedError';
    this.code = 'ERR_WORKER_EXITED';
    this.exitCode = exitCode;
    this.signal = signal;
    this.method = method;
  }
}

/**
 * A call the worker did not answer within its deadline (`timeoutMs`, or the provider's
 * `requestTimeoutMs`). The adapter sent `$/cancelRequest` for it before rejecting.
 */
export class WorkerTimeoutError extends Error {
  /**
   * @param {string} message
   * @param {string} method
   * @param {number} timeoutMs
   */
  constructor(message, method, timeoutMs) {
    super(message);
    this.name = 'TimeoutError';
    this.code = 'ERR_WORKER_TIMEOUT';
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A request longer than the worker accepts (`limits.maxLineBytes`): refused here, never sent
 * (the worker could only answer it with `id: null`, which no call can be matched to).
 */
export class RequestTooLargeError extends RangeError {
  /**
   * @param {string} message
   * @param {string} method
   * @param {number} bytes
   * @param {number} maxLineBytes
   */
  constructor(message, method, bytes, maxLineBytes) {
    super(message);
    this.name = 'RequestTooLargeError';
    this.code = 'ERR_REQUEST_TOO_LARGE';
    this.method = method;
    this.bytes = bytes;
    this.maxLineBytes = maxLineBytes;
  }
}

/**
 * A copy of `value` whose strings and member names are well-formed UTF-16: an unpaired surrogate
 * becomes U+FFFD (as `String.prototype.toWellFormed`). `JSON.stringify` would write it as a
 * `\ud800` escape, which the worker must refuse as a parse error with `id: null`.
 * @param {any} value
 * @returns {any}
 */
export function toWellFormed(value) {
  if (typeof value === 'string') return wellFormedString(value);
  if (Array.isArray(value)) return value.map(toWellFormed);
  if (value === null || typeof value !== 'object') return value;
  /** @type {Record<string, any>} */
  const out = {};
  for (const [key, member] of Object.entries(value)) out[wellFormedString(key)] = toWellFormed(member);
  return out;
}

/** @param {string} text */
function wellFormedString(text) {
  const native = /** @type {any} */ (text).toWellFormed;
  if (typeof native === 'function') return native.call(text);
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/**
 * An AbortError like the ones Node's own APIs throw.
 * @param {any} [reason]
 */
function abortError(reason) {
  const error = new Error('The operation was aborted', reason === undefined ? undefined : { cause: reason });
  error.name = 'AbortError';
  /** @type {any} */ (error).code = 'ABORT_ERR';
  return error;
}

/**
 * The capabilities the original provider declares; `gpu` follows `config.gpuAvailable`.
 * @param {{ gpuAvailable?: boolean }} config
 */
export function defaultCapabilities(config) {
  return {
    restart: true,
    pause: true,
    snapshot: true,
    logs: true,
    tailscale: true,
    persistentStorage: true,
    architectures: ['x86_64', 'arm64'],
    gpu: config.gpuAvailable ?? false,
  };
}

/**
 * Turns ISO date strings under the date keys into `Date`s, recursively (labels and env untouched).
 * @param {any} value
 * @returns {any}
 */
export function reviveDates(value) {
  if (Array.isArray(value)) return value.map(reviveDates);
  if (value === null || typeof value !== 'object') return value;
  /** @type {Record<string, any>} */
  const out = {};
  for (const [key, member] of Object.entries(value)) {
    if (OPAQUE_KEYS.has(key)) {
      out[key] = member;
    } else if (DATE_KEYS.has(key) && typeof member === 'string') {
      const date = new Date(member);
      out[key] = Number.isNaN(date.getTime()) ? member : date;
    } else {
      out[key] = reviveDates(member);
    }
  }
  return out;
}

/**
 * Turns `Date`s back into ISO strings for the wire (JSON.stringify would too; this is explicit).
 * @param {any} value
 * @returns {any}
 */
function serializeDates(value) {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(serializeDates);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return value;
  /** @type {Record<string, any>} */
  const out = {};
  for (const [key, member] of Object.entries(value)) {
    if (member === undefined) continue;
    out[key] = OPAQUE_KEYS.has(key) ? member : serializeDates(member);
  }
  return out;
}

/**
 * Drops `undefined` members so that they are not sent at all.
 * @param {Record<string, any>} object
 */
function compact(object) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value;
  return out;
}

/**
 * Splits a byte stream into lines and calls `onLine` with each complete one (chunks may split lines
 * anywhere, including inside a multi-byte character).
 */
export class LineSplitter {
  /** @param {(line: Buffer) => void} onLine */
  constructor(onLine) {
    this.onLine = onLine;
    /** @type {Buffer[]} */
    this.partial = [];
  }

  /** @param {Buffer} chunk */
  push(chunk) {
    let start = 0;
    let newline;
    while ((newline = chunk.indexOf(10, start)) !== -1) {
      let line = chunk.subarray(start, newline);
      if (this.partial.length > 0) {
        this.partial.push(line);
        line = Buffer.concat(this.partial);
        this.partial = [];
      }
      this.onLine(line);
      start = newline + 1;
    }
    if (start < chunk.length) this.partial.push(chunk.subarray(start));
  }

  /** Delivers a last line that had no newline. */
  end() {
    if (this.partial.length > 0) {
      const line = Buffer.concat(this.partial);
      this.partial = [];
      this.onLine(line);
    }
  }
}

/**
 * The OpenLattice Docker provider, served by an `openlattice-docker-worker` subprocess.
 *
 * The worker is started lazily by the first call (or eagerly by `connect()`), initialized with this
 * provider's config, restarted by the next call if it dies, and shut down by `close()`.
 */
export class DockerWorkerProvider {
  /** @param {DockerWorkerProviderConfig} [config] */
  constructor(config = {}) {
    /** @readonly */
    this.name = 'docker';
    /** @type {DockerWorkerProviderConfig} */
    this.config = { ...config };
    for (const key of Object.keys(this.config)) {
      if (!ADAPTER_KEYS.has(key) && !WORKER_CONFIG_KEYS.has(key)) {
        throw new TypeError(`DockerWorkerProvider: unknown config member "${key}" (worker config: ${[...WORKER_CONFIG_KEYS].join(', ')}; adapter: ${[...ADAPTER_KEYS].join(', ')})`);
      }
    }
    /** Replaced by the worker's own once `initialize` has been answered. */
    this.capabilities = defaultCapabilities(this.config);
    /** The last `initialize` result, or null before the first one. @type {any} */
    this.workerInfo = null;
    /** Emits 'notification' (method, params), 'log' (line), 'exit' ({code, signal}), 'spawn' (pid). */
    this.events = new EventEmitter();
    /** @type {string} */
    this.workerPath = config.workerPath ?? process.env.OPENLATTICE_DOCKER_WORKER ?? 'openlattice-docker-worker';
    /** @private */
    this._nextId = 1;
    /** @private @type {Session | null} */
    this._session = null;
    /** @private */
    this._gpuDetected = false;
  }

  /** The worker's process id, or undefined when no worker is running. */
  get workerPid() {
    return this._session && !this._session.exited ? this._session.child.pid : undefined;
  }

  // ── Process management ─────────────────────────────────────────────

  /** The config sent in `initialize`: the provider config minus the adapter's own keys. */
  workerConfig() {
    /** @type {Record<string, any>} */
    const out = {};
    for (const [key, value] of Object.entries(this.config)) {
      if (!ADAPTER_KEYS.has(key) && value !== undefined) out[key] = value;
    }
    return out;
  }

  /**
   * Starts the worker (if it is not running) and waits for `initialize` to be answered.
   * @param {{ signal?: AbortSignal }} [opts]
   * @returns {Promise<any>} the `initialize` result
   */
  async connect(opts = {}) {
    await this._ready(opts.signal);
    return this.workerInfo;
  }

  /**
   * @private
   * @param {AbortSignal} [signal]
   * @returns {Promise<Session>}
   */
  _ready(signal) {
    if (!this._session || this._session.exited || this._session.closing) this._session = this._spawn();
    const session = this._session;
    const ready = /** @type {Promise<Session>} */ (session.ready);
    if (!signal) return ready;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(abortError(signal.reason));
      const onAbort = () => reject(abortError(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      ready.then(
        (value) => { signal.removeEventListener('abort', onAbort); resolve(value); },
        (error) => { signal.removeEventListener('abort', onAbort); reject(error); },
      );
    });
  }

  /**
   * @private
   * @returns {Session}
   */
  _spawn() {
    const child = spawn(this.workerPath, this.config.workerArgs ?? [], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...(this.config.workerEnv ?? {}) },
    });
    /** @type {() => void} */
    let markExited = () => {};
    const exitPromise = new Promise((resolve) => { markExited = () => resolve(undefined); });
    /** @type {Session} */
    const session = {
      child,
      pending: new Map(),
      partial: [],
      exited: false,
      exitInfo: null,
      exitPromise,
      markExited,
      ready: null,
      initialized: false,
      closing: false,
      spawnError: null,
      maxLineBytes: DEFAULT_MAX_LINE_BYTES,
    };

    const splitter = new LineSplitter((line) => this._onLine(session, line));
    child.stdout.on('data', (chunk) => splitter.push(chunk));
    child.stdout.on('end', () => splitter.end());

    const onLog = this.config.onLog;
    if (typeof onLog === 'function') {
      const logSplitter = new LineSplitter((line) => {
        const text = line.toString('utf8').replace(/\r$/, '');
        this.events.emit('log', text);
        onLog(text);
      });
      child.stderr.on('data', (chunk) => logSplitter.push(chunk));
      child.stderr.on('end', () => logSplitter.end());
    } else {
      child.stderr.on('data', (chunk) => process.stderr.write(chunk));
    }

    // A worker that died makes writes fail with EPIPE; the exit handler reports it to the callers.
    child.stdin.on('error', () => {});
    child.on('error', (error) => {
      session.spawnError = error;
      this._onExit(session, null, null);
    });
    child.on('close', (code, signal) => this._onExit(session, code, signal));
    if (child.pid !== undefined) this.events.emit('spawn', child.pid);

    // The worker's start-up counts against initialize's deadline: at least 30 s.
    session.ready = this._call(session, 'initialize', {
      protocolVersion: PROTOCOL_VERSION,
      config: serializeDates(this.workerConfig()),
    }, { timeoutMs: Math.max(this._defaultTimeoutMs(), 30_000) }).then(
      (result) => {
        session.initialized = true;
        const limit = result?.limits?.maxLineBytes;
        if (typeof limit === 'number' && limit > 0) session.maxLineBytes = limit;
        this.workerInfo = result;
        if (result && typeof result === 'object' && result.capabilities) {
          this.capabilities = { ...defaultCapabilities(this.config), ...result.capabilities };
          if (this._gpuDetected) this.capabilities.gpu = true;
        }
        return session;
      },
      (error) => {
        // An initialize that failed leaves the worker useless: end it; the next call starts afresh.
        if (!session.exited) {
          session.closing = true;
          child.stdin.end();
          const timer = setTimeout(() => { if (!session.exited) child.kill('SIGKILL'); }, 3000);
          timer.unref();
        }
        if (this._session === session) this._session = null;
        throw error;
      },
    );
    // Callers see the rejection through their own await; do not report it as unhandled here.
    session.ready.catch(() => {});
    return session;
  }

  /**
   * @private
   * @param {Session} session
   * @param {number | null} code
   * @param {string | null} signal
   */
  _onExit(session, code, signal) {
    if (session.exited) return;
    session.exited = true;
    session.exitInfo = { code, signal };
    if (this._session === session) this._session = null;
    const how = session.spawnError
      ? `could not be started from ${this.workerPath}: ${session.spawnError.message}`
      : `exited (code ${code}${signal ? `, signal ${signal}` : ''})`;
    for (const [id, call] of session.pending) {
      session.pending.delete(id);
      call.reject(new WorkerExitedError(`openlattice-docker-worker ${how} while ${call.method} was in flight`, code, signal, call.method));
    }
    session.markExited();
    this.events.emit('exit', { code, signal });
  }

  /**
   * @private
   * @param {Session} session
   * @param {Buffer} line
   */
  _onLine(session, line) {
    const text = line.toString('utf8').trim();
    if (text === '') return;
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      this.events.emit('protocolError', new Error(`worker wrote a line that is not JSON: ${text.slice(0, 200)}`));
      return;
    }
    for (const item of Array.isArray(message) ? message : [message]) this._onMessage(session, item);
  }

  /**
   * @private
   * @param {Session} session
   * @param {any} message
   */
  _onMessage(session, message) {
    if (message === null || typeof message !== 'object') return;
    if (typeof message.method === 'string' && message.id === undefined) {
      const params = message.params ?? {};
      this.events.emit('notification', message.method, params);
      const requestId = params.requestId;
      const call = typeof requestId === 'number' ? session.pending.get(requestId) : undefined;
      if (call && call.onNotification) call.onNotification(message.method, params);
      return;
    }
    if (typeof message.id !== 'number') {
      if (message.error) this.events.emit('protocolError', new DockerWorkerError(message.error.message, message.error.code, message.error.data));
      return;
    }
    const call = session.pending.get(message.id);
    if (!call) return; // answered after an abort, or a stray id: nothing waits for it
    session.pending.delete(message.id);
    this._updateRef(session);
    if (message.error) {
      const { code, data } = message.error;
      call.reject(new DockerWorkerError(String(message.error.message ?? `[docker] ${call.method} failed`), code, data, call.method));
    } else {
      call.resolve(message.result);
    }
  }

  /**
   * Keeps the event loop alive only while calls are in flight, so a forgotten provider does not hang
   * the host at exit (the worker then sees stdin close and exits by itself).
   * @private
   * @param {Session} session
   */
  _updateRef(session) {
    if (session.exited) return;
    const busy = session.pending.size > 0 || session.closing;
    const { child } = session;
    for (const handle of [child, child.stdout, child.stderr, child.stdin]) {
      const h = /** @type {any} */ (handle);
      if (busy) h.ref?.(); else h.unref?.();
    }
  }

  /**
   * @private
   * @param {Session} session
   * @param {string} method
   * @param {any} params
   * @param {CallOptions} [opts]
   */
  _call(session, method, params, opts = {}) {
    return new Promise((resolve, reject) => {
      const { signal, onNotification, onSent } = opts;
      const timeoutMs = opts.timeoutMs === undefined ? this._defaultTimeoutMs() : opts.timeoutMs;
      if (signal?.aborted) return reject(abortError(signal.reason));
      if (session.exited) {
        const info = session.exitInfo ?? { code: null, signal: null };
        return reject(new WorkerExitedError(`openlattice-docker-worker exited (code ${info.code}) before ${method} could be sent`, info.code, info.signal, method));
      }
      const id = this._nextId++;
      // The line is made (and measured) before anything is registered: an over-long one is refused here.
      const line = this._encode({ jsonrpc: '2.0', id, method, params: params ?? {} });
      const bytes = Buffer.byteLength(line, 'utf8');
      if (bytes > session.maxLineBytes) {
        return reject(new RequestTooLargeError(
          `[docker] ${method} not sent: the request is ${bytes} bytes, over the worker's limit of ${session.maxLineBytes} bytes (limits.maxLineBytes); send less in one call, or start the worker with a larger --max-line-bytes`,
          method, bytes, session.maxLineBytes));
      }
      /** @type {(() => void) | undefined} */
      let onAbort;
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let timer;
      const cleanup = () => {
        if (signal && onAbort) signal.removeEventListener('abort', onAbort);
        if (timer !== undefined) clearTimeout(timer);
      };
      session.pending.set(id, {
        method,
        resolve: (value) => { cleanup(); resolve(value); },
        reject: (error) => { cleanup(); reject(error); },
        onNotification,
      });
      if (signal) {
        onAbort = () => {
          if (!session.pending.has(id)) return;
          session.pending.delete(id);
          this._updateRef(session);
          this._write(session, { jsonrpc: '2.0', method: '$/cancelRequest', params: { id } });
          cleanup();
          reject(abortError(signal.reason));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (timeoutMs !== null && Number.isFinite(timeoutMs) && timeoutMs > 0) {
        timer = setTimeout(() => {
          const call = session.pending.get(id);
          if (!call) return;
          session.pending.delete(id);
          this._updateRef(session);
          this._write(session, { jsonrpc: '2.0', method: '$/cancelRequest', params: { id } });
          call.reject(new WorkerTimeoutError(`[docker] ${method} timed out: no answer within ${timeoutMs} ms (cancelled)`, method, timeoutMs));
        }, timeoutMs);
      }
      this._updateRef(session);
      this._writeLine(session, line);
      onSent?.(id, session);
    });
  }

  /**
   * The default deadline of a call: `config.requestTimeoutMs` (60 s).
   * @private
   */
  _defaultTimeoutMs() {
    const configured = this.config.requestTimeoutMs;
    return typeof configured === 'number' && configured > 0 ? configured : DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /**
   * One message as a line: well-formed strings only (see `toWellFormed`), then a newline.
   * @private
   * @param {any} message
   */
  _encode(message) {
    return JSON.stringify(toWellFormed(message)) + '\n';
  }

  /**
   * @private
   * @param {Session} session
   * @param {any} message
   */
  _write(session, message) {
    this._writeLine(session, this._encode(message));
  }

  /**
   * @private
   * @param {Session} session
   * @param {string} line
   */
  _writeLine(session, line) {
    if (session.exited || session.child.stdin.destroyed || session.child.stdin.writableEnded) return;
    session.child.stdin.write(line);
  }

  /**
   * Sends one request (starting and initializing the worker first if needed) and resolves with its
   * raw result (no date conversion). Notifications carrying this request's id go to `onNotification`.
   * `timeoutMs` bounds the wait (default `config.requestTimeoutMs`, 60 s; `null` or 0: none): on
   * expiry the adapter sends `$/cancelRequest` and rejects with a `WorkerTimeoutError`.
   * @param {string} method
   * @param {Record<string, any>} [params]
   * @param {CallOptions} [opts]
   */
  async request(method, params = {}, opts = {}) {
    if (opts.signal?.aborted) throw abortError(opts.signal.reason);
    const session = await this._ready(opts.signal);
    return this._call(session, method, serializeDates(params), opts);
  }

  /**
   * Shuts the worker down: `shutdown`, then end of stdin, then SIGKILL if it has not exited after
   * `closeTimeoutMs` (3 s). Calls made afterwards start a new worker.
   */
  async close() {
    const session = this._session;
    if (!session) return;
    this._session = null;
    session.closing = true;
    this._updateRef(session);
    const timeoutMs = this.config.closeTimeoutMs ?? 3000;
    if (!session.exited && session.initialized) {
      const timeout = new Promise((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([this._call(session, 'shutdown', {}).catch(() => {}), session.exitPromise, timeout]);
    }
    if (!session.exited) {
      session.child.stdin.end();
      const timer = setTimeout(() => { if (!session.exited) session.child.kill('SIGKILL'); }, timeoutMs);
      await session.exitPromise;
      clearTimeout(timer);
    }
  }

  // ── Provider surface ───────────────────────────────────────────────
  //
  // Every method takes `timeoutMs` and `signal` in its last argument (see `request`); the params sent
  // are exactly the members openrpc.json documents for the method, nothing else.

  /**
   * Creates and starts a node. `onProgress` receives `pull.progress` notifications. No deadline
   * unless `timeoutMs` is given (an image pull takes as long as it takes).
   * @param {any} spec
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null, onProgress?: (progress: any) => void }} [opts]
   */
  async provision(spec, opts = {}) {
    const result = await this.request('provision', { spec }, {
      signal: opts.signal,
      timeoutMs: opts.timeoutMs ?? null,
      onNotification: (method, params) => { if (method === 'pull.progress') opts.onProgress?.(params); },
    });
    return reviveDates(result);
  }

  /**
   * Runs a command in a node. With `onOutput` (or `stream: true`) output arrives chunk by chunk and
   * the result's stdout/stderr are empty. `timeoutMs` is the command's own limit (the worker kills
   * it and answers `timedOut: true`); the call's deadline is then `timeoutMs + requestTimeoutMs`,
   * and without it there is none (a command runs as long as it runs).
   * @param {string} id
   * @param {string[]} command
   * @param {any} [opts]
   */
  async exec(id, command, opts = {}) {
    const { onOutput, signal, stream, cwd, env, user, timeoutMs, encoding, stdin, tty, onSent, maxOutputBytes, background } = opts;
    const streaming = background ? undefined : stream ?? typeof onOutput === 'function';
    const options = compact({ cwd, env, user, timeoutMs, encoding, stdin, tty, maxOutputBytes, background, stream: streaming || undefined });
    const params = compact({ externalId: id, command, options: Object.keys(options).length > 0 ? options : undefined });
    return this.request('exec', params, {
      signal,
      onSent,
      timeoutMs: typeof timeoutMs === 'number' ? timeoutMs + this._defaultTimeoutMs() : null,
      onNotification: (method, p) => {
        if (method === 'exec.output' && typeof onOutput === 'function') onOutput({ stream: p.stream, data: p.data });
      },
    });
  }

  /**
   * Starts a command and returns a handle at once (protocol 1.1): `sendStdin(data)` (a string, or a
   * Buffer/Uint8Array sent as base64), `closeStdin()`, `resize(rows, cols)` for a `tty`, `kill()`
   * (cancels the call: the worker kills every process the command started) and `wait()` for the
   * ExecResult. `stdin` defaults to true.
   * @param {string} id
   * @param {string[]} command
   * @param {any} [opts]
   */
  startExec(id, command, opts = {}) {
    const controller = new AbortController();
    if (opts.signal) opts.signal.addEventListener('abort', () => controller.abort(opts.signal.reason), { once: true });
    /** @type {any[]} */
    const queued = [];
    /** @type {number | undefined} */
    let requestId;
    let session;
    const send = (method, params) => {
      if (requestId === undefined) { queued.push([method, params]); return; }
      this._write(session, { jsonrpc: '2.0', method, params: { requestId, ...params } });
    };
    const result = this.exec(id, command, {
      ...opts, stdin: opts.stdin ?? true, signal: controller.signal,
      onSent: (sentId, sentSession) => {
        requestId = sentId;
        session = sentSession;
        for (const [method, params] of queued.splice(0)) send(method, params);
      },
    });
    result.catch(() => {});
    return {
      get requestId() { return requestId; },
      sendStdin: (data) => send('exec.input', typeof data === 'string'
        ? { data } : { data: Buffer.from(data).toString('base64'), encoding: 'base64' }),
      closeStdin: () => send('exec.input', { eof: true }),
      resize: (rows, cols) => send('exec.resize', { rows, cols }),
      kill: () => controller.abort(new Error('killed')),
      wait: () => result,
    };
  }

  /**
   * Starts a background command (protocol 1.1, `exec` with `background: true`) and resolves, once
   * the engine started it, with its handle (E2B's command handles are the model): `execId`,
   * `attach(opts)` to follow its output, `wait(opts)` for its result, `sendStdin(data)` /
   * `closeStdin()` (with `stdin: true`), `kill(signal?)`. The command outlives the call, the
   * adapter and the worker; `DockerWorkerProvider.backgroundCommand(execId)` makes a handle for
   * one started earlier.
   * @param {string} id
   * @param {string[]} command
   * @param {any} [opts]
   */
  async startBackground(id, command, opts = {}) {
    const { cwd, env, user, encoding, stdin, signal, timeoutMs } = opts;
    const options = compact({ cwd, env, user, encoding, stdin, background: true });
    const { execId } = await this.request('exec', { externalId: id, command, options }, { signal, timeoutMs });
    return this.backgroundCommand(execId);
  }

  /**
   * A handle for the background command `execId` (see `startBackground`). Its `sendStdin` and
   * `closeStdin` go through one attach with `stdin: true` that the handle opens when first needed.
   * @param {string} execId
   */
  backgroundCommand(execId) {
    /** @type {any} */
    let stdinAttach;
    const input = () => {
      // Output is not wanted on this attach: it starts past every byte.
      stdinAttach ??= this.attachExec(execId, { stdin: true, offset: Number.MAX_SAFE_INTEGER });
      return stdinAttach;
    };
    return {
      execId,
      attach: (opts = {}) => this.attachExec(execId, opts),
      wait: (opts = {}) => this.attachExec(execId, { offset: opts.onOutput ? 0 : Number.MAX_SAFE_INTEGER, ...opts }).wait(),
      sendStdin: (data) => input().sendStdin(data),
      closeStdin: () => input().closeStdin(),
      kill: (signal, opts = {}) => this.killExec(execId, signal, opts),
    };
  }

  /**
   * `exec.attach` (protocol 1.1): follows a background command's output from `offset` (bytes of
   * stdout and stderr together; default: all still buffered) and returns a handle at once:
   * `sendStdin`/`closeStdin` (with `stdin: true`), `detach()` (cancels the attach; the command runs
   * on; `wait()` then rejects with an AbortError) and `wait()` for the ExecResult when the command
   * ends. `onOutput` receives `{stream, data, offset}`. No deadline unless `timeoutMs` is given.
   * @param {string} execId
   * @param {any} [opts]
   */
  attachExec(execId, opts = {}) {
    const controller = new AbortController();
    if (opts.signal) opts.signal.addEventListener('abort', () => controller.abort(opts.signal.reason), { once: true });
    /** @type {any[]} */
    const queued = [];
    /** @type {number | undefined} */
    let requestId;
    let session;
    const send = (method, params) => {
      if (requestId === undefined) { queued.push([method, params]); return; }
      this._write(session, { jsonrpc: '2.0', method, params: { requestId, ...params } });
    };
    const { onOutput, offset, stdin } = opts;
    const result = this.request('exec.attach', compact({ execId, offset, stdin }), {
      signal: controller.signal,
      timeoutMs: opts.timeoutMs ?? null,
      onSent: (sentId, sentSession) => {
        requestId = sentId;
        session = sentSession;
        for (const [method, params] of queued.splice(0)) send(method, params);
      },
      onNotification: (method, p) => {
        if (method === 'exec.output' && typeof onOutput === 'function') onOutput(compact({ stream: p.stream, data: p.data, offset: p.offset }));
      },
    });
    result.catch(() => {});
    return {
      get requestId() { return requestId; },
      sendStdin: (data) => send('exec.input', typeof data === 'string'
        ? { data } : { data: Buffer.from(data).toString('base64'), encoding: 'base64' }),
      closeStdin: () => send('exec.input', { eof: true }),
      detach: () => controller.abort(new Error('detached')),
      wait: () => result,
    };
  }

  /**
   * `exec.kill` (protocol 1.1): sends `signal` (default SIGKILL) to every process of the command.
   * @param {string} execId
   * @param {'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP' | number} [signal]
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async killExec(execId, signal, opts = {}) {
    await this.request('exec.kill', compact({ execId, signal }), opts);
  }

  /**
   * `exec.list` (protocol 1.1): the node's commands, `startedAt` as a Date.
   * @param {string} id
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async listExecs(id, opts = {}) {
    return reviveDates(await this.request('exec.list', { externalId: id }, opts));
  }

  /**
   * @param {string} id
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async inspect(id, opts = {}) {
    return reviveDates(await this.request('inspect', { externalId: id }, opts));
  }

  /**
   * @param {string} id
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async destroy(id, opts = {}) {
    await this.request('destroy', { externalId: id }, opts);
  }

  /**
   * Stops a node (SIGTERM, then SIGKILL after `timeoutSeconds`, 10); the call's deadline allows for that wait.
   * @param {string} id
   * @param {{ timeoutSeconds?: number, signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async stop(id, opts = {}) {
    await this.request('stop', compact({ externalId: id, timeoutSeconds: opts.timeoutSeconds }), this._graceful(opts));
  }

  /**
   * @param {string} id
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async start(id, opts = {}) {
    await this.request('start', { externalId: id }, opts);
  }

  /**
   * @param {string} id
   * @param {{ timeoutSeconds?: number, signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async restart(id, opts = {}) {
    await this.request('restart', compact({ externalId: id, timeoutSeconds: opts.timeoutSeconds }), this._graceful(opts));
  }

  /**
   * The call options of stop/restart: the default deadline plus the node's grace period.
   * @private
   * @param {{ timeoutSeconds?: number, signal?: AbortSignal, timeoutMs?: number | null }} opts
   */
  _graceful(opts) {
    const timeoutMs = opts.timeoutMs !== undefined ? opts.timeoutMs : this._defaultTimeoutMs() + (opts.timeoutSeconds ?? 10) * 1000;
    return { signal: opts.signal, timeoutMs };
  }

  /**
   * @param {string} id
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async pause(id, opts = {}) {
    await this.request('pause', { externalId: id }, opts);
  }

  /**
   * @param {string} id
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async resume(id, opts = {}) {
    await this.request('resume', { externalId: id }, opts);
  }

  /**
   * @param {string} id
   * @param {{ tag?: string, signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async snapshot(id, opts = {}) {
    return reviveDates(await this.request('snapshot', compact({ externalId: id, tag: opts.tag }), { signal: opts.signal, timeoutMs: opts.timeoutMs }));
  }

  /**
   * @param {any} ref a SnapshotRef (its `createdAt` may be a Date)
   * @param {any} [spec] node spec overrides (without runtime.image)
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts] no deadline unless `timeoutMs` is given, as `provision`
   */
  async restore(ref, spec, opts = {}) {
    // Only the SnapshotRef members the protocol lists (a result may carry more: additional properties).
    const wireRef = ref && typeof ref === 'object'
      ? compact({ provider: ref.provider, externalId: ref.externalId, createdAt: ref.createdAt, type: ref.type, image: ref.image, excludedVolumes: ref.excludedVolumes })
      : ref;
    return reviveDates(await this.request('restore', compact({ ref: wireRef, spec }), { signal: opts.signal, timeoutMs: opts.timeoutMs ?? null }));
  }

  /**
   * Changes a node's lifetime: a member left out keeps its value, `null` removes it; `ttlSeconds` counts from now.
   * @param {string} id
   * @param {{ ttlSeconds?: number | null, idleSeconds?: number | null, onExpire?: 'stop' | 'destroy' }} lifetime
   */
  async setLifetime(id, lifetime) {
    /** @type {Record<string, unknown>} */
    const params = { externalId: id };
    for (const key of ['ttlSeconds', 'idleSeconds', 'onExpire']) {
      if (key in lifetime && /** @type {any} */ (lifetime)[key] !== undefined) params[key] = /** @type {any} */ (lifetime)[key];
    }
    return reviveDates(await this.request('lifetime.set', params));
  }

  /**
   * This owner's snapshots (all managed ones without `ownerId`), newest first.
   * @param {Record<string, string>} [labels]
   */
  async listSnapshots(labels) {
    return reviveDates(await this.request('snapshots.list', compact({ labels })));
  }

  /**
   * Removes a snapshot image; rejects with code -32009 while a node was created from it.
   * @param {{ externalId: string }} ref
   */
  async deleteSnapshot(ref) {
    await this.request('snapshots.delete', { ref: { externalId: ref.externalId } });
  }

  /**
   * Never throws: a worker or engine that cannot be reached is reported as unhealthy.
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async healthCheck(opts = {}) {
    const started = performance.now();
    try {
      return await this.request('healthCheck', {}, opts);
    } catch (error) {
      return { healthy: false, latencyMs: performance.now() - started, message: /** @type {Error} */ (error).message };
    }
  }

  /**
   * True when the engine offers the nvidia runtime (then `capabilities.gpu` becomes true); false on any error.
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async detectGpu(opts = {}) {
    try {
      const result = await this.request('detectGpu', {}, opts);
      const gpu = result?.gpu === true;
      if (gpu) {
        this._gpuDetected = true;
        this.capabilities.gpu = true;
      }
      return gpu;
    } catch {
      return false;
    }
  }

  /**
   * The managed nodes (running or not), optionally only those carrying all of `labels`.
   * @param {Record<string, string>} [labels]
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   */
  async list(labels, opts = {}) {
    return reviveDates(await this.request('list', compact({ labels }), opts));
  }

  /**
   * Removes this worker's forgotten nodes: every container labelled with `config.ownerId` (required)
   * whose id is not in `keep`, with its anonymous volumes. Resolves with the removed ids.
   * @param {string[]} [keep] ids (or id prefixes, or names) of the nodes still in use
   * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts]
   * @returns {Promise<{ removed: string[] }>}
   */
  async reap(keep, opts = {}) {
    return this.request('reap', compact({ keep }), opts);
  }

  /**
   * Subscribes to `node.event` notifications until `signal` aborts (no deadline unless `timeoutMs`).
   * @param {{ onEvent: (event: any) => void, signal?: AbortSignal, timeoutMs?: number | null }} opts
   */
  async subscribeEvents(opts) {
    return this.request('events.subscribe', {}, {
      signal: opts.signal,
      timeoutMs: opts.timeoutMs ?? null,
      onNotification: (method, params) => { if (method === 'node.event') opts.onEvent(reviveDates(params)); },
    });
  }

  /**
   * The extension `name` of node `id`: "network", "files", "metrics" or "logs"; undefined otherwise.
   * Synchronous, as in the original provider; its methods call the worker.
   * @param {string} id
   * @param {string} name
   * @returns {any}
   */
  getExtension(id, name) {
    if (!EXTENSIONS.has(name)) return undefined;
    const externalId = id;
    /** @param {{ signal?: AbortSignal, timeoutMs?: number | null }} opts */
    const call = (opts) => ({ signal: opts.signal, timeoutMs: opts.timeoutMs });
    switch (name) {
      case 'network':
        return {
          /**
           * @param {number} port
           * @param {{ protocol?: 'http' | 'https' | 'tcp', scope?: 'host' | 'internal', signal?: AbortSignal, timeoutMs?: number | null }} [opts]
           */
          getUrl: async (port, opts = {}) => {
            const result = await this.request('network.getUrl', compact({ externalId, port, protocol: opts.protocol, scope: opts.scope }), call(opts));
            return result.url;
          },
        };
      case 'files':
        return {
          /**
           * @param {string} path
           * @param {{ encoding?: 'utf8' | 'base64', offset?: number, length?: number, signal?: AbortSignal, timeoutMs?: number | null }} [opts]
           */
          read: async (path, opts = {}) => reviveDates(await this.request(
            'files.read', compact({ externalId, path, encoding: opts.encoding, offset: opts.offset, length: opts.length }), call(opts))),
          /**
           * @param {string} path
           * @param {string | Uint8Array} content a string (utf8 unless opts.encoding says base64) or bytes
           * @param {{ encoding?: 'utf8' | 'base64', mode?: number, createParents?: boolean, signal?: AbortSignal, timeoutMs?: number | null }} [opts]
           */
          write: async (path, content, opts = {}) => {
            const bytes = content instanceof Uint8Array;
            const encoded = bytes ? Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('base64') : content;
            const encoding = bytes ? 'base64' : opts.encoding;
            return this.request('files.write', compact({ externalId, path, content: encoded, encoding, mode: opts.mode, createParents: opts.createParents }), call(opts));
          },
          /**
           * @param {string} path
           * @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts]
           */
          list: async (path, opts = {}) => reviveDates((await this.request('files.list', { externalId, path }, call(opts))).entries),
          /**
           * @param {string} path
           * @param {{ recursive?: boolean, signal?: AbortSignal, timeoutMs?: number | null }} [opts]
           */
          remove: async (path, opts = {}) => { await this.request('files.remove', compact({ externalId, path, recursive: opts.recursive }), call(opts)); },
          /**
           * @param {string} path
           * @param {{ recursive?: boolean, signal?: AbortSignal, timeoutMs?: number | null }} [opts]
           */
          mkdir: async (path, opts = {}) => { await this.request('files.mkdir', compact({ externalId, path, recursive: opts.recursive }), call(opts)); },
          /**
           * Many files in one upload (protocol 1.1). Bytes are sent as base64.
           * @param {Array<{ path: string, content: string | Uint8Array, encoding?: 'utf8' | 'base64', mode?: number }>} files
           * @param {{ createParents?: boolean, signal?: AbortSignal, timeoutMs?: number | null }} [opts]
           */
          writeMany: async (files, opts = {}) => {
            const encoded = files.map((file) => {
              const bytes = file.content instanceof Uint8Array;
              const content = bytes
                ? Buffer.from(/** @type {Uint8Array} */ (file.content).buffer, /** @type {Uint8Array} */ (file.content).byteOffset,
                  /** @type {Uint8Array} */ (file.content).byteLength).toString('base64')
                : file.content;
              return compact({ path: file.path, content, encoding: bytes ? 'base64' : file.encoding, mode: file.mode });
            });
            return (await this.request('files.writeMany', compact({ externalId, files: encoded, createParents: opts.createParents }), call(opts))).files;
          },
          /**
           * Uploads bytes, or a stream of them, to `path` (protocol 1.1): `files.upload`, one
           * `files.uploadChunk` at a time (each answer awaited, so a Readable is pulled only as fast
           * as the engine takes it), then `files.finishUpload`. On any failure the upload is
           * cancelled (`files.cancelUpload`), leaving `path` as it was. A Buffer's size is sent, so
           * it streams to the engine at once; a stream's size is sent only if `opts.size` gives it
           * (else the worker spools it until the end). `format: 'tar'` extracts a tar stream under `path`.
           * @param {string} path
           * @param {Uint8Array | AsyncIterable<Uint8Array | string>} source
           * @param {{ mode?: number, size?: number, format?: 'file' | 'tar', chunkBytes?: number, onProgress?: (progress: { bytes: number, totalBytes?: number }) => void, signal?: AbortSignal, timeoutMs?: number | null }} [opts]
           * @returns {Promise<{ size: number, sha256: string }>}
           */
          upload: async (path, source, opts = {}) => {
            const isBytes = source instanceof Uint8Array;
            const size = isBytes ? /** @type {Uint8Array} */ (source).byteLength : opts.size;
            const { uploadId } = await this.request('files.upload', compact({ externalId, path, mode: opts.mode, size, format: opts.format }), call(opts));
            // files.progress of an upload names it by uploadId (not by a request id).
            /** @param {string} method @param {any} params */
            const onProgress = (method, params) => {
              if (method === 'files.progress' && params.uploadId === uploadId) opts.onProgress?.(compact({ bytes: params.bytes, totalBytes: params.totalBytes }));
            };
            this.events.on('notification', onProgress);
            const chunkBytes = opts.chunkBytes ?? 1 << 20;
            /** @param {Uint8Array} bytes */
            const send = async (bytes) => {
              for (let offset = 0; offset < bytes.byteLength; offset += chunkBytes) {
                const piece = Buffer.from(bytes.buffer, bytes.byteOffset + offset, Math.min(chunkBytes, bytes.byteLength - offset));
                await this.request('files.uploadChunk', { uploadId, data: piece.toString('base64'), encoding: 'base64' }, call(opts));
              }
            };
            try {
              if (isBytes) await send(/** @type {Uint8Array} */ (source));
              else for await (const chunk of /** @type {AsyncIterable<Uint8Array | string>} */ (source)) await send(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
              return await this.request('files.finishUpload', { uploadId }, call(opts));
            } catch (error) {
              await this.request('files.cancelUpload', { uploadId }).catch(() => {});
              throw error;
            } finally {
              this.events.off('notification', onProgress);
            }
          },
          /**
           * A file (or a folder, as a tar stream) as a Node Readable (protocol 1.1). While the stream's
           * buffer is full the adapter stops reading the worker's output, and the worker stops reading
           * the engine: memory stays bounded end to end. The stream emits 'result' with
           * `{size, sha256, mode, type, format?}` before it ends, and fails with the request's error.
           * No deadline unless `timeoutMs` is given.
           * @param {string} path
           * @param {{ chunkBytes?: number, onProgress?: (progress: { bytes: number, totalBytes?: number }) => void, signal?: AbortSignal, timeoutMs?: number | null }} [opts]
           * @returns {Readable}
           */
          download: (path, opts = {}) => {
            const session = this._session;
            let paused = false;
            const resume = () => {
              if (paused && session && !session.exited) session.child.stdout.resume();
              paused = false;
            };
            const stream = new Readable({ read: resume, destroy: (error, done) => { resume(); abort.abort(); done(error); } });
            const abort = new AbortController();
            if (opts.signal) opts.signal.addEventListener('abort', () => abort.abort(opts.signal?.reason), { once: true });
            this.request('files.download', compact({ externalId, path, chunkBytes: opts.chunkBytes }), {
              signal: abort.signal,
              timeoutMs: opts.timeoutMs ?? null,
              onNotification: (method, params) => {
                if (method === 'files.progress') opts.onProgress?.(compact({ bytes: params.bytes, totalBytes: params.totalBytes }));
                if (method !== 'files.data' || stream.destroyed) return;
                if (!stream.push(Buffer.from(params.data, 'base64')) && this._session && !paused) {
                  paused = true;
                  this._session.child.stdout.pause();
                }
              },
            }).then((result) => {
              stream.emit('result', result);
              stream.push(null);
            }, (error) => {
              resume();
              stream.destroy(error);
            });
            return stream;
          },
        };
      case 'metrics':
        return {
          /** @param {{ signal?: AbortSignal, timeoutMs?: number | null }} [opts] */
          getResourceUsage: async (opts = {}) => reviveDates(await this.request('metrics.getResourceUsage', { externalId }, call(opts))),
          /**
           * No deadline unless `timeoutMs` is given.
           * @param {{ intervalMs?: number, maxSamples?: number, onSample?: (sample: any) => void, signal?: AbortSignal, timeoutMs?: number | null }} [opts]
           */
          streamMetrics: async (opts = {}) => this.request('metrics.streamMetrics', compact({ externalId, intervalMs: opts.intervalMs, maxSamples: opts.maxSamples }), {
            signal: opts.signal,
            timeoutMs: opts.timeoutMs ?? null,
            onNotification: (method, params) => { if (method === 'metrics.sample') opts.onSample?.(reviveDates(params.sample)); },
          }),
        };
      case 'logs':
        return {
          /**
           * @param {{ tail?: number | 'all', since?: Date | string, timestamps?: boolean, maxOutputBytes?: number, signal?: AbortSignal, timeoutMs?: number | null }} [opts]
           */
          get: async (opts = {}) => this.request('logs', compact({ externalId, tail: opts.tail, since: opts.since, timestamps: opts.timestamps, maxOutputBytes: opts.maxOutputBytes }), call(opts)),
          /**
           * No deadline unless `timeoutMs` is given.
           * @param {{ tail?: number | 'all', since?: Date | string, timestamps?: boolean,
           *           onOutput: (chunk: { stream: 'stdout' | 'stderr', data: string }) => void, signal?: AbortSignal, timeoutMs?: number | null }} opts
           */
          follow: async (opts) => this.request('logs', compact({ externalId, tail: opts.tail, since: opts.since, timestamps: opts.timestamps, follow: true }), {
            signal: opts.signal,
            timeoutMs: opts.timeoutMs ?? null,
            onNotification: (method, params) => { if (method === 'logs.output') opts.onOutput({ stream: params.stream, data: params.data }); },
          }),
        };
      default:
        return undefined;
    }
  }
}

export default DockerWorkerProvider;
