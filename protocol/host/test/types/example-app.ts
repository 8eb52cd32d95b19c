// A small orchestrator written against index.d.ts: check-types.js compiles it with tsc --strict.
// It is never run; it must compile, and the lines marked @ts-expect-error must not.
import {
  DockerWorkerProvider, DockerWorkerError, WorkerExitedError, WorkerTimeoutError, RequestTooLargeError,
  type Node, type ExecResult, type SnapshotRef, type FileContent, type WrittenFile, type FileWriteResult, type DownloadResult, type TransferProgress, type ResourceUsage, type DockerWorkerProviderConfig,
} from '../../index.js';

const config: DockerWorkerProviderConfig = {
  workerPath: '.build/release/openlattice-docker-worker',
  host: 'ssh://deploy@build-17.example.com',
  sshOptions: ['-i', '/etc/openlattice/id_ed25519'],
  ownerId: 'scheduler-eu-1',
  requestTimeoutMs: 30_000,
  manageUnlabeled: false,
  tls: { ca: '/p/ca.pem', cert: '/p/cert.pem', key: '/p/key.pem', verify: true },
  registryAuth: { 'registry.example.com': { username: 'ci', password: 'secret' } },
  defaultLabels: { team: 'ml' },
};
// @ts-expect-error a misspelt member is an error, not a pass-through
const typo: DockerWorkerProviderConfig = { hsot: 'unix:///var/run/docker.sock' };

async function main(): Promise<void> {
  const docker = new DockerWorkerProvider(config);
  const node: Node = await docker.provision({
    runtime: { image: 'openlattice-test/busybox:latest', env: { A: '1' }, secretEnv: { TOKEN: 't' } },
    network: { ports: [{ port: 8080 }] },
    labels: { app: 'demo' },
  });
  const tcp = node.endpoints.find((e) => e.type === 'tcp');
  const port: number | undefined = tcp?.port;
  const result: ExecResult = await docker.exec(node.externalId, ['echo', 'hi'], { timeoutMs: 5_000 });
  const streamed = await docker.exec(node.externalId, ['sh', '-c', 'make'], { onOutput: (c) => process.stdout.write(c.data), timeoutMs: 60_000 });
  await docker.inspect(node.externalId, { timeoutMs: 2_000 });
  const files = docker.getExtension(node.externalId, 'files');
  const read: FileContent = await files.read('/etc/hostname');
  const modified: Date | undefined = read.modifiedAt;
  await files.write('/app/config.json', JSON.stringify({ debug: true }), { mode: 0o600, timeoutMs: 10_000 });
  const many: WrittenFile[] = await files.writeMany([{ path: '/app/a.txt', content: 'a' }, { path: '/app/b.bin', content: new Uint8Array([1]), mode: 0o600 }]);
  const firstSha: string = many[0].sha256;
  const download = files.download('/app', { chunkBytes: 65536, onProgress: (p: TransferProgress) => p.totalBytes });
  download.on('result', (result: DownloadResult) => result.format);
  for await (const chunk of download) chunk.byteLength;
  const uploaded: FileWriteResult = await files.upload('/app/copy.tar', download, { size: 1024, mode: 0o600 });
  await files.upload('/app', new Uint8Array([1, 2]), { format: 'tar' });
  const usage: ResourceUsage = await docker.getExtension(node.externalId, 'metrics').getResourceUsage();
  const limit: number | undefined = usage.memoryLimitMiB;
  const snap: SnapshotRef = await docker.snapshot(node.externalId, { tag: 'v1' });
  const image: string = snap.image;
  await docker.restore(snap, { name: 'copy' });
  const { removed } = await docker.reap([node.externalId]);
  const ids: string[] = removed;
  try {
    await docker.healthCheck({ timeoutMs: 1_000 });
  } catch (error) {
    if (error instanceof WorkerTimeoutError) console.error(error.method, error.timeoutMs);
    else if (error instanceof RequestTooLargeError) console.error(error.bytes, error.maxLineBytes);
    else if (error instanceof DockerWorkerError) console.error(error.code, error.data?.status);
    else if (error instanceof WorkerExitedError) console.error(error.exitCode);
  }
  // @ts-expect-error FileContent.modifiedAt is optional in the protocol
  const mustCheck: Date = read.modifiedAt;
  // @ts-expect-error exec options are the documented ones
  await docker.exec(node.externalId, ['true'], { cwdd: '/tmp' });
  console.log(port, result.exitCode, streamed.exitCode, modified, limit, image, ids, typo, mustCheck);
  await docker.destroy(node.externalId);
  await docker.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
