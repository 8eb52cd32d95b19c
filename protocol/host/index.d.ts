// Type declarations for the openlattice-docker-worker host adapter (index.js).
// The wire shapes are specified in ../README.md and ../openrpc.json; dates arrive here as `Date`s.

import { EventEmitter } from 'node:events';

export declare const PROTOCOL_VERSION: '1.1';

// ── Config ────────────────────────────────────────────────────────────

/**
 * The worker's own config (sent in `initialize`, openrpc.json `Config`). Unset fields come from the
 * worker's flags, then the environment, then defaults. Exactly these members: a misspelt one is a
 * type error here and a TypeError from the constructor.
 */
export interface DockerProviderConfig {
  /** DOCKER_HOST syntax: `unix:///var/run/docker.sock` (default), `tcp://host:2376`, `ssh://[user@]host[:port]`. */
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
  /**
   * The worker's timeout of one non-streaming engine request, of a stream's headers and of helper
   * commands (ms, default 60000), and the adapter's default deadline of a call (see `CallOptions.timeoutMs`).
   */
  requestTimeoutMs?: number;
  /** A stream that sends nothing this long (logs without follow, pulls, file reads) fails -32008 (ms, default 30000). */
  streamStallMs?: number;
  /** Default bound of a buffered exec's and a logs call's output, per stream (bytes, default 16 MiB). */
  maxOutputBytes?: number;
  /** TLS client material (file paths) for a `tcp://` engine; `verify` defaults to true. */
  tls?: { ca?: string; cert?: string; key?: string; verify?: boolean };
  /** Whether containers without `openlattice.managed=true` may be acted on (default false: -32004). */
  manageUnlabeled?: boolean;
  /** Names this worker instance: its containers, volumes and snapshots carry `openlattice.owner=<ownerId>`; `reap` needs it. */
  ownerId?: string;
  /** Registry credentials by registry host: `{ username, password }` or `{ auth }` (base64 of user:password). */
  registryAuth?: Record<string, { username?: string; password?: string; auth?: string }>;
  /** Extra `ssh` arguments for an `ssh://` engine, one word each: `["-i", "/path/key", "-o", "StrictHostKeyChecking=yes"]`. */
  sshOptions?: string[];
  /** When the host goes away without `shutdown` (stdin/stdout closed, SIGINT, SIGHUP): "destroy" this session's nodes, or "keep" them (default). */
  onHostExit?: 'keep' | 'destroy';
  /** `reap` also removes this owner's snapshots older than this (seconds). */
  snapshotRetentionSeconds?: number;
  /** The security policy nodes are held to (protocol 1.1; also the worker's `--policy FILE`). */
  policy?: SecurityPolicy;
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

/**
 * What every call takes in its last argument. `timeoutMs` bounds the wait for the answer (default
 * `config.requestTimeoutMs`, 60 s; no default deadline for provision/restore, exec without
 * `timeoutMs`, and the streams; `null` or 0: none): on expiry the adapter sends `$/cancelRequest`
 * and rejects with a `WorkerTimeoutError`. Aborting `signal` does the same with an AbortError.
 */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number | null;
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

/** A spec for `restore`: the image comes from the snapshot (a `runtime.image` is ignored). */
export type RestoreSpec = Omit<NodeSpec, 'runtime'> & { runtime?: Partial<NodeSpec['runtime']> };

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
  /**
   * The command's own limit (ms): the worker kills it and answers `timedOut: true`. The call's
   * deadline is then `timeoutMs + requestTimeoutMs`; without it the call has none.
   */
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
  /** Protocol 1.1: keep stdin open for `exec.input` (see `startExec`). */
  stdin?: boolean;
  /** Protocol 1.1: run on a pseudo-terminal of this size (all output arrives as stdout). */
  tty?: { rows: number; cols: number };
  /**
   * Protocol 1.1: answer at once with `{execId}` and let the command run on (use `startBackground`,
   * which returns a handle). Not with `tty`, `stream`, `timeoutMs` or `maxOutputBytes`.
   */
  background?: boolean;
}

