import DockerEngine

/// The start of an exec's stdout, held while it may still be the engine's complaint about starting
/// the exec rather than the program's output.
///
/// Docker (20.10+, with runc or crun) writes such a complaint ("unable to find user …", "OCI
/// runtime exec failed …") into the exec's multiplexed stream as one stdout frame ending in CRLF
/// (`err.Error() + "\r\n"`), and nothing else; the exec then exits 126 or 127 and its record has no
/// pid. The held bytes are released as the program's stdout as soon as they cannot be a complaint:
/// more output arrives, or the engine's record of the exec shows a pid (the program started).
/// Podman instead refuses the start with HTTP 500 (see `failedToStart` of the readers).
struct EngineComplaintHold {
    /// How the engine's complaints begin (Docker, runc, crun, Podman).
    static let prefixes: [[UInt8]] = [
        "OCI runtime", "unable to find user", "unable to find group", "unable to start container process", "exec failed",
        "Error: ", "container ", "cannot exec", "failed to ",
    ].map { Array($0.utf8) }

    /// The longest complaint held back, in bytes.
    static let limit = 4096

    /// Whether `bytes`, the exec's whole output so far, could still be (the start of) an engine complaint.
    static func couldBeComplaint(_ bytes: [UInt8]) -> Bool {
        guard bytes.count <= limit else { return false }
        guard prefixes.contains(where: { bytes.starts(with: $0) || $0.starts(with: bytes) }) else { return false }
        // One line: its only line feed, if any, ends it after a carriage return.
        guard let newline = bytes.firstIndex(of: 0x0A) else { return true }
        return newline == bytes.count - 1 && newline > 0 && bytes[newline - 1] == 0x0D
    }

    /// What becomes of a piece of output.
    enum Step {
        /// Held: it may be (part of) the complaint.
        case hold
        /// Output as it is: nothing is held any more.
        case pass
        /// Not a complaint after all: these held bytes are the program's stdout and go first.
        case release([UInt8])
    }

    private(set) var held: [UInt8] = []
    /// Whether output is still being held back.
    private(set) var holding = true

    /// Decides what becomes of `bytes` of `stream`, the next piece of the exec's output.
    mutating func step(_ stream: StreamDemuxer.Stream, _ bytes: ArraySlice<UInt8>) -> Step {
        guard holding else { return .pass }
        if stream == .stdout, Self.couldBeComplaint(held + bytes) {
            held.append(contentsOf: bytes)
            return .hold
        }
        return .release(stop())
    }

    /// Stops holding (the program started, or the engine said why it did not) and returns what was held.
    mutating func stop() -> [UInt8] {
        holding = false
        defer { held = [] }
        return held
    }

    /// Once the exec has ended: what was held and where it belongs. The engine's complaint goes to
    /// stderr (its CRLF made LF) when the exec never started (`neverStarted`: its record has no pid)
    /// and exited 126 or 127 with nothing but that one line; otherwise it was the program's stdout.
    mutating func end(exitCode: Int, neverStarted: Bool) -> (stream: StreamDemuxer.Stream, bytes: [UInt8])? {
        let bytes = stop()
        guard !bytes.isEmpty else { return nil }
        let complete = bytes.count >= 2 && bytes[bytes.count - 2] == 0x0D && bytes[bytes.count - 1] == 0x0A
        guard neverStarted, exitCode == 126 || exitCode == 127, complete, Self.couldBeComplaint(bytes) else {
            return (.stdout, bytes)
        }
        return (.stderr, Array(bytes.dropLast(2)) + [0x0A])
    }
}
