// A bare line-protocol client for the protocol tests: spawns the worker, writes raw lines, and
// waits for messages. (node --test also loads this file as a test file; it defines no tests.)
import { spawn } from 'node:child_process';
import { WORKER_PATH } from './docker-engine.js';

export class RawWorker {
  /** @param {string[]} [args] */
  constructor(args = []) {
    this.child = spawn(WORKER_PATH, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.on('error', () => {});
    /** Every message the worker wrote, in order (a batch response is one array entry). */
    this.messages = [];
    /** Lines on stdout that were not JSON (there must be none). */
    this.badLines = [];
    this.stderr = '';
    this.waiters = [];
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => { this.exitInfo = { code, signal }; resolve(this.exitInfo); this._check(); });
    });
    let partial = Buffer.alloc(0);
    this.child.stdout.on('data', (chunk) => {
      partial = Buffer.concat([partial, chunk]);
      let newline;
      while ((newline = partial.indexOf(10)) !== -1) {
        const line = partial.subarray(0, newline).toString('utf8');
        partial = partial.subarray(newline + 1);
        if (line.trim() === '') continue;
        try { this.messages.push(JSON.parse(line)); } catch { this.badLines.push(line); }
      }
      this._check();
    });
    this.child.stderr.on('data', (chunk) => { this.stderr += chunk.toString('utf8'); });
    this.nextId = 1;
  }

  _check() {
    for (const waiter of [...this.waiters]) {
      const found = this.messages.find(waiter.predicate);
      if (found !== undefined) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        clearTimeout(waiter.timer);
        waiter.resolve(found);
      } else if (this.exitInfo) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`worker exited (${JSON.stringify(this.exitInfo)}) before ${waiter.what}; stderr: ${this.stderr.slice(-2000)}`));
      }
    }
  }

  /** Writes a raw line (a string is written as is, plus "\n"; anything else is JSON-encoded). */
  write(message) {
    this.child.stdin.write((typeof message === 'string' ? message : JSON.stringify(message)) + '\n');
  }

  /** Waits for the first message (already received or to come) matching `predicate`. */
  waitFor(predicate, what = 'a message', timeoutMs = 20_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages).slice(-2000)}`));
      }, timeoutMs);
      const waiter = { predicate, resolve, reject, timer, what };
      this.waiters.push(waiter);
      this._check();
    });
  }

  /** The response to `id`. */
  response(id, timeoutMs) {
    return this.waitFor((m) => !Array.isArray(m) && m.id === id && (m.result !== undefined || m.error !== undefined), `the response to ${JSON.stringify(id)}`, timeoutMs);
  }

  /** Sends a request and resolves with its response message. */
  async request(method, params, id = this.nextId++) {
    this.write({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    return this.response(id);
  }

  async initialize(config) {
    const response = await this.request('initialize', { protocolVersion: '1.0', ...(config ? { config } : {}) });
    if (response.error) throw new Error(`initialize failed: ${JSON.stringify(response.error)}`);
    return response.result;
  }

  /** Closes stdin and waits for the exit; kills the worker if it takes longer than `timeoutMs`. */
  async close(timeoutMs = 5000) {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return this.exitInfo;
  }
}
