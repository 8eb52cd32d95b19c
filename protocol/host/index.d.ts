// Type declarations for the openlattice-docker-worker host adapter (index.js).
// The wire shapes are specified in ../README.md and ../openrpc.json; dates arrive here as `Date`s.

import { EventEmitter } from 'node:events';

export declare const PROTOCOL_VERSION: '1.0';

// ── Config ────────────────────────────────────────────────────────────

/** The worker's own config (sent in `initialize`). Unset fields come from the environment, then defaults. */
export interface DockerProviderConfig {
  /** DOCKER_HOST syntax: `unix:///var/run/docker.sock` (default), `tcp://host:2375`. */
  host?: string;
  /** Engine API version such as "1.41"; negotiated with `/_ping` when unset. */
  apiVersion?: string;
  /** Docker network new containers join (default: the engine's default bridge). */
  network?: string;
  /** Labels added to every container after the spec's labels. */
  defaultLabels?: Record<string, string>;
  /** Whether GPUs may be requested (default false). */
  gpuAvailable?: boolean;
  /** Repository snapshots are committed to (default "openlattice-snapshot"). */
  snapshotRepository?: string;
  /** Timeout of non-streaming engine requests, of a stream's headers, and of helper commands (ms, default 60000). */
  requestTimeoutMs?: number;
  /** A stream that sends nothing this long (logs without follow, pulls, file reads) fails -32008 (ms, default 30000). */
  streamStallMs?: number;
  /** Default bound of a buffered exec's and a logs call's output, per stream (bytes, default 16 MiB). */
  maxOutputBytes?: number;
  /** Further keys are passed to the worker unchanged. */
  [key: string]: unknown;
}

/** The adapter's config: the worker's config plus keys that stay on the host side. */
export interface DockerWorkerProviderConfig extends DockerProviderConfig {
  /** Path of the worker binary (default: $OPENLATTICE_DOCKER_WORKER, then `openlattice-docker-worker` on PATH). */
  workerPath?: string;
  /** Command-line arguments for the worker, e.g. `["--max-line-bytes", "1048576"]`. */
  workerArgs?: string[];
  /** Extra environment variables for the worker. */
  workerEnv?: Record<string, string>;
  /** Receives each stderr line of the worker; without it stderr goes to the host's stderr. */
  onLog?: (line: string) => void;
  /** How long `close()` waits before it kills the worker (ms, default 3000). */
  closeTimeoutMs?: number;
}

// ── Shapes ────────────────────────────────────────────────────────────

export interface Capabilities {
  restart: boolean;
  pause: boolean;
  snapshot: boolean;
  logs: boolean;
  tailscale: boolean;
  persistentStorage: boolean;
  architectures: string[];
  gpu: boolean;
  [key: string]: unknown;
}

export interface PortSpec {
  port: number;
  protocol?: 'tcp' | 'udp';
  /** Host port; defaults to `port`; 0 lets the engine choose. */
  hostPort?: number;
}

export interface VolumeSpec {
  /** Named volume (created if missing, survives destroy); absent: an anonymous volume. */
  source?: string;
  target: string;
  readOnly?: boolean;
}

export interface NodeSpec {
  name?: string;
  runtime: {
    image: string;
    command?: string[];
    env?: Record<string, string>;
    user?: string;
    workdir?: string;
    pullPolicy?: 'missing' | 'always' | 'never';
  };
  cpu?: { cores: number };
  memory?: { sizeGiB: number };
  gpu?: { count: number };
  network?: {
    ports?: PortSpec[];
    tailscale?: boolean;
    tailscaleAuthKey?: string;
  };
  labels?: Record<string, string>;
  volumes?: VolumeSpec[];
}

/** A spec for `restore`: the image comes from the snapshot. */
export type RestoreSpec = Omit<NodeSpec, 'runtime'> & { runtime?: Omit<NodeSpec['runtime'], 'image'> };

export interface Endpoint {
  type: 'tcp' | 'udp' | 'docker-internal';
  host: string;
  port: number;
  containerPort?: number;
  url?: string;
}

export type NodeStatus = 'starting' | 'running' | 'paused' | 'stopping' | 'stopped' | 'terminated';

export interface Node {
  externalId: string;
  name: string;
  nodeId: string;
  image: string;
  status: NodeStatus;
  startedAt?: Date;
  endpoints: Endpoint[];
  labels: Record<string, string>;
  [key: string]: unknown;
}

export interface ExecOptions {
  cwd?: string;
  env?: Record<string, string>;
  user?: string;
  timeoutMs?: number;
  /** Stream output as it comes (implied by `onOutput`). */
  stream?: boolean;
  encoding?: 'utf8' | 'base64';
  /** Buffered mode: the most bytes of each stream kept; the rest is counted in `truncated` (default config.maxOutputBytes). */
  maxOutputBytes?: number;
  /** Receives each output chunk when streaming. */
  onOutput?: (chunk: OutputChunk) => void;
  /** Aborting sends `$/cancelRequest` and rejects the call with an AbortError. */
  signal?: AbortSignal;
}

