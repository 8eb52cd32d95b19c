// The parts of the Engine API's exec bodies the worker reads and writes (`/exec/…`).
// Property names follow Swift; coding keys follow the engine (see swagger.yaml).

/// `POST /containers/{id}/exec`.
public struct ExecCreateBody: Encodable, Sendable {
    /// `Cmd`: the command as argv.
    public var cmd: [String]
    /// `Env`: extra environment as `"K=V"` strings, in order.
    public var env: [String]?
    /// `WorkingDir`: the working directory; nil: the container's.
    public var workingDir: String?
    /// `User`: `user[:group]` by name or id; nil: the container's.
    public var user: String?
    /// `AttachStdout`: attach the command's stdout.
    public var attachStdout = true
    /// `AttachStderr`: attach the command's stderr.
    public var attachStderr = true
    /// `AttachStdin`: attach the command's stdin.
    public var attachStdin: Bool?
    /// `Tty`: run the command on a pseudo-terminal.
    public var tty: Bool?
    /// A body for `cmd` that attaches stdout and stderr.
    public init(cmd: [String]) { self.cmd = cmd }
    enum CodingKeys: String, CodingKey {
        case cmd = "Cmd", env = "Env", workingDir = "WorkingDir", user = "User", attachStdout = "AttachStdout"
        case attachStderr = "AttachStderr", attachStdin = "AttachStdin", tty = "Tty"
    }
}

/// `GET /exec/{id}/json`.
public struct ExecInspect: Decodable, Sendable {
    /// `Running`: whether the exec runs.
    public var running: Bool
    /// `ExitCode`: its exit code once it ended; nil while it runs.
    public var exitCode: Int?
    /// `Pid`: its process's pid on the host; 0 when it never started.
    public var pid: Int?
    /// The full id of the container the exec runs in.
    public var containerID: String?
    /// What the exec runs, as it was created.
    public var processConfig: ProcessConfig?
    enum CodingKeys: String, CodingKey {
        case running = "Running", exitCode = "ExitCode", pid = "Pid", containerID = "ContainerID", processConfig = "ProcessConfig"
    }

    /// The exec's command line and user (`entrypoint` is the first word of `Cmd`).
    public struct ProcessConfig: Decodable, Sendable {
        /// `entrypoint`: the program.
        public var entrypoint: String?
        /// `arguments`: the arguments after it.
        public var arguments: [String]?
        /// `user`: the user it runs as; empty: the container's.
        public var user: String?
        /// `tty`: whether it runs on a pseudo-terminal.
        public var tty: Bool?
    }
}
