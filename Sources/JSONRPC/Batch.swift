import Synchronization

/// Where a response goes: straight to the host, or into the batch it belongs to.
enum ResponseSink: Sendable {
    case direct
    case batch(BatchCollector, index: Int)

    func deliver(_ frame: consuming [UInt8], output: OutputChannel) {
        switch self {
        case .direct: output.send(consume frame)
        case .batch(let collector, let index): collector.add(frame, at: index, output: output)
        }
    }
}

/// Collects the responses of one batch and sends them as one array once all are in.
final class BatchCollector: Sendable {
    private struct State {
        var responses: [Int: [UInt8]] = [:]
        var expected: Int
    }
    private let state: Mutex<State>

    init(expected: Int) { state = Mutex(State(expected: expected)) }

    func add(_ frame: [UInt8], at index: Int, output: OutputChannel) {
        let complete: [UInt8]? = state.withLock { state in
            state.responses[index] = frame
            guard state.responses.count == state.expected else { return nil }
            var array: [UInt8] = [UInt8(ascii: "[")]
            for (offset, key) in state.responses.keys.sorted().enumerated() {
                if offset > 0 { array.append(UInt8(ascii: ",")) }
                array.append(contentsOf: state.responses[key] ?? [])
            }
            array.append(UInt8(ascii: "]"))
            return array
        }
        if let complete { output.send(complete) }
    }
}