export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  /** UTF-8 text, or base64 when `encoding: "base64"`. */
  data: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** Bytes dropped past `maxOutputBytes`, per stream; only when some were. */
  truncated?: OutputTruncation;
  [key: string]: unknown;
}

/** Bytes of output dropped past `maxOutputBytes`, per stream. */
export interface OutputTruncation {
  stdout: number;
  stderr: number;
}

export interface ResourceSnapshot {
  cpuPercent: number;
  memoryUsedMiB: number;
  memoryLimitMiB?: number;
  sampledAt?: Date;
  [key: string]: unknown;
}

export interface InspectResult {
  status: NodeStatus;
  startedAt?: Date;
  finishedAt?: Date;
  exitCode?: number;
  oomKilled?: boolean;
  error?: string;
  resources?: ResourceSnapshot;
  endpoints: Endpoint[];
  [key: string]: unknown;
}

export interface SnapshotRef {
  provider: 'docker' | string;
  /** The image id, "sha256:…". */
  externalId: string;
  createdAt: Date;
  type: 'filesystem';
  image?: string;
  /** Mount targets whose data the snapshot does not hold. */
  excludedVolumes?: string[];
  [key: string]: unknown;
}

export interface HealthResult {
  healthy: boolean;
  latencyMs: number;
  message?: string;
  engine?: { version: string; apiVersion: string; os: string; arch: string };
  [key: string]: unknown;
}

export interface ResourceUsage {
  cpuPercent: number;
  memoryUsedMiB: number;
  memoryLimitMiB: number;
  networkRxBytes: number;
  networkTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
  timestamp: Date;
  [key: string]: unknown;
}

export interface FileContent {
  content: string;
  encoding: 'utf8' | 'base64';
  size: number;
  mode: number;
  modifiedAt: Date;
  sha256: string;
  [key: string]: unknown;
}

export interface FileEntry {
  name: string;
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  mode: number;
  modifiedAt: Date;
  linkTarget?: string;
  [key: string]: unknown;
}

export type NodeEvent = NodeStateEvent | NodeResyncEvent;

export interface NodeStateEvent {
  requestId?: number | string;
  externalId: string;
  nodeId: string;
  action: 'start' | 'die' | 'oom' | 'stop' | 'pause' | 'unpause' | 'destroy' | 'restart';
  exitCode?: number;
  time: Date;
  [key: string]: unknown;
}

/** Events may have been missed (a reconnect, an overflow, a worker that fell behind): reconcile with `nodes`. */
export interface NodeResyncEvent {
  requestId?: number | string;
  action: 'resync';
  reason: string;
  /** Events the worker itself dropped, when any. */
  dropped?: number;
  /** Every managed node now, as `list` answers. */
  nodes: Node[];
  time: Date;
  [key: string]: unknown;
}

export interface PullProgress {
  requestId: number | string;
  image: string;
  status: string;
  id?: string;
  current?: number;
  total?: number;
}

// ── Extensions ────────────────────────────────────────────────────────

export interface NetworkExtension {
  /** The URL of a port: `http://localhost:<hostPort>` (scope "host") or `http://<name>:<port>` (scope "internal"). */
  getUrl(port: number, opts?: { protocol?: 'http' | 'https' | 'tcp'; scope?: 'host' | 'internal' }): Promise<string>;
}

export interface FilesExtension {
  read(path: string, opts?: { encoding?: 'utf8' | 'base64'; offset?: number; length?: number }): Promise<FileContent>;
  /** Bytes (`Uint8Array`/`Buffer`) are sent as base64. */
  write(path: string, content: string | Uint8Array, opts?: { encoding?: 'utf8' | 'base64'; mode?: number; createParents?: boolean }): Promise<{ size: number; sha256: string }>;
  list(path: string): Promise<FileEntry[]>;
  remove(path: string, opts?: { recursive?: boolean }): Promise<void>;
  mkdir(path: string, opts?: { recursive?: boolean }): Promise<void>;
}

export interface MetricsExtension {
  getResourceUsage(): Promise<ResourceUsage>;
  streamMetrics(opts?: {
    intervalMs?: number;
    maxSamples?: number;
    onSample?: (sample: ResourceUsage) => void;
    signal?: AbortSignal;
  }): Promise<{ samples: number; reason: 'maxSamples' | 'stopped' }>;
}

