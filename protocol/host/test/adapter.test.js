// The adapter's own mechanics against a stand-in worker (no Docker needed): framing, notification
// routing, error objects, dates, AbortSignal, worker crash and restart, close.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import {
  DockerWorkerProvider, DockerWorkerError, WorkerExitedError, WorkerTimeoutError, RequestTooLargeError, LineSplitter, reviveDates, toWellFormed,
} from '../index.js';

const fakeWorker = fileURLToPath(new URL('./fixtures/fake-worker.js', import.meta.url));

/** @param {Record<string, any>} [config] */
function fakeProvider(config = {}) {
  return new DockerWorkerProvider({
    workerPath: process.execPath,
    workerArgs: [fakeWorker],
    workerEnv: { FAKE_WORKER: '1' },
    onLog: () => {},
    ...config,
  });
}

describe('LineSplitter', () => {
  it('joins lines split across chunks, including inside multi-byte characters', () => {
    const lines = [];
    const splitter = new LineSplitter((line) => lines.push(line.toString('utf8')));
    const bytes = Buffer.from('{"a":"é✓"}\n\n{"b":"𝄞"}\n{"c":1}', 'utf8');
    for (let i = 0; i < bytes.length; i++) splitter.push(bytes.subarray(i, i + 1));
    splitter.end();
    assert.deepEqual(lines, ['{"a":"é✓"}', '', '{"b":"𝄞"}', '{"c":1}']);
  });
});

describe('reviveDates', () => {
  it('turns date members into Dates but leaves labels alone', () => {
    const out = reviveDates({ startedAt: '2026-01-15T10:00:00Z', labels: { createdAt: 'x' }, list: [{ timestamp: '2026-01-15T10:00:00Z' }] });
    assert.ok(out.startedAt instanceof Date);
    assert.equal(out.labels.createdAt, 'x');
    assert.ok(out.list[0].timestamp instanceof Date);
  });
});

