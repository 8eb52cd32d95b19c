// Type declarations for the openlattice-docker-worker host adapter (index.js).
// The wire shapes are specified in ../README.md and ../openrpc.json; dates arrive here as `Date`s.

import { EventEmitter } from 'node:events';

export declare const PROTOCOL_VERSION: '1.1';

// ── Config ────────────────────────────────────────────────────────────

/** The worker's own config (sent in `initialize`). Unset fields come from the environment, then defaults. */
export interface DockerProviderConfig {
  /** DOCKER_HOST syntax: `unix:///var/run/docker.sock` (default), `tcp://host:2375`. */
  host?: string;
  /** Engine API version such as "1.41"; negotiated with `/_ping` when unset. */
  apiVersion?: string;
  /** Docker network new containers join (default: the engine's default bridge). */
  network?: string;
  /** Labels added to every container after the spec's labels; no `openlattice.*` key (reserved for the worker). */
  defaultLabels?: Record<string, string>;
  /** Whether GPUs may be requested (default false). */
  gpuAvailable?: boolean;
  /** Repository snapshots are committed to (default "openlattice-snapshot"). */
  snapshotRepository?: string;
  /** When input ends without `shutdown` (the host died): "destroy" this session's nodes, or "keep" them (default). */
  onHostExit?: 'keep' | 'destroy';
  /** `reap` also removes this owner's snapshots older than this (seconds). */
  snapshotRetentionSeconds?: number;
  /**
   * Names this worker instance: every container, volume and snapshot it makes carries
   * `openlattice.owner=<ownerId>`, and every method sees and touches only those (others are
   * -32004 "no such node", `list` leaves them out, `restore` of another owner's snapshot is -32004).
   */
  ownerId?: string;
  /** The security policy nodes are held to (protocol 1.1; also the worker's `--policy FILE`). */
  policy?: SecurityPolicy;
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

/**
 * The operator's security policy. Every member optional; absent members keep the default behaviour.
 * A spec asking more than it allows is refused with -32602 naming the field (and `policy.<member>`
 * in the message) before any engine call; `spec.security` may tighten it, never loosen it.
 */
export interface SecurityPolicy {
  /** Host bind mounts: "any" (default), "none", or allowed host path prefixes (whole components, no `..`). */
  bindMounts?: 'any' | 'none' | string[];
  /** Host address published ports bind to, e.g. "127.0.0.1" (default: every interface). */
  publishAddress?: string;
  /** `HostConfig.PidsLimit` of every node (≥ 1). */
  pidsLimit?: number;
  /** Capabilities every node drops, e.g. ["ALL"]. */
  capDrop?: string[];
  /** The capabilities a node may add (`spec.security.capAdd`, tailscale's NET_ADMIN); absent: any. */
  capAdd?: string[];
  /** `no-new-privileges` on every node. */
  noNewPrivileges?: boolean;
  /** Read-only root filesystem on every node, with a writable tmpfs on /tmp. */
  readOnlyRootfs?: boolean;
  /** OCI runtime of every node, e.g. "runsc". */
  runtime?: string;
  /** User of nodes whose spec names none, e.g. "65534:65534". */
  user?: string;
  /** Network modes a node may use (`spec.network.mode`, else `network`, else "default"); absent: any. */
  networkModes?: string[];
  /** Most CPU cores a node may ask; the limit of a node that asks none. */
  maxCpuCores?: number;
  /** Most memory (GiB) a node may ask; the limit of a node that asks none. */
  maxMemoryGiB?: number;
  /** Whether `files.write` may set mode bits beyond 0o777 (setuid, setgid, sticky); default false. */
  allowSpecialModes?: boolean;
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
  /** Named volume (created if missing, survives destroy); a path starting with "/" is a host bind mount (policy.bindMounts); absent: an anonymous volume. */
  source?: string;
  target: string;
  readOnly?: boolean;
}

export interface NodeSpec {
  name?: string;
  runtime: {
    /** A Docker image reference, `[domain[:port]/]name[:tag][@digest]`; anything else is -32602. */
    image: string;
    command?: string[];
    env?: Record<string, string>;
    /** Env whose values never reach the engine's view; the main process and every exec see them. No NUL. */
    secretEnv?: Record<string, string>;
    user?: string;
    workdir?: string;
    pullPolicy?: 'missing' | 'always' | 'never';
    /** Run the engine's init as PID 1 (reaps orphaned children). */
    init?: boolean;
  };
  cpu?: { cores: number };
  memory?: { sizeGiB: number };
  gpu?: { count: number };
  network?: {
    ports?: PortSpec[];
    tailscale?: boolean;
    tailscaleAuthKey?: string;
    /** `HostConfig.NetworkMode`: "none", "bridge", "host" or a network name (within policy.networkModes). */
    mode?: string;
  };
  /** No `openlattice.*` key except `openlattice.test`: those are the worker's own. */
  labels?: Record<string, string>;
  volumes?: VolumeSpec[];
  /** The node's own security settings: they may tighten the policy, never loosen it. */
  security?: {
    capAdd?: string[];
    capDrop?: string[];
    pidsLimit?: number;
    noNewPrivileges?: boolean;
    readOnlyRootfs?: boolean;
  };
  /** When the node ends by itself. */
  lifetime?: Lifetime;
  /** What must hold before `provision` answers. */
  readiness?: Readiness;
}

export interface Lifetime {
  /** Seconds from provision. */
  ttlSeconds?: number;
  /** Seconds since the node's last activity through the worker. */
  idleSeconds?: number;
  /** Default "destroy". */
  onExpire?: 'stop' | 'destroy';
}

export interface Readiness {
  tcpPort?: number;
  http?: { port: number; path?: string; status?: number };
  logLine?: string;
  exec?: string[];
  healthcheck?: boolean;
  /** Default 60000. */
  timeoutMs?: number;
  /** Default 200. */
  intervalMs?: number;
  /** Leave the node running when the conditions do not hold in time (default: remove it). */
  keepOnTimeout?: boolean;
}

export interface LifetimeInfo {
  expiresAt?: Date;
  ttlExpiresAt?: Date;
  idleSeconds?: number;
  onExpire?: 'stop' | 'destroy';
  [key: string]: unknown;
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
  /** Receives each output chunk when streaming. */
  onOutput?: (chunk: OutputChunk) => void;
  /** Aborting sends `$/cancelRequest` and rejects the call with an AbortError. */
  signal?: AbortSignal;
  /** Protocol 1.1: keep stdin open for `exec.input` (see `startExec`). */
  stdin?: boolean;
  /** Protocol 1.1: run on a pseudo-terminal of this size (all output arrives as stdout). */
  tty?: { rows: number; cols: number };
}

/** A running command started with `startExec` (protocol 1.1). */
export interface ExecHandle {
  /** The exec request's id, once sent. */
  readonly requestId: number | undefined;
  /** Writes to the command's stdin: a string as UTF-8, bytes as base64 (binary-safe). */
  sendStdin(data: string | Uint8Array): void;
  /** Closes the command's stdin (`exec.input` with `eof: true`). */
  closeStdin(): void;
  /** Resizes the command's terminal (`exec.resize`). */
  resize(rows: number, cols: number): void;
  /** Cancels the call: the worker kills every process the command started; `wait()` rejects with an AbortError. */
  kill(): void;
  /** The result when the command ends. */
  wait(): Promise<ExecResult>;
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
  [key: string]: unknown;
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
  /** When the node's lifetime ends at the latest, if one is armed. */
  expiresAt?: Date;
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
  /** Bytes (snapshots.list). */
  size?: number;
  /** The node it was taken of (snapshots.list). */
  nodeId?: string;
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

export interface NodeEvent {
  requestId?: number | string;
  externalId: string;
  nodeId: string;
  action: 'start' | 'die' | 'oom' | 'stop' | 'pause' | 'unpause' | 'destroy' | 'restart' | 'expired';
  exitCode?: number;
  /** With `expired`: what was done to the node. */
  onExpire?: 'stop' | 'destroy';
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
    /** Milliseconds between samples, at least 1000 (the engine samples once a second); default 1000. */
    intervalMs?: number;
    maxSamples?: number;
    onSample?: (sample: ResourceUsage) => void;
    signal?: AbortSignal;
  }): Promise<{ samples: number; reason: 'maxSamples' | 'stopped' }>;
}