/** Options of `startBackground` (protocol 1.1). */
export interface BackgroundOptions extends CallOptions {
  cwd?: string;
  env?: Record<string, string>;
  user?: string;
  /** How `exec.attach` sends the output (default utf8). */
  encoding?: 'utf8' | 'base64';
  /** Keep stdin open for `sendStdin` (through `exec.attach` with `stdin: true`). */
  stdin?: boolean;
}

/** Options of `attachExec` (protocol 1.1). No deadline unless `timeoutMs` is given. */
export interface AttachOptions extends CallOptions {
  /** Byte offset in the output (stdout and stderr counted together); default: all still buffered. */
  offset?: number;
  /** Route this attach's `sendStdin`/`closeStdin` to the command (started with `stdin: true`). */
  stdin?: boolean;
  /** Receives each output chunk, with its offset. */
  onOutput?: (chunk: OutputChunk) => void;
}

/** A following of a background command's output (`exec.attach`, protocol 1.1). */
export interface AttachHandle {
  /** The attach request's id, once sent. */
  readonly requestId: number | undefined;
  /** Writes to the command's stdin (attach with `stdin: true`). */
  sendStdin(data: string | Uint8Array): void;
  /** Closes the command's stdin. */
  closeStdin(): void;
  /** Cancels the attach; the command runs on. `wait()` rejects with an AbortError. */
  detach(): void;
  /** The command's result when it ends (`truncated`: bytes its buffer dropped). */
  wait(): Promise<ExecResult>;
}

/** A background command (protocol 1.1): it outlives the call, the adapter and the worker. */
export interface BackgroundCommand {
  readonly execId: string;
  /** Follows its output (see `attachExec`). */
  attach(opts?: AttachOptions): AttachHandle;
  /** Its result when it ends; with `onOutput`, its output from offset 0 first. */
  wait(opts?: AttachOptions): Promise<ExecResult>;
  /** Writes to its stdin (started with `stdin: true`). */
  sendStdin(data: string | Uint8Array): void;
  /** Closes its stdin. */
  closeStdin(): void;
  /** Signals its whole process tree (default SIGKILL). */
  kill(signal?: ExecSignal, opts?: CallOptions): Promise<void>;
}

/** A signal for `exec.kill`: a name or a number (1-64). */
export type ExecSignal = 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP' | number;

/** One command in `exec.list` (protocol 1.1). */
export interface ExecListEntry {
  execId: string;
  command: string[];
  running: boolean;
  /** Once it ended. */
  exitCode?: number;
  startedAt: Date;
  background: boolean;
  /** Whether this worker holds its output for `exec.attach` (false: an earlier worker started it). */
  replayable: boolean;
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
  /** `exec.attach` only: the byte offset of `data` in the command's output. */
  offset?: number;
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
  /** The snapshot's image reference, `<snapshotRepository>:<tag>`. */
  image: string;
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
  /** Absent when the node has no memory limit the engine reports. */
  memoryLimitMiB?: number;
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
  /** Absent when the engine does not report it. */
  modifiedAt?: Date;
  sha256: string;
  [key: string]: unknown;
}

export interface FileWriteResult {
  size: number;
  sha256: string;
  [key: string]: unknown;
}

export interface StreamMetricsResult {
  samples: number;
  reason: 'maxSamples' | 'stopped';
  [key: string]: unknown;
}

export interface ReapResult {
  /** Full ids of the containers removed, sorted. */
  removed: string[];
  /** With `config.snapshotRetentionSeconds`: the snapshot image ids removed. */
  snapshots?: string[];
  /** This owner's named volumes that provisions created and no container uses, removed. */
  removedVolumes: string[];
  [key: string]: unknown;
}