export interface LogsExtension {
  get(opts?: { tail?: number | 'all'; since?: Date | string; timestamps?: boolean; maxOutputBytes?: number }): Promise<{
    stdout: string;
    stderr: string;
    truncated?: OutputTruncation;
  }>;
  follow(opts: {
    tail?: number | 'all';
    since?: Date | string;
    timestamps?: boolean;
    onOutput: (chunk: OutputChunk) => void;
    signal?: AbortSignal;
  }): Promise<{ reason: 'stopped' }>;
}

// ── Errors ────────────────────────────────────────────────────────────

export interface WorkerErrorData {
  provider: 'docker';
  status?: number;
  engineMessage?: string;
  field?: string;
  [key: string]: unknown;
}

/** An error the worker answered: message `[docker] <method> failed: <reason>`. */
export declare class DockerWorkerError extends Error {
  readonly name: 'DockerWorkerError';
  /** The JSON-RPC error code (-32602, -32000, -32004, …). */
  code: number;
  data?: WorkerErrorData | any;
  method?: string;
  constructor(message: string, code: number, data?: any, method?: string);
}

/** The worker exited while the call was in flight (or could not be started). */
export declare class WorkerExitedError extends Error {
  readonly name: 'WorkerExitedError';
  code: 'ERR_WORKER_EXITED';
  exitCode: number | null;
  signal: string | null;
  method?: string;
  constructor(message: string, exitCode: number | null, signal: string | null, method?: string);
}

// ── The provider ──────────────────────────────────────────────────────

export declare class DockerWorkerProvider {
  constructor(config?: DockerWorkerProviderConfig);

  readonly name: 'docker';
  /** Defaults (gpu = config.gpuAvailable ?? false) until `initialize` is answered, then the worker's. */
  capabilities: Capabilities;
  readonly config: DockerWorkerProviderConfig;
  /** The last `initialize` result. */
  workerInfo: {
    protocolVersion: string;
    provider: { name: 'docker'; version: string };
    capabilities: Capabilities;
    methods: string[];
    limits: { maxLineBytes: number };
    [key: string]: unknown;
  } | null;
  /** 'notification' (method, params), 'log' (line), 'exit' ({code, signal}), 'spawn' (pid), 'protocolError' (Error). */
  readonly events: EventEmitter;
  readonly workerPath: string;
  /** The running worker's pid, if any. */
  readonly workerPid: number | undefined;

  provision(spec: NodeSpec, opts?: { signal?: AbortSignal; onProgress?: (progress: PullProgress) => void }): Promise<Node>;
  exec(id: string, command: string[], opts?: ExecOptions): Promise<ExecResult>;
  inspect(id: string): Promise<InspectResult>;
  destroy(id: string): Promise<void>;
  stop(id: string, opts?: { timeoutSeconds?: number }): Promise<void>;
  start(id: string): Promise<void>;
  restart(id: string, opts?: { timeoutSeconds?: number }): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  snapshot(id: string, opts?: { tag?: string }): Promise<SnapshotRef>;
  restore(ref: SnapshotRef | (Omit<SnapshotRef, 'createdAt'> & { createdAt: Date | string }), spec?: RestoreSpec): Promise<Node>;
  /** Never throws. */
  healthCheck(): Promise<HealthResult>;
  /** Never throws; true sets `capabilities.gpu`. */
  detectGpu(): Promise<boolean>;
  list(labels?: Record<string, string>): Promise<Node[]>;
  subscribeEvents(opts: { onEvent: (event: NodeEvent) => void; signal?: AbortSignal }): Promise<unknown>;

  getExtension(id: string, name: 'network'): NetworkExtension;
  getExtension(id: string, name: 'files'): FilesExtension;
  getExtension(id: string, name: 'metrics'): MetricsExtension;
  getExtension(id: string, name: 'logs'): LogsExtension;
  getExtension(id: string, name: string): NetworkExtension | FilesExtension | MetricsExtension | LogsExtension | undefined;

  /** Starts and initializes the worker now; resolves with the `initialize` result. */
  connect(opts?: { signal?: AbortSignal }): Promise<NonNullable<DockerWorkerProvider['workerInfo']>>;
  /** One raw request (no date conversion); notifications with its id go to `onNotification`. */
  request(method: string, params?: Record<string, unknown>, opts?: {
    signal?: AbortSignal;
    onNotification?: (method: string, params: any) => void;
  }): Promise<any>;
  /** `shutdown`, end of stdin, wait for exit (SIGKILL after `closeTimeoutMs`). */
  close(): Promise<void>;
  /** The config sent in `initialize`. */
  workerConfig(): DockerProviderConfig;
}

export declare function defaultCapabilities(config: { gpuAvailable?: boolean }): Capabilities;
export declare function reviveDates<T = any>(value: T): T;
export declare class LineSplitter {
  constructor(onLine: (line: Buffer) => void);
  push(chunk: Buffer): void;
  end(): void;
}

export default DockerWorkerProvider;
