import Foundation

/// What a finished child process left: its exit status and everything it wrote.
package struct ProcessOutput: Sendable {
    /// The exit status (-1 when it could not be started).
    package var status: Int32
    /// Its standard output.
    package var stdout: Data
    /// Its standard error, as text.
    package var stderr: String
}

/// Runs `arguments` (a program found on `PATH` through `/usr/bin/env`, then its arguments) to its
/// end: `input` is written to its stdin from a helper thread and stdin is then closed, stdout and
/// stderr are read at once (so a chatty child never blocks on a full pipe), in `directory` if given.
/// Never throws: a child that cannot start gives status -1 and the reason on stderr.
@discardableResult
package func runProcess(_ arguments: [String], input: Data? = nil, in directory: URL? = nil) -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.currentDirectoryURL = directory
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    do { try process.run() } catch { return ProcessOutput(status: -1, stdout: Data(), stderr: "\(error)") }
    let writer = Thread {
        if let input { stdin.fileHandleForWriting.write(input) }
        try? stdin.fileHandleForWriting.close()
    }
    writer.start()
    let errors = StderrBuffer()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        let data = stderr.fileHandleForReading.readDataToEndOfFile()
        errors.withLock { $0 = data }
        done.signal()
    }
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    process.waitUntilExit()
    return ProcessOutput(
        status: process.terminationStatus, stdout: output, stderr: errors.withLock { String(decoding: $0, as: UTF8.self) })
}

/// Hex SHA-256 using the system's sha256sum (keeps the tests free of crypto dependencies).
package func sha256Hex(_ data: Data) -> String {
    String(String(decoding: runProcess(["sha256sum"], input: data).stdout, as: UTF8.self).prefix(64))
}

extension Process {
    /// Waits for the process to exit, polling every 5 ms; returns its termination status.
    /// - Throws: `HarnessError.timeout` when it still runs after `timeout`.
    package func waitForExit(timeout: Duration = .seconds(5)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            guard ContinuousClock.now < deadline else { throw HarnessError.timeout("the worker did not exit within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
        return terminationStatus
    }
}