/** The `initialize` result. */
export interface InitializeResult {
  protocolVersion: string;
  provider: { name: 'docker'; version: string; [key: string]: unknown };
  capabilities: Capabilities;
  methods: string[];
  limits: { maxLineBytes: number; [key: string]: unknown };
  /** The security policy in force ({} when none; protocol 1.1). */
  policy?: SecurityPolicy;
  /** The owner this worker acts for, when set (protocol 1.1). */
  ownerId?: string;
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

/** A `node.event`: a node's own event, `expired`, or `resync` (see NodeStateEvent and NodeResyncEvent). */
export interface NodeEvent {
  requestId: number | string;
  /** Absent with `resync`. */
  externalId?: string;
  nodeId?: string;
  action: 'start' | 'die' | 'oom' | 'stop' | 'pause' | 'unpause' | 'destroy' | 'restart' | 'expired' | 'resync';
  exitCode?: number;
  /** With `expired`: what was done to the node. */
  onExpire?: 'stop' | 'destroy';
  /** With `resync`: every managed node now, as `list` answers. */
  nodes?: Node[];
  /** With `resync`: why. */
  reason?: string;
  /** With `resync` after a buffer overflow: events the worker dropped. */
  dropped?: number;
  time: Date;
  [key: string]: unknown;
}

export interface NodeStateEvent {
  requestId: number | string;
  externalId: string;
  nodeId: string;
  action: 'start' | 'die' | 'oom' | 'stop' | 'pause' | 'unpause' | 'destroy' | 'restart' | 'expired';
  exitCode?: number;
  /** With `expired`: what was done to the node. */
  onExpire?: 'stop' | 'destroy';
  time: Date;
  [key: string]: unknown;
}

/** Events may have been missed (a reconnect, an overflow, a worker that fell behind): reconcile with `nodes`. */
export interface NodeResyncEvent {
  requestId: number | string;
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
  getUrl(port: number, opts?: CallOptions & { protocol?: 'http' | 'https' | 'tcp'; scope?: 'host' | 'internal' }): Promise<string>;
}

export interface FilesExtension {
  read(path: string, opts?: CallOptions & { encoding?: 'utf8' | 'base64'; offset?: number; length?: number }): Promise<FileContent>;
  /** Bytes (`Uint8Array`/`Buffer`) are sent as base64. Over the worker's line limit: `RequestTooLargeError`, nothing sent. */
  write(path: string, content: string | Uint8Array, opts?: CallOptions & { encoding?: 'utf8' | 'base64'; mode?: number; createParents?: boolean }): Promise<FileWriteResult>;
  list(path: string, opts?: CallOptions): Promise<FileEntry[]>;
  remove(path: string, opts?: CallOptions & { recursive?: boolean }): Promise<void>;
  mkdir(path: string, opts?: CallOptions & { recursive?: boolean }): Promise<void>;
  /** Many files in one archive upload (protocol 1.1); bytes are sent as base64. */
  writeMany(files: FileToWrite[], opts?: CallOptions & { createParents?: boolean }): Promise<WrittenFile[]>;
  /**
   * Uploads bytes or a stream (protocol 1.1): chunk by chunk, each answer awaited (a stream is
   * pulled only as fast as the engine takes it), then landed at `path` whole; any failure cancels
   * the upload and leaves `path` as it was. `format: 'tar'` extracts a tar stream under `path`.
   */
  upload(
    path: string,
    source: Uint8Array | AsyncIterable<Uint8Array | string>,
    opts?: CallOptions & {
      mode?: number;
      size?: number;
      format?: 'file' | 'tar';
      chunkBytes?: number;
      /** `files.progress` of an upload over 8 MiB, at most about four a second. */
      onProgress?: (progress: TransferProgress) => void;
    },
  ): Promise<FileWriteResult>;
  /**
   * A file, or a folder as a tar stream, read with backpressure (protocol 1.1). Emits 'result'
   * (`DownloadResult`) before its end; fails with the request's error. No deadline unless `timeoutMs`.
   */
  download(
    path: string,
    opts?: CallOptions & { chunkBytes?: number; onProgress?: (progress: TransferProgress) => void },
  ): import('node:stream').Readable;
}

/** One file of `files.writeMany`. */
export interface FileToWrite {
  path: string;
  /** A string (utf8 unless `encoding` says base64) or bytes. */
  content: string | Uint8Array;
  encoding?: 'utf8' | 'base64';
  /** Permission bits, default 0o644. */
  mode?: number;
}

/** One file `files.writeMany` wrote: its path as given, size in bytes, hex SHA-256. */
export interface WrittenFile {
  path: string;
  size: number;
  sha256: string;
}

/** What `files.download` answers once all its bytes were sent. */
export interface DownloadResult {
  /** Bytes sent: the file's, or the tar stream's for a folder. */
  size: number;
  sha256: string;
  mode: number;
  type: 'file' | 'directory';
  /** `"tar"` for a folder. */
  format?: 'tar';
}

/** `files.progress`: a transfer over 8 MiB, at most about four a second. */
export interface TransferProgress {
  bytes: number;
  totalBytes?: number;
}

export interface MetricsExtension {
  getResourceUsage(opts?: CallOptions): Promise<ResourceUsage>;
  /** No deadline unless `timeoutMs` is given. Milliseconds between samples, at least 1000. */
  streamMetrics(opts?: CallOptions & {
    intervalMs?: number;
    maxSamples?: number;
    onSample?: (sample: ResourceUsage) => void;
  }): Promise<StreamMetricsResult>;
}

export interface LogsExtension {
  get(opts?: CallOptions & { tail?: number | 'all'; since?: Date | string; timestamps?: boolean; maxOutputBytes?: number }): Promise<{
    stdout: string;
    stderr: string;
    truncated?: OutputTruncation;
  }>;
  /** No deadline unless `timeoutMs` is given. */
  follow(opts: CallOptions & {
    tail?: number | 'all';
    since?: Date | string;
    timestamps?: boolean;
    onOutput: (chunk: OutputChunk) => void;
  }): Promise<{ reason: 'stopped' }>;
}

// ── Errors ────────────────────────────────────────────────────────────

export interface WorkerErrorData {
  /** "docker" on every error the provider reports (absent on protocol errors such as -32700). */
  provider?: 'docker';
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

/** A call not answered within its deadline; `$/cancelRequest` was sent for it. */
export declare class WorkerTimeoutError extends Error {
  readonly name: 'TimeoutError';
  code: 'ERR_WORKER_TIMEOUT';
  method: string;
  timeoutMs: number;
  constructor(message: string, method: string, timeoutMs: number);
}

/** A request longer than the worker's `limits.maxLineBytes`: refused before sending. */
export declare class RequestTooLargeError extends RangeError {
  readonly name: 'RequestTooLargeError';
  code: 'ERR_REQUEST_TOO_LARGE';
  method: string;
  bytes: number;
  maxLineBytes: number;
  constructor(message: string, method: string, bytes: number, maxLineBytes: number);
}

// ── The provider ──────────────────────────────────────────────────────

export declare class DockerWorkerProvider {
  constructor(config?: DockerWorkerProviderConfig);

