// The original provider's suite (shared/seed/docker-provider.test.ts), re-expressed against a real
// Docker engine through the host adapter and the worker binary. What the seed checked on a mocked
// dockerode call is checked here on the engine's own inspect of the container.
//
// Needs: the worker binary ($OPENLATTICE_DOCKER_WORKER, default <repo>/.build/debug/openlattice-docker-worker),
// an engine on /var/run/docker.sock and the local test images openlattice-test/busybox and
// openlattice-test/tailscale (scripts/setup.sh builds them). Every container carries the label
// openlattice.test=node-host and is removed in after(), whatever happened.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DockerWorkerProvider, RequestTooLargeError } from '../index.js';
import {
  BUSYBOX, TAILSCALE, TEST_LABELS, TEST_NETWORK, WORKER_PATH,
  docker, inspectContainer, inspectImage, containersWithLabels, removeTestContainers, removeSnapshotImages,
  ensureNetwork, removeNetwork, createContainerDirectly, freePort, uniqueName, workerExists, suiteLabels,
} from './docker-engine.js';

/** Every container this file makes carries these (openlattice.test=node-host plus the suite's own label). */
const LABELS = suiteLabels('provider');

const T = { timeout: 60_000 };
const GiB = 1024 * 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CORE_METHODS = ['initialize', 'shutdown', 'provision', 'exec', 'inspect', 'destroy', 'stop', 'start', 'restart',
  'pause', 'resume', 'snapshot', 'restore', 'healthCheck', 'detectGpu', 'list'];

/** @type {DockerWorkerProvider[]} */
const providers = [];
const snapshotIds = new Set();

/** A provider on the real worker; closed in after(). Worker stderr is kept for failure messages. */
function makeProvider(config = {}) {
  const logs = [];
  const provider = new DockerWorkerProvider({
    workerPath: WORKER_PATH,
    onLog: (line) => { logs.push(line); if (logs.length > 200) logs.shift(); if (process.env.OPENLATTICE_TEST_VERBOSE) process.stderr.write(`[worker] ${line}\n`); },
    ...config,
  });
  provider.logs = logs;
  providers.push(provider);
  return provider;
}

/** A node spec with the test label (and, when given, a per-test marker label) added. */
function spec(overrides = {}, marker) {
  return {
    ...overrides,
    runtime: { image: BUSYBOX, ...(overrides.runtime ?? {}) },
    labels: { ...LABELS, ...(marker ? { 'openlattice.test.case': marker } : {}), ...(overrides.labels ?? {}) },
  };
}

/** The host-side ports of the endpoints of one type, without duplicates (IPv4 and IPv6 bindings). */
function endpointPorts(node, type) {
  return [...new Set(node.endpoints.filter((e) => e.type === type).map((e) => e.port))];
}

/** Asserts the call rejects with a worker error of `code` whose message starts `[docker] <method> failed`. */
async function rejectsWith(promise, code, method) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof Error, 'an Error');
    assert.equal(error.code, code, `code ${code}, got ${error.code}: ${error.message}`);
    if (method) assert.match(error.message, new RegExp(`^\\[docker\\] ${method} failed`));
    return true;
  });
}

