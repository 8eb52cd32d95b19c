// The line protocol itself, as protocol/README.md specifies it, checked on the real worker with raw
// lines: framing, lifecycle, cancellation, ordering, errors, limits and text encoding.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawWorker } from './raw-worker.js';
import { BUSYBOX, WORKER_PATH, removeTestContainers, suiteLabels, uniqueName, workerExists } from './docker-engine.js';

const LABELS = suiteLabels('protocol');

const T = { timeout: 30_000 };
const workers = [];
const start = (args) => { const w = new RawWorker(args); workers.push(w); return w; };

describe('line protocol (raw, real worker)', () => {
  /** A worker shared by the tests that need a running node. */
  let shared;
  let node;

  before(async () => {
    if (!workerExists()) throw new Error(`worker binary not found at ${WORKER_PATH}: build it (swift build) or set OPENLATTICE_DOCKER_WORKER`);
    shared = start();
    await shared.initialize();
    const provisioned = await shared.request('provision', { spec: { name: uniqueName('olt-proto'), runtime: { image: BUSYBOX }, labels: { ...LABELS } } });
    assert.ok(provisioned.result, JSON.stringify(provisioned.error));
    node = provisioned.result;
  });

  after(async () => {
    for (const w of workers) if (!w.exitInfo) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await removeTestContainers(LABELS).catch(() => {});
    for (const w of workers) assert.deepEqual(w.badLines, [], 'nothing but JSON lines on stdout');
  });

  describe('lifecycle', () => {
    it('answers -32002 before initialize', T, async () => {
      const w = start();
      const response = await w.request('healthCheck', {});
      assert.equal(response.error.code, -32002);
      await w.close();
    });

    it('answers -32602 with supported and requested for an unsupported protocolVersion', T, async () => {
      const w = start();
      const response = await w.request('initialize', { protocolVersion: '2.0' });
      assert.equal(response.error.code, -32602);
      assert.deepEqual(response.error.data.supported, ['1.0', '1.1']);
      assert.equal(response.error.data.requested, '2.0');
      // The worker stays uninitialized and accepts a good initialize afterwards.
      const info = await w.initialize();
      assert.equal(info.protocolVersion, '1.0');
      await w.close();
    });

    it('answers a second initialize with -32600', T, async () => {
      const w = start();
      await w.initialize();
      assert.equal((await w.request('initialize', { protocolVersion: '1.0' })).error.code, -32600);
      await w.close();
    });

    it('shutdown answers null and the worker exits 0', T, async () => {
      const w = start();
      await w.initialize();
      const response = await w.request('shutdown', {});
      assert.equal(response.result, null);
      const exit = await Promise.race([w.exited, new Promise((r) => setTimeout(() => r('still running'), 3000))]);
      assert.deepEqual(exit, { code: 0, signal: null });
    });

    it('on stdin EOF answers in-flight requests -32800 and exits 0 within 2 s', T, async () => {
      const w = start();
      await w.initialize();
      w.write({ jsonrpc: '2.0', id: 'inflight', method: 'exec', params: { externalId: node.externalId, command: ['sleep', '30'] } });
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      w.child.stdin.end();
      const exit = await w.exited;
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(Date.now() - started < 2000, `exited after ${Date.now() - started} ms`);
      assert.equal((await w.response('inflight', 100)).error.code, -32800);
    });

    it('on SIGTERM answers in-flight requests -32800 and exits 0', T, async () => {
      const w = start();
      await w.initialize();
      w.write({ jsonrpc: '2.0', id: 'inflight', method: 'exec', params: { externalId: node.externalId, command: ['sleep', '30'] } });
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      w.child.kill('SIGTERM');
      const exit = await w.exited;
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(Date.now() - started < 2000, `exited after ${Date.now() - started} ms`);
      assert.equal((await w.response('inflight', 100)).error.code, -32800);
    });
  });

  describe('framing and messages', () => {
    it('answers a line that is not JSON with -32700 and id null, then goes on', T, async () => {
      const before = shared.messages.length;
      shared.write('{not json');
      const error = await shared.waitFor((m, i) => shared.messages.indexOf(m) >= before && m.id === null && m.error?.code === -32700, 'the parse error');
      assert.equal(error.id, null);
      assert.equal((await shared.request('healthCheck', {})).result.healthy, true);
    });

    it('ignores blank lines', T, async () => {
      const before = shared.messages.length;
      shared.write('');
      shared.write('   \t ');
      const response = await shared.request('healthCheck', {});
      assert.ok(response.result);
      assert.equal(shared.messages.length, before + 1, 'only the response');
    });

    it('answers params given by position with -32602 naming params', T, async () => {
      const response = await shared.request('inspect', [node.externalId]);
      assert.equal(response.error.code, -32602);
      assert.equal(response.error.data.field, 'params');
    });

    it('answers an unknown method with -32601', T, async () => {
      assert.equal((await shared.request('no.such.method', {})).error.code, -32601);
    });

    it('answers a request that is not JSON-RPC 2.0 with -32600', T, async () => {
      shared.write({ jsonrpc: '1.0', id: 'old', method: 'healthCheck' });
      assert.equal((await shared.response('old')).error.code, -32600);
    });

    it('answers a batch with an array of responses; an empty batch with one -32600', T, async () => {
      shared.write([
        { jsonrpc: '2.0', id: 'b1', method: 'healthCheck', params: {} },
        { jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'nothing' } },
        { jsonrpc: '2.0', id: 'b2', method: 'no.such.method' },
      ]);
      const batch = await shared.waitFor((m) => Array.isArray(m) && m.some((r) => r.id === 'b1'), 'the batch response');
      assert.equal(batch.length, 2);
      assert.ok(batch.find((r) => r.id === 'b1').result);
      assert.equal(batch.find((r) => r.id === 'b2').error.code, -32601);
      const before = shared.messages.length;
      shared.write('[]');
      const error = await shared.waitFor((m) => shared.messages.indexOf(m) >= before && !Array.isArray(m) && m.id === null && m.error?.code === -32600, 'the empty batch error');
      assert.equal(error.id, null);
    });

    it('answers a duplicate in-flight id with -32600 and still answers the first', T, async () => {
      shared.write({ jsonrpc: '2.0', id: 'dup', method: 'exec', params: { externalId: node.externalId, command: ['sh', '-c', 'sleep 0.5; echo first'] } });
      shared.write({ jsonrpc: '2.0', id: 'dup', method: 'healthCheck', params: {} });
      const both = await shared.waitFor(() => shared.messages.filter((m) => m.id === 'dup').length >= 2, 'two answers to dup')
        .then(() => shared.messages.filter((m) => m.id === 'dup'));
      assert.equal(both[0].error.code, -32600);
      assert.match(both[0].error.message, /duplicate request id/);
      assert.equal(both[1].result.stdout, 'first\n');
    });

    it('discards a line longer than --max-line-bytes, answers -32600 with id null, and goes on', T, async () => {
      const w = start(['--max-line-bytes', '1024']);
      const info = await w.initialize();
      assert.equal(info.limits.maxLineBytes, 1024);
      w.write(JSON.stringify({ jsonrpc: '2.0', id: 'long', method: 'healthCheck', params: { pad: 'x'.repeat(4096) } }));
      const error = await w.waitFor((m) => m.id === null && m.error?.code === -32600, 'the too-long error');
      assert.equal(error.id, null);
      assert.ok(!w.messages.some((m) => m.id === 'long'), 'the long request itself is not run');
      assert.equal((await w.request('healthCheck', {})).result.healthy, true);
      await w.close();
    });
  });

  describe('errors', () => {
    it('messages of method errors read "[docker] <method> failed: …"', T, async () => {
      const response = await shared.request('exec', { externalId: 'olt-no-such-node', command: ['true'] });
      assert.equal(response.error.code, -32004);
      assert.match(response.error.message, /^\[docker\] exec failed: /);
      assert.equal(response.error.data.provider, 'docker');
      assert.equal(response.error.data.status, 404);
    });

    it('-32602 errors carry data {provider: "docker", field}', T, async () => {
      const response = await shared.request('exec', { externalId: node.externalId, command: [] });
      assert.equal(response.error.code, -32602);
      assert.match(response.error.message, /^\[docker\] exec failed: /);
      assert.equal(typeof response.error.data.field, 'string');
      assert.equal(response.error.data.provider, 'docker', `data ${JSON.stringify(response.error.data)}`);
    });
  });

  describe('cancellation and ordering', () => {
    it('remembers a cancel that arrives before its request', T, async () => {
      shared.write({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'early-1' } });
      const response = await shared.request('exec', { externalId: node.externalId, command: ['sleep', '5'] }, 'early-1');
      assert.equal(response.error.code, -32800);
    });

    it('a cancelled request ends -32800 and no notification of it follows', T, async () => {
      shared.write({ jsonrpc: '2.0', id: 'stream-cancel', method: 'exec', params: { externalId: node.externalId, command: ['sh', '-c', 'while true; do echo tick; sleep 0.05; done'], options: { stream: true } } });
      await shared.waitFor((m) => m.method === 'exec.output' && m.params.requestId === 'stream-cancel', 'a first chunk');
      shared.write({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'stream-cancel' } });
      const response = await shared.response('stream-cancel');
      assert.equal(response.error.code, -32800);
      await new Promise((r) => setTimeout(r, 400));
      const index = shared.messages.indexOf(response);
      assert.ok(!shared.messages.slice(index + 1).some((m) => m.params?.requestId === 'stream-cancel'), 'nothing after the response');
    });

    it('answers concurrent requests out of order, notifications before their response', T, async () => {
      shared.write({ jsonrpc: '2.0', id: 'slow', method: 'exec', params: { externalId: node.externalId, command: ['sh', '-c', 'echo a; sleep 1; echo b'], options: { stream: true } } });
      shared.write({ jsonrpc: '2.0', id: 'fast', method: 'healthCheck', params: {} });
      const slow = await shared.response('slow');
      const fast = await shared.response('fast');
      assert.ok(shared.messages.indexOf(fast) < shared.messages.indexOf(slow), 'the fast request was answered first');
      const chunks = shared.messages.filter((m) => m.method === 'exec.output' && m.params.requestId === 'slow');
      assert.equal(chunks.map((c) => c.params.data).join(''), 'a\nb\n');
      for (const chunk of chunks) assert.ok(shared.messages.indexOf(chunk) < shared.messages.indexOf(slow));
    });
  });

  describe('text and binary data', () => {
    it('never splits a UTF-8 character across notifications; invalid bytes become U+FFFD', T, async () => {
      const response = await shared.request('exec', {
        externalId: node.externalId,
        command: ['sh', '-c', 'printf "caf\\303"; sleep 0.3; printf "\\251 \\377x\\n"'],
        options: { stream: true },
      }, 'utf8-split');
      assert.equal(response.result.exitCode, 0);
      const chunks = shared.messages.filter((m) => m.method === 'exec.output' && m.params.requestId === 'utf8-split').map((m) => m.params.data);
      for (const chunk of chunks) assert.ok(!chunk.includes('\uFFFD\uFFFD'), `chunk ${JSON.stringify(chunk)}`);
      assert.equal(chunks.join(''), 'café \uFFFDx\n');
    });

    it('carries raw bytes as base64 with encoding "base64"', T, async () => {
      const response = await shared.request('exec', {
        externalId: node.externalId,
        command: ['sh', '-c', 'printf "\\377\\000ab"'],
        options: { encoding: 'base64' },
      });
      assert.deepEqual(Buffer.from(response.result.stdout, 'base64'), Buffer.from([0xff, 0x00, 0x61, 0x62]));
    });
  });
});
