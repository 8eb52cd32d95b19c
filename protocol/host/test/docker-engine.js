// A tiny Docker Engine API client over the unix socket (node:http), for the tests to check what the
// worker did with the engine's own eyes, and to clean up. (node --test also loads this file as a
// test file; it defines no tests.)
import http from 'node:http';
import net from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SOCKET = process.env.OPENLATTICE_TEST_DOCKER_SOCKET ?? '/var/run/docker.sock';
export const TEST_LABEL_KEY = 'openlattice.test';
export const TEST_LABEL_VALUE = 'node-host';
/** scripts/test.sh's run-unique value (OLW_TEST_RUN): its clean-up removes only what carries it. */
export const TEST_RUN = process.env.OLW_TEST_RUN ?? '';
export const TEST_LABELS = Object.freeze({ [TEST_LABEL_KEY]: TEST_LABEL_VALUE, ...(TEST_RUN ? { 'openlattice.test-run': TEST_RUN } : {}) });
export const BUSYBOX = 'openlattice-test/busybox:latest';
export const TAILSCALE = 'openlattice-test/tailscale:latest';
export const TEST_NETWORK = 'openlattice-test-net';

/** The worker binary: $OPENLATTICE_DOCKER_WORKER, else the debug build at the repository root. */
export const WORKER_PATH = process.env.OPENLATTICE_DOCKER_WORKER
  ?? fileURLToPath(new URL('../../../.build/debug/openlattice-docker-worker', import.meta.url));

export function workerExists() {
  return existsSync(WORKER_PATH);
}

/**
 * One Engine API request. Resolves with the status and the parsed body (JSON when it is JSON).
 * @param {string} method
 * @param {string} path
 * @param {any} [body]
 * @returns {Promise<{ status: number, body: any }>}
 */
export function docker(method, path, body) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({
      socketPath: SOCKET,
      method,
      path,
      headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {},
      timeout: 60_000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        if ((res.headers['content-type'] ?? '').includes('json') && text !== '') {
          try { parsed = JSON.parse(text); } catch { /* keep text */ }
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`docker ${method} ${path} timed out`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** @param {Record<string, string[]>} filters */
const q = (filters) => encodeURIComponent(JSON.stringify(filters));

/** The engine's inspect of a container, or null when it does not exist. */
export async function inspectContainer(id) {
  const { status, body } = await docker('GET', `/containers/${encodeURIComponent(id)}/json`);
  if (status === 404) return null;
  if (status !== 200) throw new Error(`inspect ${id}: HTTP ${status} ${JSON.stringify(body)}`);
  return body;
}

export async function inspectImage(id) {
  const { status, body } = await docker('GET', `/images/${encodeURIComponent(id)}/json`);
  if (status === 404) return null;
  if (status !== 200) throw new Error(`inspect image ${id}: HTTP ${status} ${JSON.stringify(body)}`);
  return body;
}

/** Containers (running or not) carrying all the given labels. */
export async function containersWithLabels(labels) {
  const list = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  const { status, body } = await docker('GET', `/containers/json?all=1&filters=${q({ label: list })}`);
  if (status !== 200) throw new Error(`list containers: HTTP ${status}`);
  return body;
}

/**
 * The labels of one test file's containers: the common test label plus the suite's own, so that
 * test files running in parallel clean up only what they made.
 * @param {string} suite
 */
export function suiteLabels(suite) {
  return Object.freeze({ ...TEST_LABELS, 'openlattice.test.suite': suite });
}

/** Force-removes (with anonymous volumes) every container carrying all of `labels` (default: the test label). */
export async function removeTestContainers(labels = TEST_LABELS) {
  const containers = await containersWithLabels(labels);
  await Promise.all(containers.map((c) => docker('DELETE', `/containers/${c.Id}?force=1&v=1`)));
  return containers.length;
}

/**
 * Removes snapshot images the tests made: the ids given, and any image tagged `openlattice-snapshot:*`
 * that carries all of `labels` (a commit keeps the container's labels).
 * @param {Iterable<string>} ids
 * @param {Record<string, string>} [labels]
 */
export async function removeSnapshotImages(ids, labels = TEST_LABELS) {
  const targets = new Set(ids);
  const list = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  const { body } = await docker('GET', `/images/json?filters=${q({ label: list })}`);
  for (const image of Array.isArray(body) ? body : []) {
    if ((image.RepoTags ?? []).some((t) => t.startsWith('openlattice-snapshot:'))) targets.add(image.Id);
  }
  for (const id of targets) await docker('DELETE', `/images/${encodeURIComponent(id)}?force=1`);
}

export async function ensureNetwork(name) {
  const { status } = await docker('GET', `/networks/${name}`);
  if (status === 200) return;
  const created = await docker('POST', '/networks/create', { Name: name, CheckDuplicate: true, Labels: TEST_LABELS });
  if (created.status !== 201) throw new Error(`create network ${name}: HTTP ${created.status} ${JSON.stringify(created.body)}`);
}

export async function removeNetwork(name) {
  await docker('DELETE', `/networks/${name}`);
}

/**
 * Creates (and optionally starts) a container directly with the engine, labelled as the worker
 * labels its own (so the worker may act on it) plus the test label.
 */
export async function createContainerDirectly({ cmd, start = true, wait = false, labels = TEST_LABELS }) {
  const created = await docker('POST', '/containers/create', {
    Image: BUSYBOX,
    Cmd: cmd,
    Labels: { ...labels, 'openlattice.managed': 'true' },
  });
  if (created.status !== 201) throw new Error(`create: HTTP ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.Id;
  if (start) {
    const started = await docker('POST', `/containers/${id}/start`);
    if (started.status !== 204) throw new Error(`start: HTTP ${started.status} ${JSON.stringify(started.body)}`);
  }
  if (wait) await docker('POST', `/containers/${id}/wait`);
  return id;
}

/** A TCP port free on the host right now (the engine binds it a moment later). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let counter = 0;
/** A name unique to this test run. */
export function uniqueName(prefix) {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