describe('DockerProvider through openlattice-docker-worker (real engine)', () => {
  /** @type {DockerWorkerProvider} */
  let provider;

  before(async () => {
    if (!workerExists()) {
      throw new Error(`worker binary not found at ${WORKER_PATH}: build it (swift build) or set OPENLATTICE_DOCKER_WORKER`);
    }
    const ping = await docker('GET', '/_ping').catch((e) => ({ status: 0, body: e.message }));
    if (ping.status !== 200) throw new Error(`no Docker engine answers on the socket: ${ping.body}`);
    for (const image of [BUSYBOX, TAILSCALE]) {
      if (!(await inspectImage(image))) throw new Error(`test image ${image} missing: run scripts/setup.sh`);
    }
    await removeTestContainers(LABELS); // leftovers of an earlier, interrupted run
    await ensureNetwork(TEST_NETWORK);
    provider = makeProvider();
  });

  after(async () => {
    await Promise.allSettled(providers.map((p) => p.close()));
    await removeTestContainers(LABELS).catch(() => {});
    await removeSnapshotImages(snapshotIds, LABELS).catch(() => {});
    await removeNetwork(TEST_NETWORK).catch(() => {});
  });

  // ── constructor ──────────────────────────────────────────────────

  describe('constructor', () => {
    it("sets name to 'docker'", () => {
      assert.equal(provider.name, 'docker');
    });

    it('declares expected capabilities', T, async () => {
      const check = (caps) => {
        assert.equal(caps.restart, true);
        assert.equal(caps.pause, true);
        assert.equal(caps.snapshot, true);
        assert.equal(caps.logs, true);
        assert.equal(caps.tailscale, true);
        assert.equal(caps.persistentStorage, true);
        assert.ok(caps.architectures.includes('x86_64'));
        assert.ok(caps.architectures.includes('arm64'));
      };
      check(makeProvider().capabilities); // before the worker runs: the defaults
      const info = await provider.connect(); // then the worker's own
      check(info.capabilities);
      check(provider.capabilities);
    });

    it('defaults gpu to false without explicit config', T, async () => {
      const fresh = makeProvider();
      assert.equal(fresh.capabilities.gpu, false);
      await fresh.connect();
      assert.equal(fresh.capabilities.gpu, false);
    });

    it('respects gpuAvailable config', T, async () => {
      const gpuProvider = makeProvider({ gpuAvailable: true });
      assert.equal(gpuProvider.capabilities.gpu, true);
      await gpuProvider.connect();
      assert.equal(gpuProvider.workerInfo.capabilities.gpu, true);
      assert.equal(gpuProvider.capabilities.gpu, true);
    });

    it('initialize answers protocol 1.1 and lists the core methods', T, async () => {
      const info = await provider.connect();
      assert.equal(info.protocolVersion, '1.1');
      assert.equal(info.provider.name, 'docker');
      assert.equal(typeof info.provider.version, 'string');
      assert.equal(typeof info.limits.maxLineBytes, 'number');
      for (const method of CORE_METHODS.filter((m) => m !== 'initialize' && m !== 'shutdown')) {
        assert.ok(info.methods.includes(method), `methods lists ${method}: ${JSON.stringify(info.methods)}`);
      }
    });
  });

  // ── provision ────────────────────────────────────────────────────

  describe('provision', () => {
    let labelled;
    let port;
    let name;
    let node;
    let info;

    before(async () => {
      labelled = makeProvider({ defaultLabels: { env: 'test' } });
      port = await freePort();
      name = uniqueName('olt-svc');
      node = await labelled.provision(spec({
        name,
        runtime: { image: BUSYBOX, env: { FOO: 'bar', BAZ: 'qux' } },
        cpu: { cores: 1 },
        memory: { sizeGiB: 0.25 },
        network: { ports: [{ port, protocol: 'tcp' }] },
        labels: { team: 'ml' },
      }));
      info = await inspectContainer(node.externalId);
    });

    it('creates and starts a container', () => {
      assert.ok(info, 'the engine knows the container');
      assert.equal(info.State.Running, true);
      assert.ok(info.Id.startsWith(node.externalId) || node.externalId === name, `externalId ${node.externalId} names ${info.Id}`);
      assert.equal(node.status, 'running');
      assert.equal(node.image, BUSYBOX);
      assert.ok(node.startedAt instanceof Date);
    });

    it('maps runtime image to Docker Image option', () => {
      assert.equal(info.Config.Image, BUSYBOX);
    });

    it('maps runtime command to Cmd', T, async () => {
      const n = await provider.provision(spec({ runtime: { image: BUSYBOX, command: ['sh', '-c', 'echo hello; sleep 600'] } }));
      const i = await inspectContainer(n.externalId);
      assert.deepEqual(i.Config.Cmd, ['sh', '-c', 'echo hello; sleep 600']);
    });

    it('maps runtime env to Env array', () => {
      const env = info.Config.Env;
      const foo = env.indexOf('FOO=bar');
      const baz = env.indexOf('BAZ=qux');
      assert.ok(foo >= 0 && baz >= 0, `Env ${JSON.stringify(env)}`);
      assert.ok(foo < baz, 'in the given order');
    });

    it('maps CPU cores to NanoCpus', () => {
      assert.equal(info.HostConfig.NanoCpus, 1e9);
    });

    it('maps memory GiB to bytes', () => {
      assert.equal(info.HostConfig.Memory, 0.25 * GiB);
    });

    it('rejects a GPU spec when the provider has no GPU, leaving nothing behind', T, async () => {
      const marker = uniqueName('gpu-none');
      await assert.rejects(provider.provision(spec({ gpu: { count: 1 } }, marker)), (error) => {
        assert.equal(error.code, -32602);
        assert.match(String(error.data?.field), /gpu/);
        return true;
      });
      assert.deepEqual(await containersWithLabels({ 'openlattice.test.case': marker }), []);
    });

    it('maps GPU spec to DeviceRequests (fails to start without the nvidia runtime, leaving nothing behind)', T, async () => {
      const gpuProvider = makeProvider({ gpuAvailable: true });
      const marker = uniqueName('gpu-nvidia');
      await assert.rejects(gpuProvider.provision(spec({ gpu: { count: 2 } }, marker)), (error) => {
        assert.match(error.message, /^\[docker\] provision failed/);
        assert.ok([-32000, -32602].includes(error.code), `code ${error.code}: ${error.message}`);
        return true;
      });
      assert.deepEqual(await containersWithLabels({ 'openlattice.test.case': marker }), []);
    });

    it('maps port bindings', () => {
      assert.equal(info.HostConfig.PortBindings[`${port}/tcp`][0].HostPort, String(port));
      assert.deepEqual(Object.keys(info.HostConfig.PortBindings), [`${port}/tcp`]);
      assert.deepEqual(info.Config.ExposedPorts, { [`${port}/tcp`]: {} });
    });

    it('lets the engine choose the host port with hostPort 0', T, async () => {
      const n = await provider.provision(spec({ network: { ports: [{ port: 8080, hostPort: 0 }] } }));
      const i = await inspectContainer(n.externalId);
      const bindings = i.NetworkSettings.Ports['8080/tcp'];
      const bound = [...new Set(bindings.map((b) => Number(b.HostPort)))];
      assert.ok(bound.every((p) => p > 0), `engine bound ${bound}`);
      // The engine allocates per address family: IPv4 and IPv6 may get different host ports.
      assert.deepEqual(endpointPorts(n, 'tcp').sort(), bound.sort());
      for (const e of n.endpoints.filter((e) => e.type === 'tcp')) {
        const ips = bindings.filter((b) => Number(b.HostPort) === e.port).map((b) => b.HostIp);
        const host = ips.includes('::') ? (ips.some((ip) => ip !== '::') ? 'localhost' : '::1') : '127.0.0.1';
        assert.equal(e.host, host, `bindings ${JSON.stringify(bindings)}`);
        assert.equal(e.containerPort, 8080);
      }
    });

    it('applies openlattice.managed and node-id labels', () => {
      assert.equal(info.Config.Labels['openlattice.managed'], 'true');
      assert.match(info.Config.Labels['openlattice.node-id'], UUID);
      assert.equal(node.nodeId, info.Config.Labels['openlattice.node-id']);
    });

    it('applies spec labels and default labels', () => {
      assert.equal(info.Config.Labels.team, 'ml');
      assert.equal(info.Config.Labels.env, 'test');
      assert.equal(node.labels.team, 'ml');
    });

    it('uses spec.name directly as container name', () => {
      assert.equal(info.Name, `/${name}`);
      assert.equal(node.name, name);
    });

    it('sets Hostname from spec.name', () => {
      assert.equal(info.Config.Hostname, name);
    });

    it('extracts endpoints from port bindings', () => {
      assert.deepEqual(endpointPorts(node, 'tcp'), [port]);
      const endpoint = node.endpoints.find((e) => e.type === 'tcp');
      assert.equal(endpoint.host, 'localhost');
      assert.equal(endpoint.port, port);
      assert.equal(endpoint.containerPort, port);
    });

    it('includes network-internal endpoints on named networks', T, async () => {
      const netProvider = makeProvider({ network: TEST_NETWORK });
      const netName = uniqueName('olt-net');
      const netPort = await freePort();
      const n = await netProvider.provision(spec({ name: netName, network: { ports: [{ port: netPort }] } }));
      const i = await inspectContainer(n.externalId);
      assert.equal(i.HostConfig.NetworkMode, TEST_NETWORK);
      assert.ok(i.NetworkSettings.Networks[TEST_NETWORK], 'attached to the named network');

      const hostEndpoint = n.endpoints.find((e) => e.type === 'tcp');
      assert.ok(hostEndpoint);
      assert.equal(hostEndpoint.host, 'localhost');
      assert.equal(hostEndpoint.port, netPort);

      const internal = n.endpoints.find((e) => e.type === 'docker-internal');
      assert.ok(internal, `endpoints ${JSON.stringify(n.endpoints)}`);
      assert.equal(internal.host, netName);
      assert.equal(internal.port, netPort);
      assert.equal(internal.url, `http://${netName}:${netPort}`);
    });

    it('does not add internal endpoints on bridge network', T, async () => {
      const bridgeProvider = makeProvider({ network: 'bridge' });
      const n = await bridgeProvider.provision(spec({ network: { ports: [{ port: await freePort() }] } }));
      assert.equal(n.endpoints.filter((e) => e.type === 'docker-internal').length, 0);
      assert.equal(n.endpoints.filter((e) => e.type === 'tcp').length > 0, true);
    });

    it('defaults to sleep command when no command specified', () => {
      assert.deepEqual(info.Config.Cmd, ['sh', '-c', 'sleep infinity']);
    });

    describe('tailscale', () => {
      let tsPort;
      let tsInfo;
      before(async () => {
        tsPort = await freePort();
        const n = await provider.provision(spec({ runtime: { image: TAILSCALE }, network: { tailscale: true, ports: [{ port: tsPort }] } }));
        tsInfo = await inspectContainer(n.externalId);
      });

      it('adds CAP_NET_ADMIN and /dev/net/tun when tailscale is true', () => {
        assert.deepEqual(tsInfo.HostConfig.CapAdd, ['NET_ADMIN']);
        assert.deepEqual(tsInfo.HostConfig.Devices, [
          { PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' },
        ]);
      });

      it('does not add tailscale caps when tailscale is false/undefined', () => {
        assert.equal((info.HostConfig.CapAdd ?? []).length, 0, `CapAdd ${JSON.stringify(info.HostConfig.CapAdd)}`);
        assert.equal((info.HostConfig.Devices ?? []).length, 0, `Devices ${JSON.stringify(info.HostConfig.Devices)}`);
      });

      it('combines tailscale with port bindings', () => {
        assert.deepEqual(tsInfo.HostConfig.CapAdd, ['NET_ADMIN']);
        assert.equal(tsInfo.HostConfig.Devices.length, 1);
        assert.equal(tsInfo.HostConfig.PortBindings[`${tsPort}/tcp`][0].HostPort, String(tsPort));
      });

      describe('with tailscaleAuthKey', () => {
        const key = `tskey-auth-${Date.now().toString(36)}abc123`;
        let keyed;
        let keyedInfo;
        before(async () => {
          keyed = await provider.provision(spec({ runtime: { image: TAILSCALE }, network: { tailscaleAuthKey: key } }));
          keyedInfo = await inspectContainer(keyed.externalId);
        });

        it('adds CAP_NET_ADMIN when tailscaleAuthKey is set without tailscale: true', () => {
          assert.deepEqual(keyedInfo.HostConfig.CapAdd, ['NET_ADMIN']);
          assert.equal(keyedInfo.HostConfig.Devices.length, 1);
        });

        it('calls tailscale up via exec when tailscaleAuthKey is set', T, async () => {
          const argv = await provider.exec(keyed.externalId, ['cat', '/tmp/tailscale.argv']);
          assert.equal(argv.exitCode, 0, `tailscale never ran: ${argv.stderr}`);
          const args = argv.stdout.split('\n');
          assert.ok(args.includes('up'), `tailscale argv: ${JSON.stringify(args)}`);
          // The key reached `tailscale up`: as a file it read (--auth-key=file:…) or as an argument.
          const seen = await provider.exec(keyed.externalId, ['cat', '/tmp/tailscale.key-seen']);
          const sawKey = (seen.exitCode === 0 && seen.stdout.trim() === key) || args.some((a) => a.includes(key));
          assert.ok(sawKey, `key not seen by tailscale up; argv ${JSON.stringify(args)}, key-seen ${JSON.stringify(seen)}`);
          const daemon = await provider.exec(keyed.externalId, ['sh', '-c', 'test -f /tmp/tailscaled.argv || pgrep tailscaled']);
          assert.equal(daemon.exitCode, 0, 'tailscaled was started');
        });
      });
    });
  });

  // ── exec ─────────────────────────────────────────────────────────

  describe('exec', () => {
    let box;
    before(async () => {
      box = await provider.provision(spec({ name: uniqueName('olt-exec') }));
    });

    it('creates and starts an exec instance', T, async () => {
      const result = await provider.exec(box.externalId, ['echo', 'hello']);
      assert.equal(result.exitCode, 0);
      assert.equal(result.stdout, 'hello\n');
      assert.equal(result.timedOut, false);
      assert.equal(typeof result.durationMs, 'number');
    });

    it('passes command to exec create', T, async () => {
      const result = await provider.exec(box.externalId, ['sh', '-c', 'printf "%s|" "$@"', 'sh', 'a b', '$HOME', '"q"']);
      assert.equal(result.stdout, 'a b|$HOME|"q"|');
    });

    it('passes cwd and env to exec create', T, async () => {
      const result = await provider.exec(box.externalId, ['sh', '-c', 'pwd; echo "$NODE_ENV"'], { cwd: '/tmp', env: { NODE_ENV: 'test' } });
      assert.equal(result.stdout, '/tmp\ntest\n');
    });

    it('waits for completion of a command that takes a while', T, async () => {
      const result = await provider.exec(box.externalId, ['sh', '-c', 'sleep 1; echo done']);
      assert.equal(result.exitCode, 0);
      assert.equal(result.stdout, 'done\n');
      assert.ok(result.durationMs >= 900, `durationMs ${result.durationMs}`);
    });

    it('returns correct exit code from exec', T, async () => {
      assert.equal((await provider.exec(box.externalId, ['sh', '-c', 'exit 42'])).exitCode, 42);
      assert.equal((await provider.exec(box.externalId, ['false'])).exitCode, 1);
    });

    it('separates stdout and stderr', T, async () => {
      const result = await provider.exec(box.externalId, ['sh', '-c', 'echo out; echo err >&2']);
      assert.equal(result.stdout, 'out\n');
      assert.equal(result.stderr, 'err\n');
    });

    it('reports a command that cannot start as exit code 126/127', T, async () => {
      const result = await provider.exec(box.externalId, ['/nonexistent-binary']);
      assert.ok([126, 127].includes(result.exitCode), `exitCode ${result.exitCode}`);
    });

    it('streams output with onOutput', T, async () => {
      const chunks = [];
      const result = await provider.exec(box.externalId, ['sh', '-c', 'echo one; echo two >&2; sleep 0.3; echo "three ✓"'], {
        stream: true,
        onOutput: (chunk) => chunks.push(chunk),
      });
      assert.equal(result.exitCode, 0);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr, '');
      const joined = (stream) => chunks.filter((c) => c.stream === stream).map((c) => c.data).join('');
      assert.equal(joined('stdout'), 'one\nthree ✓\n');
      assert.equal(joined('stderr'), 'two\n');
    });

    it('cancels through an AbortSignal', T, async () => {
      const controller = new AbortController();
      const started = Date.now();
      const call = provider.exec(box.externalId, ['sleep', '30'], { signal: controller.signal });
      setTimeout(() => controller.abort(), 500);
      await assert.rejects(call, (error) => error.name === 'AbortError');
      assert.ok(Date.now() - started < 5000);
      const after = await provider.exec(box.externalId, ['echo', 'still serving']);
      assert.equal(after.stdout, 'still serving\n');
    });

    it('the worker answers a cancelled request with -32800', T, async () => {
      const call = provider.request('exec', { externalId: box.externalId, command: ['sleep', '30'] });
      // Send $/cancelRequest by hand (not through an AbortSignal, which rejects at once) and wait for the
      // worker's own answer to the request.
      setTimeout(() => {
        const session = provider._session;
        const id = [...session.pending].filter(([, c]) => c.method === 'exec').map(([i]) => i).at(-1);
        session.child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id } }) + '\n');
      }, 500);
      await assert.rejects(call, (error) => {
        assert.equal(error.code, -32800, `${error.code} ${error.message}`);
        return true;
      });
    });

    it('rejects exec on a missing container with -32004', T, async () => {
      await rejectsWith(provider.exec('olt-does-not-exist', ['true']), -32004, 'exec');
    });

    it('startExec: a handle that writes stdin (text and bytes) and closes it', T, async () => {
      const handle = provider.startExec(box.externalId, ['sh', '-c', 'cat; exit 3'], { encoding: 'base64' });
      handle.sendStdin('hi ');
      handle.sendStdin(Uint8Array.from([0, 1, 255]));
      handle.closeStdin();
      const result = await handle.wait();
      assert.equal(result.exitCode, 3);
      assert.deepEqual([...Buffer.from(result.stdout, 'base64')], [...Buffer.from('hi '), 0, 1, 255]);
    });

    it('startExec: a terminal that resizes', T, async () => {
      let output = '';
      const handle = provider.startExec(box.externalId, ['sh'], { tty: { rows: 20, cols: 70 }, onOutput: (c) => { output += c.data; } });
      handle.sendStdin('echo size=$(stty size)\n');
      while (!output.includes('size=20 70')) await new Promise((r) => setTimeout(r, 50));
      handle.resize(33, 99);
      await new Promise((r) => setTimeout(r, 300));
      handle.sendStdin('echo size=$(stty size); exit 4\n');
      const result = await handle.wait();
      assert.equal(result.exitCode, 4);
      assert.match(output, /size=33 99/);
    });

    it('startExec: kill ends the command and its processes', T, async () => {
      const handle = provider.startExec(box.externalId, ['sh', '-c', 'sleep 391 & cat']);
      await new Promise((r) => setTimeout(r, 1000));
      handle.kill();
      await assert.rejects(handle.wait(), (error) => error.name === 'AbortError');
      let ps = '';
      for (let i = 0; i < 40; i++) {
        ps = execFileSync('docker', ['exec', box.externalId, 'ps', '-o', 'stat,args'], { encoding: 'utf8' });
        if (!/^[^Z]\S*\s+sleep 391/m.test(ps)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.doesNotMatch(ps, /^[^Z]\S*\s+sleep 391/m);
    });
  });

  // ── background commands (protocol 1.1) ───────────────────────────

  describe('background commands', () => {
    let box;
    before(async () => {
      box = await provider.provision(spec({ name: uniqueName('olt-bg') }));
    });

    /** The live processes in the node whose command line begins with `prefix`. */
    function processes(prefix) {
      const ps = execFileSync('docker', ['exec', box.externalId, 'ps', '-o', 'stat,args'], { encoding: 'utf8' });
      return ps.split('\n').slice(1).map((line) => line.trim().split(/\s+/)).filter((w) => w.length > 1 && !w[0].startsWith('Z'))
        .map((w) => w.slice(1).join(' ')).filter((args) => args.startsWith(prefix));
    }

    it('startBackground: a handle whose attach replays from an offset and ends with the result', T, async () => {
      const command = await provider.startBackground(box.externalId, ['sh', '-c', 'printf one; sleep 0.3; printf two >&2; sleep 0.3; exit 5']);
      assert.match(command.execId, /^[0-9a-f]{64}$/);
      const chunks = [];
      const result = await command.attach({ offset: 2, onOutput: (c) => chunks.push(c) }).wait();
      assert.equal(result.exitCode, 5);
      assert.equal(result.timedOut, false);
      assert.deepEqual(chunks, [{ stream: 'stdout', data: 'e', offset: 2 }, { stream: 'stderr', data: 'two', offset: 3 }]);
      const again = [];
      assert.equal((await command.wait({ onOutput: (c) => again.push(c.data) })).exitCode, 5);
      assert.deepEqual(again, ['one', 'two']);
    });

    it('listExecs shows it, detach leaves it running, kill(SIGTERM) lets its trap run', T, async () => {
      const command = await provider.startBackground(box.externalId, ['sh', '-c', "trap 'echo bye; exit 0' TERM; sleep 481 & wait"]);
      const entry = (await provider.listExecs(box.externalId)).find((e) => e.execId === command.execId);
      assert.equal(entry.running, true);
      assert.equal(entry.background, true);
      assert.equal(entry.replayable, true);
      assert.ok(entry.startedAt instanceof Date);
      assert.deepEqual(entry.command, ['sh', '-c', "trap 'echo bye; exit 0' TERM; sleep 481 & wait"]);
      const attach = command.attach();
      await new Promise((r) => setTimeout(r, 300));
      attach.detach();
      await assert.rejects(attach.wait(), (error) => error.name === 'AbortError');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(processes('sleep 481').length, 1);
      let output = '';
      const waiting = command.wait({ onOutput: (c) => { output += c.data; } });
      await command.kill('SIGTERM');
      assert.equal((await waiting).exitCode, 0);
      assert.equal(output, 'bye\n');
      const ended = (await provider.listExecs(box.externalId)).find((e) => e.execId === command.execId);
      assert.equal(ended.running, false);
      assert.equal(ended.exitCode, 0);
    });

    it('sendStdin and closeStdin reach a command started with stdin', T, async () => {
      const command = await provider.startBackground(box.externalId, ['sh', '-c', 'cat > /tmp/bg-in'], { stdin: true });
      command.sendStdin('hello ');
      command.sendStdin(Uint8Array.from([0x77, 0x6f, 0x72, 0x6c, 0x64]));
      command.closeStdin();
      assert.equal((await command.wait()).exitCode, 0);
      assert.equal(execFileSync('docker', ['exec', box.externalId, 'cat', '/tmp/bg-in'], { encoding: 'utf8' }), 'hello world');
    });

    it('killExec on an unknown execId names it; kill() leaves no process', T, async () => {
      await assert.rejects(provider.killExec('0123456789abcdef'), (error) => {
        assert.equal(error.code, -32004);
        assert.match(error.message, /execId/);
        return true;
      });
      const command = await provider.startBackground(box.externalId, ['sh', '-c', 'sleep 482 & setsid sleep 483 & sleep 484']);
      await new Promise((r) => setTimeout(r, 500));
      await command.kill();
      assert.deepEqual(processes('sleep 48'), []);
      assert.equal((await command.wait()).exitCode, 137);
    });
  });

  // ── inspect ──────────────────────────────────────────────────────

  describe('inspect', () => {
    let box;
    before(async () => {
      box = await provider.provision(spec({}));
    });

    it('maps running Docker state to running', T, async () => {
      assert.equal((await provider.inspect(box.externalId)).status, 'running');
    });

    it('maps paused Docker state to paused', T, async () => {
      await docker('POST', `/containers/${box.externalId}/pause`);
      try {
        assert.equal((await provider.inspect(box.externalId)).status, 'paused');
      } finally {
        await docker('POST', `/containers/${box.externalId}/unpause`);
      }
    });

    it('maps exited Docker state to stopped, with the exit code', T, async () => {
      const id = await createContainerDirectly({ cmd: ['sh', '-c', 'exit 3'], wait: true, labels: LABELS });
      const status = await provider.inspect(id);
      assert.equal(status.status, 'stopped');
      assert.equal(status.exitCode, 3);
      assert.ok(status.finishedAt instanceof Date, `finishedAt ${status.finishedAt}`);
    });

    it('maps created Docker state to starting', T, async () => {
      const id = await createContainerDirectly({ cmd: ['sleep', '600'], start: false, labels: LABELS });
      assert.equal((await provider.inspect(id)).status, 'starting');
    });

    it('returns terminated for 404 (container not found)', T, async () => {
      const status = await provider.inspect('olt-gone-' + Date.now());
      assert.equal(status.status, 'terminated');
      assert.deepEqual(status.endpoints, []);
    });

    it('includes resource usage from stats', T, async () => {
      const status = await provider.inspect(box.externalId);
      assert.ok(status.resources, 'resources present');
      assert.equal(typeof status.resources.cpuPercent, 'number');
      assert.equal(typeof status.resources.memoryUsedMiB, 'number');
      assert.ok(status.resources.cpuPercent >= 0);
      assert.ok(status.resources.memoryUsedMiB >= 0 && status.resources.memoryUsedMiB < 1024);
    });

    it('parses startedAt date', T, async () => {
      const status = await provider.inspect(box.externalId);
      assert.ok(status.startedAt instanceof Date);
      assert.ok(Math.abs(status.startedAt.getTime() - Date.now()) < 10 * 60 * 1000);
    });
  });

  // ── destroy ──────────────────────────────────────────────────────

  describe('destroy', () => {
    it('force-removes the container with volumes', T, async () => {
      const n = await provider.provision(spec({ volumes: [{ target: '/data' }] }));
      const i = await inspectContainer(n.externalId);
      const volume = i.Mounts.find((m) => m.Destination === '/data');
      assert.ok(volume, `mounts ${JSON.stringify(i.Mounts)}`);
      assert.equal(await provider.destroy(n.externalId), undefined);
      assert.equal(await inspectContainer(n.externalId), null);
      const v = await docker('GET', `/volumes/${volume.Name}`);
      assert.equal(v.status, 404, 'the anonymous volume went with the container');
    });

    it('is idempotent for 404 (already removed)', T, async () => {
      const n = await provider.provision(spec({}));
      await provider.destroy(n.externalId);
      assert.equal(await provider.destroy(n.externalId), undefined);
    });

    it('throws on non-404 errors', T, async () => {
      const unreachable = makeProvider({ host: 'unix:///tmp/nonexistent.sock' });
      await assert.rejects(unreachable.destroy('abc123'), { message: /^\[docker\] destroy failed/ });
    });
  });

  // ── stop / start / restart ───────────────────────────────────────

  describe('stop / start', () => {
    let node;
    before(async () => {
      node = await provider.provision(spec({ runtime: { image: BUSYBOX, command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'] } }));
    });

    it('stops the container', T, async () => {
      assert.equal(await provider.stop(node.externalId), undefined);
      const i = await inspectContainer(node.externalId);
      assert.equal(i.State.Running, false);
      assert.equal((await provider.inspect(node.externalId)).status, 'stopped');
    });

    it('stop is idempotent for 304 (already stopped)', T, async () => {
      assert.equal(await provider.stop(node.externalId), undefined);
    });

    it('starts the container', T, async () => {
      assert.equal(await provider.start(node.externalId), undefined);
      assert.equal((await inspectContainer(node.externalId)).State.Running, true);
    });

    it('start is idempotent for 304 (already running)', T, async () => {
      assert.equal(await provider.start(node.externalId), undefined);
    });

    it('restarts the container', T, async () => {
      const before = (await inspectContainer(node.externalId)).State.StartedAt;
      await provider.restart(node.externalId);
      const i = await inspectContainer(node.externalId);
      assert.equal(i.State.Running, true);
      assert.notEqual(i.State.StartedAt, before);
    });

    it('honours timeoutSeconds for a process that ignores SIGTERM', T, async () => {
      const stubborn = await provider.provision(spec({ runtime: { image: BUSYBOX, command: ['sh', '-c', 'trap "" TERM; while true; do sleep 0.2; done'] } }));
      const started = Date.now();
      await provider.stop(stubborn.externalId, { timeoutSeconds: 1 });
      const took = Date.now() - started;
      assert.ok(took >= 900 && took < 8000, `stop took ${took} ms`);
      assert.equal((await inspectContainer(stubborn.externalId)).State.Running, false);
    });

    it('answers -32004 for a missing container', T, async () => {
      await rejectsWith(provider.stop('olt-missing-' + Date.now()), -32004, 'stop');
      await rejectsWith(provider.start('olt-missing-' + Date.now()), -32004, 'start');
    });
  });

  // ── pause / resume ───────────────────────────────────────────────

  describe('pause / resume', () => {
    let node;
    before(async () => {
      node = await provider.provision(spec({}));
    });

    it('pauses the container', T, async () => {
      await provider.pause(node.externalId);
      assert.equal((await inspectContainer(node.externalId)).State.Paused, true);
    });

    it('pause is idempotent (already paused)', T, async () => {
      assert.equal(await provider.pause(node.externalId), undefined);
    });

    it('resumes (unpauses) the container', T, async () => {
      await provider.resume(node.externalId);
      const i = await inspectContainer(node.externalId);
      assert.equal(i.State.Paused, false);
      assert.equal(i.State.Running, true);
    });

    it('resume is idempotent (already running)', T, async () => {
      assert.equal(await provider.resume(node.externalId), undefined);
    });
  });

  // ── snapshot / restore ───────────────────────────────────────────

  describe('snapshot / restore', () => {
    let node;
    let ref;
    before(async () => {
      node = await provider.provision(spec({}));
      const written = await provider.exec(node.externalId, ['sh', '-c', 'echo snapshot-data > /root/snap.txt']);
      assert.equal(written.exitCode, 0);
    });

    it('commits the container as an image', T, async () => {
      ref = await provider.snapshot(node.externalId);
      if (ref?.externalId) snapshotIds.add(ref.externalId);
      assert.equal(ref.provider, 'docker');
      assert.match(ref.externalId, /^sha256:[0-9a-f]{64}$/);
      assert.equal(ref.type, 'filesystem');
      assert.ok(ref.createdAt instanceof Date);
      const image = await inspectImage(ref.externalId);
      assert.ok(image, 'the engine has the image');
      assert.ok(image.RepoTags.some((t) => t.startsWith('openlattice-snapshot:')), `tags ${JSON.stringify(image.RepoTags)}`);
      assert.equal(image.Config.Labels['openlattice.managed'], 'true');
      if (ref.image !== undefined) assert.ok(image.RepoTags.includes(ref.image), `ref.image ${ref.image}`);
    });

    it('restores by provisioning from snapshot image', T, async () => {
      assert.ok(ref, 'snapshot ran');
      const restored = await provider.restore(ref, { labels: { ...LABELS } });
      assert.ok(restored.externalId);
      const i = await inspectContainer(restored.externalId);
      assert.equal(i.Image, ref.externalId);
      const file = await provider.exec(restored.externalId, ['cat', '/root/snap.txt']);
      assert.equal(file.stdout, 'snapshot-data\n');
    });

    it('lists the snapshot and refuses to delete it while a node uses it (1.1)', T, async () => {
      assert.ok(ref, 'snapshot ran');
      const listed = await provider.listSnapshots();
      const entry = listed.find((s) => s.externalId === ref.externalId);
      assert.ok(entry, 'listed');
      assert.ok(entry.createdAt instanceof Date);
      assert.equal(typeof entry.size, 'number');
      await assert.rejects(provider.deleteSnapshot(ref), (error) => error.code === -32009);
      assert.ok(await inspectImage(ref.externalId), 'still there');
    });
  });

  // ── lifetimes (1.1) ──────────────────────────────────────────────

  describe('lifetimes', () => {
    it('arms, extends and reports a lifetime; the engine removes the node when it ends', T, async () => {
      const node = await provider.provision(spec({ lifetime: { ttlSeconds: 600 } }));
      const armed = await provider.inspect(node.externalId);
      assert.ok(armed.expiresAt instanceof Date);
      const changed = await provider.setLifetime(node.externalId, { ttlSeconds: 1 });
      assert.ok(changed.expiresAt instanceof Date);
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && (await inspectContainer(node.externalId))) await new Promise((r) => setTimeout(r, 200));
      assert.equal(await inspectContainer(node.externalId), null, 'the container is gone');
    });
  });

  // ── healthCheck ──────────────────────────────────────────────────

  describe('healthCheck', () => {
    it('returns healthy when Docker daemon is reachable', T, async () => {
      const health = await provider.healthCheck();
      assert.equal(health.healthy, true, `health ${JSON.stringify(health)}`);
      assert.equal(typeof health.latencyMs, 'number');
    });

    it('returns unhealthy when Docker daemon is unreachable (a result, not an error)', T, async () => {
      const unreachable = makeProvider({ host: 'unix:///tmp/nonexistent.sock' });
      const raw = await unreachable.request('healthCheck', {});
      assert.equal(raw.healthy, false);
      assert.equal(typeof raw.latencyMs, 'number');
      assert.equal(typeof raw.message, 'string');
      assert.ok(raw.message.length > 0);
      const health = await unreachable.healthCheck();
      assert.equal(health.healthy, false);
    });
  });

  // ── getExtension ─────────────────────────────────────────────────

  describe('getExtension', () => {
    it('returns network extension', () => {
      const ext = provider.getExtension('abc123', 'network');
      assert.ok(ext);
      assert.equal(typeof ext.getUrl, 'function');
    });

    it('returns files extension', () => {
      const ext = provider.getExtension('abc123', 'files');
      assert.ok(ext);
      for (const m of ['read', 'write', 'list', 'remove', 'mkdir', 'writeMany', 'download']) assert.equal(typeof ext[m], 'function', m);
    });

    it('returns metrics extension', () => {
      const ext = provider.getExtension('abc123', 'metrics');
      assert.ok(ext);
      assert.equal(typeof ext.getResourceUsage, 'function');
      assert.equal(typeof ext.streamMetrics, 'function');
    });

    it('returns undefined for an unknown extension', () => {
      assert.equal(provider.getExtension('abc123', 'telepathy'), undefined);
    });

    it('network.getUrl gives the host URL of a published port (when the worker offers it)', T, async (t) => {
      await provider.connect();
      if (!provider.workerInfo.methods.includes('network.getUrl')) return t.skip('planned: the worker does not list network.getUrl');
      const port = await freePort();
      const n = await provider.provision(spec({ network: { ports: [{ port }] } }));
      assert.equal(await provider.getExtension(n.externalId, 'network').getUrl(port), `http://localhost:${port}`);
    });

    it('files write/read round-trips bytes (when the worker offers it)', T, async (t) => {
      await provider.connect();
      const methods = provider.workerInfo.methods;
      if (!methods.includes('files.write') || !methods.includes('files.read')) return t.skip('planned: the worker does not list files.read/files.write');
      const n = await provider.provision(spec({}));
      const files = provider.getExtension(n.externalId, 'files');
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const written = await files.write('/tmp/all-bytes.bin', bytes);
      assert.equal(written.size, 256);
      const read = await files.read('/tmp/all-bytes.bin', { encoding: 'base64' });
      assert.deepEqual(Buffer.from(read.content, 'base64'), bytes);
      assert.ok(read.modifiedAt instanceof Date);
    });

    it('files.writeMany writes many files at once, and download streams them back with backpressure', { timeout: 120_000 }, async () => {
      await provider.connect();
      const n = await provider.provision(spec({}));
      const files = provider.getExtension(n.externalId, 'files');
      const many = Array.from({ length: 50 }, (_, i) => ({ path: `/tmp/many/f${i}.txt`, content: `file ${i}\n` }));
      many.push({ path: '/tmp/many/bytes.bin', content: Buffer.from([0, 1, 2, 255]), mode: 0o600 });
      const written = await files.writeMany(many);
      assert.equal(written.length, 51);
      assert.equal(written[3].path, '/tmp/many/f3.txt');
      assert.equal(written[3].size, 'file 3\n'.length);
      assert.equal(written[50].size, 4);
      // 12 MiB made in the node, read by a slow consumer: the Readable's backpressure holds.
      await provider.exec(n.externalId, ['sh', '-c', 'head -c 12582912 /dev/urandom > /tmp/big']);
      const expected = (await provider.exec(n.externalId, ['sha256sum', '/tmp/big'])).stdout.split(' ')[0];
      const progress = [];
      const stream = files.download('/tmp/big', { chunkBytes: 65536, onProgress: (p) => progress.push(p) });
      let result;
      stream.on('result', (r) => { result = r; });
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of stream) {
        hash.update(chunk);
        size += chunk.length;
        if (size < 2 << 20) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(size, 12582912);
      assert.equal(hash.digest('hex'), expected);
      assert.equal(result.sha256, expected);
      assert.equal(result.type, 'file');
      assert.ok(progress.length >= 1 && progress.every((p) => p.totalBytes === 12582912));
      // A folder comes as a tar stream; a missing path fails the stream.
      const folder = files.download('/tmp/many');
      let tarBytes = 0;
      for await (const chunk of folder) tarBytes += chunk.length;
      assert.ok(tarBytes > 51 * 512);
      await assert.rejects(async () => { for await (const _ of files.download('/tmp/nope')) { /* nothing */ } }, (e) => e.code === -32004);
    });

    it('files.upload lands a Buffer and a stream whole, and a failed stream leaves the old file', { timeout: 120_000 }, async () => {
      await provider.connect();
      const n = await provider.provision(spec({}));
      const files = provider.getExtension(n.externalId, 'files');
      const bytes = Buffer.alloc(3 << 20);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
      const sha = createHash('sha256').update(bytes).digest('hex');
      const fromBuffer = await files.upload('/tmp/buffer.bin', bytes, { chunkBytes: 256 << 10, mode: 0o600 });
      assert.deepEqual(fromBuffer, { size: bytes.length, sha256: sha });
      const big = Buffer.alloc(9 << 20, 7);
      const progress = [];
      await files.upload('/tmp/big.bin', big, { onProgress: (p) => progress.push(p) });
      assert.ok(progress.length >= 1 && progress.every((p) => p.totalBytes === big.length), JSON.stringify(progress));
      const fromStream = await files.upload('/tmp/stream.bin', Readable.from([bytes.subarray(0, 1 << 20), bytes.subarray(1 << 20)]));
      assert.equal(fromStream.sha256, sha);
      const inNode = await provider.exec(n.externalId, ['sha256sum', '/tmp/buffer.bin', '/tmp/stream.bin']);
      assert.equal(inNode.stdout.split('\n').filter((line) => line.startsWith(sha)).length, 2);
      await files.write('/tmp/keep.txt', 'old\n');
      async function* failing() { yield Buffer.from('new bytes'); throw new Error('source broke'); }
      await assert.rejects(files.upload('/tmp/keep.txt', failing()), /source broke/);
      assert.equal((await files.read('/tmp/keep.txt')).content, 'old\n');
    });

    it('metrics.getResourceUsage gives numbers (when the worker offers it)', T, async (t) => {
      await provider.connect();
      if (!provider.workerInfo.methods.includes('metrics.getResourceUsage')) return t.skip('planned: the worker does not list metrics.getResourceUsage');
      const n = await provider.provision(spec({}));
      const usage = await provider.getExtension(n.externalId, 'metrics').getResourceUsage();
      assert.equal(typeof usage.cpuPercent, 'number');
      assert.equal(typeof usage.memoryUsedMiB, 'number');
      assert.ok(usage.timestamp instanceof Date);
    });
  });

  // ── detectGpu ────────────────────────────────────────────────────

  describe('detectGpu', () => {
    it('returns false when no nvidia runtime', T, async () => {
      assert.equal(await provider.detectGpu(), false);
      assert.equal(provider.capabilities.gpu, false);
    });

    it('returns false on error', T, async () => {
      const unreachable = makeProvider({ host: 'unix:///tmp/nonexistent.sock' });
      assert.equal(await unreachable.detectGpu(), false);
    });
  });

  // ── list ─────────────────────────────────────────────────────────

  describe('list', () => {
    it('lists managed nodes matching labels, running or not', T, async () => {
      const marker = uniqueName('list');
      const running = await provider.provision(spec({}, marker));
      const stopped = await provider.provision(spec({ runtime: { image: BUSYBOX, command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'] } }, marker));
      await provider.stop(stopped.externalId);
      const nodes = await provider.list({ 'openlattice.test.case': marker });
      const ids = nodes.map((n) => n.externalId).sort();
      assert.deepEqual(ids, [running.externalId, stopped.externalId].sort());
      for (const n of nodes) {
        assert.equal(n.labels['openlattice.managed'], 'true');
        assert.match(n.nodeId, UUID);
      }
      assert.equal(nodes.find((n) => n.externalId === stopped.externalId).status, 'stopped');
    });
  });

  // ── worker process ───────────────────────────────────────────────

  describe('calls that the worker could not tie to an id (issue 17)', () => {
    it('refuses a files.write of 49 MiB (over the 64 MiB line limit once base64) at once, before sending it', T, async () => {
      const guarded = makeProvider();
      const box = await guarded.provision(spec({}));
      const protocolErrors = [];
      guarded.events.on('protocolError', (e) => protocolErrors.push(e));
      const files = guarded.getExtension(box.externalId, 'files');
      const started = performance.now();
      await assert.rejects(files.write('/tmp/big.bin', new Uint8Array(49 * 1024 * 1024)), (error) => {
        assert.ok(error instanceof RequestTooLargeError, String(error));
        assert.equal(error.maxLineBytes, 64 * 1024 * 1024, 'the limit the worker reported in initialize');
        return true;
      });
      assert.ok(performance.now() - started < 5000, 'no wait for an answer that cannot come');
      // The worker saw nothing of it and answers the next call; the file does not exist.
      assert.equal((await guarded.inspect(box.externalId)).status, 'running');
      const check = await guarded.exec(box.externalId, ['sh', '-c', 'test -e /tmp/big.bin && echo there || echo absent']);
      assert.equal(check.stdout, 'absent\n');
      assert.deepEqual(protocolErrors, []);
    });

    it('honours a smaller --max-line-bytes the worker reports', T, async () => {
      const small = makeProvider({ workerArgs: ['--max-line-bytes', '65536'] });
      await small.connect();
      assert.equal(small.workerInfo.limits.maxLineBytes, 65536);
      await assert.rejects(small.list({ big: 'x'.repeat(70_000) }), RequestTooLargeError);
      assert.ok(Array.isArray(await small.list({ small: 'x' })));
    });

    it('sends strings with unpaired surrogates as well-formed JSON (U+FFFD), so the call is answered', T, async () => {
      const text = makeProvider();
      const protocolErrors = [];
      text.events.on('protocolError', (e) => protocolErrors.push(e));
      const box = await text.provision(spec({ runtime: { env: { LONE: 'a\uD800b' } } }));
      // The worker used to answer -32700 with id null: the call never settled.
      assert.deepEqual(await text.list({ 'openlattice.test.lone': 'x\uDC00' }), []);
      const result = await text.exec(box.externalId, ['sh', '-c', 'printf "%s|" "$LONE" "$1"', 'sh', 'c\uDBFFd']);
      assert.equal(result.stdout, 'a\uFFFDb|c\uFFFDd|');
      const env = (await inspectContainer(box.externalId)).Config.Env;
      assert.ok(env.includes('LONE=a\uFFFDb'), env.join(' '));
      assert.deepEqual(protocolErrors, []);
    });

    it('times out a call the worker does not answer in time, cancelling it on the worker', T, async () => {
      const slow = makeProvider();
      const box = await slow.provision(spec({}));
      const started = performance.now();
      // The exec's own limit is 20 s; the call's deadline, given explicitly, is 500 ms.
      await assert.rejects(slow.request('exec', { externalId: box.externalId, command: ['sleep', '20'] }, { timeoutMs: 500 }),
        (error) => error.name === 'TimeoutError' && error.code === 'ERR_WORKER_TIMEOUT');
      assert.ok(performance.now() - started < 5000);
      // The cancel reached the worker: the sleep is gone from the container.
      let processes = '';
      for (let i = 0; i < 50; i++) {
        processes = (await slow.exec(box.externalId, ['ps', '-o', 'args'])).stdout;
        if (!/sleep 20/.test(processes)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.doesNotMatch(processes, /sleep 20/);
    });
  });

  describe('worker crash recovery', () => {
    it('rejects the call in flight when the worker is killed, and the next call restarts it', T, async () => {
      const crashy = makeProvider();
      const box = await crashy.provision(spec({}));
      const pid = crashy.workerPid;
      assert.ok(pid);
      const call = crashy.exec(box.externalId, ['sleep', '10']);
      setTimeout(() => process.kill(pid, 'SIGKILL'), 300);
      await assert.rejects(call, (error) => {
        assert.match(error.message, /^openlattice-docker-worker exited \(code null, signal SIGKILL\) while exec was in flight$/);
        return true;
      });
      const status = await crashy.inspect(box.externalId);
      assert.equal(status.status, 'running');
      assert.notEqual(crashy.workerPid, pid);
    });

    it('close() shuts the worker down cleanly (exit code 0)', T, async () => {
      const closing = makeProvider();
      await closing.connect();
      const exits = [];
      closing.events.on('exit', (e) => exits.push(e));
      await closing.close();
      assert.deepEqual(exits, [{ code: 0, signal: null }]);
    });
  });
});
