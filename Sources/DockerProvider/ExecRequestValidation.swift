import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

extension ExecRequest {
    /// Checks the params before any engine call.
    public func validate() throws {
        guard !command.isEmpty else { throw InvalidParams(field: "command", reason: "must not be empty") }
        if command.contains(where: { $0.contains("\0") }) { throw InvalidParams(field: "command", reason: "must not contain NUL") }
        let options = self.options ?? ExecOptions()
        if let timeout = options.timeoutMs, timeout <= 0 { throw InvalidParams(field: "options.timeoutMs", reason: "must be positive") }
        if let tty = options.tty {
            if !(1...65535).contains(tty.rows) { throw InvalidParams(field: "options.tty.rows", reason: "must be between 1 and 65535") }
            if !(1...65535).contains(tty.cols) { throw InvalidParams(field: "options.tty.cols", reason: "must be between 1 and 65535") }
        }
        if let limit = options.maxOutputBytes, limit < 0 {
            throw InvalidParams(field: "options.maxOutputBytes", reason: "must be a non-negative number of bytes")
        }
        if options.background == true {
            if options.tty != nil {
                throw InvalidParams(field: "options.tty", reason: "cannot be combined with background (a terminal ends with the worker)")
            }
            if options.stream != nil {
                throw InvalidParams(field: "options.stream", reason: "cannot be combined with background (use exec.attach)")
            }
            if options.timeoutMs != nil {
                throw InvalidParams(field: "options.timeoutMs", reason: "cannot be combined with background (use exec.kill)")
            }
            if options.maxOutputBytes != nil {
                throw InvalidParams(
                    field: "options.maxOutputBytes", reason: "cannot be combined with background (its buffer keeps 4 MiB per stream)")
            }
        }
        if let cwd = options.cwd, !cwd.hasPrefix("/") { throw InvalidParams(field: "options.cwd", reason: "must be an absolute path") }
        for (key, value) in options.env?.entries ?? [] {
            if let problem = Validation.envKeyProblem(key) { throw InvalidParams(field: "options.env.\(key)", reason: problem) }
            if value.contains("\0") { throw InvalidParams(field: "options.env.\(key)", reason: "must not contain NUL") }
        }
    }
}