describe('DockerWorkerProvider mechanics (stand-in worker)', () => {
  const providers = [];
  after(async () => { await Promise.all(providers.map((p) => p.close())); });
  const make = (config) => { const p = fakeProvider(config); providers.push(p); return p; };

  it('has default capabilities before the worker starts', () => {
    const provider = make({ gpuAvailable: true });
    assert.equal(provider.name, 'docker');
    assert.equal(provider.capabilities.gpu, true);
    assert.equal(provider.workerPid, undefined);
  });

  it('initializes lazily with protocolVersion 1.1 and the config minus adapter keys', async () => {
    const provider = make({ defaultLabels: { env: 'test' }, network: 'n1' });
    const params = await provider.request('initializeParams');
    assert.equal(params.protocolVersion, '1.1');
    assert.deepEqual(params.config, { defaultLabels: { env: 'test' }, network: 'n1' });
    assert.equal(provider.workerInfo.provider.name, 'docker');
  });

  it('reassembles responses written a few bytes at a time', async () => {
    const provider = make();
    const result = await provider.request('split');
    assert.equal(result.text, 'héllo wörld ✓ 𝄞'.repeat(20));
  });

  it('answers from a batch-shaped line', async () => {
    assert.equal(await make().request('batch'), 'batched');
  });

  it('routes notifications to the request they belong to', async () => {
    const provider = make();
    const chunks = [];
    const result = await provider.exec('x', ['echo'], { onOutput: (c) => chunks.push(c) });
    assert.equal(result.exitCode, 0);
    assert.deepEqual(chunks.map((c) => c.stream), ['stdout', 'stderr', 'stdout']);
    assert.equal(chunks[0].data, 'chunk 0\n');
  });

  it('throws Errors carrying the worker message, code and data', async () => {
    const provider = make();
    await assert.rejects(provider.request('fail'), (error) => {
      assert.ok(error instanceof Error && error instanceof DockerWorkerError);
      assert.equal(error.message, '[docker] inspect failed: no such container: x');
      assert.equal(error.code, -32004);
      assert.equal(error.data.status, 404);
      return true;
    });
  });

  it('turns dates into Date objects', async () => {
    const result = reviveDates(await make().request('dates'));
    assert.ok(result.startedAt instanceof Date);
    assert.equal(result.startedAt.toISOString(), '2026-01-15T10:00:00.000Z');
    assert.equal(result.labels.createdAt, 'not-a-date');
    assert.ok(result.nested[0].modifiedAt instanceof Date);
  });

  it('sends Dates as ISO strings', async () => {
    const echoed = await make().request('echo', { ref: { createdAt: new Date('2026-01-15T10:00:00Z') } });
    assert.equal(echoed.ref.createdAt, '2026-01-15T10:00:00.000Z');
  });

  it('cancels through an AbortSignal with $/cancelRequest', async () => {
    const provider = make();
    await provider.connect();
    const controller = new AbortController();
    const call = provider.request('hang', {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(call, (error) => error.name === 'AbortError');
    const cancels = await provider.request('cancels');
    assert.equal(cancels.length, 1);
    assert.equal(typeof cancels[0], 'number');
  });

  it('rejects at once with an already aborted signal', async () => {
    await assert.rejects(make().request('echo', {}, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  it('rejects calls in flight when the worker dies, then restarts it', async () => {
    const provider = make();
    await provider.connect();
    const firstPid = provider.workerPid;
    const hanging = provider.request('hang');
    const crash = provider.request('crash');
    await assert.rejects(crash, (error) => {
      assert.ok(error instanceof WorkerExitedError);
      assert.match(error.message, /^openlattice-docker-worker exited \(code 3\) while crash was in flight$/);
      return true;
    });
    await assert.rejects(hanging, /exited \(code 3\) while hang was in flight/);
    assert.deepEqual(await provider.request('echo', { again: true }), { again: true });
    assert.notEqual(provider.workerPid, firstPid);
  });

  it('reports a worker binary that cannot be started', async () => {
    const provider = make({ workerPath: '/nonexistent/openlattice-docker-worker', workerArgs: [] });
    await assert.rejects(provider.request('echo'), /could not be started from \/nonexistent\/openlattice-docker-worker.*while initialize was in flight/);
  });

  it('refuses a request over the worker\'s maxLineBytes before sending it, and stays usable', async () => {
    const provider = make({ workerEnv: { FAKE_WORKER: '1', FAKE_MAX_LINE_BYTES: '4096' } });
    await provider.connect();
    const before = await provider.request('linesSeen');
    const started = performance.now();
    await assert.rejects(provider.request('echo', { blob: 'x'.repeat(5000) }), (error) => {
      assert.ok(error instanceof RequestTooLargeError);
      assert.equal(error.code, 'ERR_REQUEST_TOO_LARGE');
      assert.equal(error.maxLineBytes, 4096);
      assert.ok(error.bytes > 5000);
      assert.match(error.message, /^\[docker\] echo not sent: the request is \d+ bytes, over the worker's limit of 4096 bytes/);
      return true;
    });
    assert.ok(performance.now() - started < 1000);
    // Nothing reached the worker: only the two linesSeen calls (and this one) did.
    assert.equal(await provider.request('linesSeen'), before + 1);
    // Multi-byte characters count as bytes: 1500 × 'é' is 3000 bytes of JSON text, under the limit; 2100 is over.
    assert.equal((await provider.request('echo', { text: 'é'.repeat(1500) })).text.length, 1500);
    await assert.rejects(provider.request('echo', { text: 'é'.repeat(2100) }), RequestTooLargeError);
  });

  it('writes only well-formed JSON: unpaired surrogates in strings and member names become U+FFFD', async () => {
    const provider = make();
    const echoed = await provider.request('echo', { s: 'a\uD800b', t: '\uDC00', pair: '𝄞', ['k\uDBFF']: ['x\uDFFFy'] });
    assert.deepEqual(echoed, { s: 'a\uFFFDb', t: '\uFFFD', pair: '𝄞', ['k\uFFFD']: ['x\uFFFDy'] });
    const raw = await provider.request('rawEcho', { s: 'z\uD800' });
    assert.doesNotMatch(raw, /\\ud[89ab]/i, 'no surrogate escapes on the wire');
    assert.equal(JSON.parse(raw).params.s, 'z\uFFFD');
    assert.equal(toWellFormed('ok'), 'ok');
    assert.equal(typeof String.prototype.toWellFormed, 'function', 'Node 20 has String.prototype.toWellFormed');
  });

  it('times a call out after timeoutMs: sends $/cancelRequest and rejects with a WorkerTimeoutError', async () => {
    const provider = make();
    await provider.connect();
    const started = performance.now();
    await assert.rejects(provider.request('hang', {}, { timeoutMs: 200 }), (error) => {
      assert.ok(error instanceof WorkerTimeoutError);
      assert.equal(error.name, 'TimeoutError');
      assert.equal(error.code, 'ERR_WORKER_TIMEOUT');
      assert.equal(error.method, 'hang');
      assert.equal(error.timeoutMs, 200);
      return true;
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 190 && elapsed < 2000, `timed out after ${elapsed} ms`);
    const cancels = await provider.request('cancels');
    assert.equal(cancels.length, 1, 'one $/cancelRequest');
  });

  it('gives every call the default deadline config.requestTimeoutMs (also sent to the worker)', async () => {
    const provider = make({ requestTimeoutMs: 300 });
    const params = await provider.request('initializeParams');
    assert.equal(params.config.requestTimeoutMs, 300);
    await assert.rejects(provider.request('hang'), WorkerTimeoutError);
    assert.equal((await provider.request('cancels')).length, 1);
    // null: no deadline (a stream, a long exec); the abort signal still ends it.
    const controller = new AbortController();
    const open = provider.request('hang', {}, { timeoutMs: null, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 500));
    controller.abort();
    await assert.rejects(open, { name: 'AbortError' });
  });

  it('refuses a config member the worker does not know', () => {
    assert.throws(() => fakeProvider({ hsot: 'unix:///x' }), (error) => error instanceof TypeError && /unknown config member "hsot"/.test(error.message));
  });

  it('rejects every call in flight at once when the worker exits', async () => {
    const provider = make();
    await provider.connect();
    const calls = [provider.request('hang'), provider.request('hang', {}, { timeoutMs: null }), provider.request('hang')];
    const settled = Promise.allSettled(calls);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    process.kill(/** @type {number} */ (provider.workerPid), 'SIGKILL');
    const results = await settled;
    assert.ok(performance.now() - started < 1000);
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.ok(result.reason instanceof WorkerExitedError, String(result.reason));
    }
  });

  it('close() sends shutdown and waits for the exit', async () => {
    const provider = make();
    await provider.connect();
    const exits = [];
    provider.events.on('exit', (e) => exits.push(e));
    await provider.close();
    assert.deepEqual(exits, [{ code: 0, signal: null }]);
    assert.equal(provider.workerPid, undefined);
  });
});