  readonly name: 'docker';
  /** Defaults (gpu = config.gpuAvailable ?? false) until `initialize` is answered, then the worker's. */
  capabilities: Capabilities;
  readonly config: DockerWorkerProviderConfig;
  /** The last `initialize` result. */
  workerInfo: InitializeResult | null;
  /** 'notification' (method, params), 'log' (line), 'exit' ({code, signal}), 'spawn' (pid), 'protocolError' (Error). */
  readonly events: EventEmitter;
  readonly workerPath: string;
  /** The running worker's pid, if any. */
  readonly workerPid: number | undefined;

  /** No deadline unless `timeoutMs` is given (image pulls take as long as they take). */
  provision(spec: NodeSpec, opts?: CallOptions & { onProgress?: (progress: PullProgress) => void }): Promise<Node>;
  exec(id: string, command: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Starts a command and returns its handle at once; `stdin` defaults to true. */
  startExec(id: string, command: string[], opts?: ExecOptions): ExecHandle;
  /** Protocol 1.1: starts a background command (`exec` with `background: true`) and resolves with its handle. */
  startBackground(id: string, command: string[], opts?: BackgroundOptions): Promise<BackgroundCommand>;
  /** A handle for a background command started earlier (by this or another worker: attach needs this worker). */
  backgroundCommand(execId: string): BackgroundCommand;
  /** Protocol 1.1: `exec.attach`; returns its handle at once. */
  attachExec(execId: string, opts?: AttachOptions): AttachHandle;
  /** Protocol 1.1: `exec.kill` (default SIGKILL). */
  killExec(execId: string, signal?: ExecSignal, opts?: CallOptions): Promise<void>;
  /** Protocol 1.1: `exec.list`. */
  listExecs(id: string, opts?: CallOptions): Promise<ExecListEntry[]>;
  inspect(id: string, opts?: CallOptions): Promise<InspectResult>;
  destroy(id: string, opts?: CallOptions): Promise<void>;
  /** The default deadline allows for `timeoutSeconds` (10). */
  stop(id: string, opts?: CallOptions & { timeoutSeconds?: number }): Promise<void>;
  start(id: string, opts?: CallOptions): Promise<void>;
  restart(id: string, opts?: CallOptions & { timeoutSeconds?: number }): Promise<void>;
  pause(id: string, opts?: CallOptions): Promise<void>;
  resume(id: string, opts?: CallOptions): Promise<void>;
  snapshot(id: string, opts?: CallOptions & { tag?: string }): Promise<SnapshotRef>;
  /** No deadline unless `timeoutMs` is given, as `provision`. */
  restore(ref: SnapshotRef | (Omit<SnapshotRef, 'createdAt'> & { createdAt: Date | string }), spec?: RestoreSpec, opts?: CallOptions): Promise<Node>;
  /** Never throws. */
  healthCheck(opts?: CallOptions): Promise<HealthResult>;
  /** Never throws; true sets `capabilities.gpu`. */
  detectGpu(opts?: CallOptions): Promise<boolean>;
  list(labels?: Record<string, string>, opts?: CallOptions): Promise<Node[]>;
  /** Removes this `ownerId`'s nodes not in `keep` (ids, id prefixes or names), with their anonymous volumes. */
  reap(keep?: string[], opts?: CallOptions): Promise<ReapResult>;
  /** Until `signal` aborts; no deadline unless `timeoutMs` is given. */
  subscribeEvents(opts: CallOptions & { onEvent: (event: NodeEvent) => void }): Promise<unknown>;
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
  connect(opts?: { signal?: AbortSignal }): Promise<InitializeResult>;
  /**
   * One raw request (no date conversion); notifications with its id go to `onNotification`.
   * Rejects with `RequestTooLargeError` (not sent), `WorkerTimeoutError`, `DockerWorkerError`,
   * `WorkerExitedError` or an AbortError.
   */
  request(method: string, params?: Record<string, unknown>, opts?: CallOptions & {
    onNotification?: (method: string, params: any) => void;
  }): Promise<any>;
  /** `shutdown`, end of stdin, wait for exit (SIGKILL after `closeTimeoutMs`). */
  close(): Promise<void>;
  /** The config sent in `initialize`. */
  workerConfig(): DockerProviderConfig;
}

export declare function defaultCapabilities(config: { gpuAvailable?: boolean }): Capabilities;
export declare function reviveDates<T = any>(value: T): T;
/** `value` with unpaired surrogates in its strings and member names replaced by U+FFFD. */
export declare function toWellFormed<T = any>(value: T): T;
export declare class LineSplitter {
  constructor(onLine: (line: Buffer) => void);
  push(chunk: Buffer): void;
  end(): void;
}

export default DockerWorkerProvider;