export interface LogsExtension {
  get(opts?: { tail?: number | 'all'; since?: Date | string; timestamps?: boolean }): Promise<{ stdout: string; stderr: string }>;
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
    /** The security policy in force ({} when none; protocol 1.1). */
    policy?: SecurityPolicy;
    /** The owner this worker acts for, when set (protocol 1.1). */
    ownerId?: string;
    [key: string]: unknown;
  } | null;
  /** 'notification' (method, params), 'log' (line), 'exit' ({code, signal}), 'spawn' (pid), 'protocolError' (Error). */
  readonly events: EventEmitter;
  readonly workerPath: string;
  /** The running worker's pid, if any. */
  readonly workerPid: number | undefined;

  provision(spec: NodeSpec, opts?: { signal?: AbortSignal; onProgress?: (progress: PullProgress) => void }): Promise<Node>;
  exec(id: string, command: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Starts a command and returns its handle at once; `stdin` defaults to true. */
  startExec(id: string, command: string[], opts?: ExecOptions): ExecHandle;
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
  /** `lifetime.set`: a member left out keeps its value, null removes it. */
  setLifetime(id: string, lifetime: { ttlSeconds?: number | null; idleSeconds?: number | null; onExpire?: 'stop' | 'destroy' }): Promise<LifetimeInfo>;
  /** `snapshots.list`. */
  listSnapshots(labels?: Record<string, string>): Promise<SnapshotRef[]>;
  /** `snapshots.delete`: rejects with code -32009 while a node was created from it. */
  deleteSnapshot(ref: { externalId: string }): Promise<void>;

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
