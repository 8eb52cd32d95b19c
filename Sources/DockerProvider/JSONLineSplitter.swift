import DockerEngine
import FoundationEssentials
import JSONRPC
import Logging
import Synchronization

/// Splits a byte stream of newline-delimited JSON into lines.
struct JSONLineSplitter {
    private var pending: [UInt8] = []

    mutating func feed(_ chunk: [UInt8]) -> [[UInt8]] {
        pending.append(contentsOf: chunk)
        var lines: [[UInt8]] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: 0x0A) {
            let line = Array(pending[start..<newline])
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { lines.append(line) }
            start = newline + 1
        }
        pending.removeFirst(start)
        return lines
    }
}
