import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// Lifetimes: a node ends by itself `ttlSeconds` after provision, or `idleSeconds` after its last
// activity through the worker. The deadline lives on the container (the `openlattice.lifetime`
// label, and a file written by `lifetime.set`), so a later worker of the same owner re-arms it.

extension NodeSpec {
    /// `spec.lifetime`: `{ttlSeconds?, idleSeconds?, onExpire?: "stop" | "destroy"}` (seconds, 1…31536000).
    public struct Lifetime: Codable, Sendable {
        /// Seconds from `provision` (or `restore`) until the node ends, 1…31536000; nil: no TTL.
        public var ttlSeconds: Int?
        /// Seconds without activity through the worker until the node ends, 1…31536000; nil: never idle.
        public var idleSeconds: Int?
        /// What is done at expiry; nil: `.destroy`.
        public var onExpire: ExpiryAction?

        /// The label value recording this lifetime for node `nodeID`, the TTL counted from `start`.
        func label(nodeID: String, from start: Date) -> String {
            let record = LifetimeRecord(
                node: nodeID, expiresAt: ttlSeconds.map { Timestamp.format(start.addingTimeInterval(Double($0))) },
                idleSeconds: idleSeconds, onExpire: onExpire ?? .destroy)
            return record.json
        }

        /// Checks the bounds; field paths start at `prefix`.
        /// - Throws: ``InvalidParams`` naming the field.
        func validate(prefix: String) throws {
            for (name, value) in [("ttlSeconds", ttlSeconds), ("idleSeconds", idleSeconds)] {
                if let value, !(1...Self.maxSeconds).contains(value) {
                    throw InvalidParams(field: "\(prefix).\(name)", reason: "must be between 1 and \(Self.maxSeconds) seconds")
                }
            }
        }

        /// A year: longer lifetimes are no lifetime at all.
        static let maxSeconds = 31_536_000
    }

    /// What happens to a node whose lifetime ends.
    public enum ExpiryAction: String, Codable, Sendable {
        case stop, destroy
    }
}

/// A node's lifetime as recorded on its container (label or `lifetime.set` file), JSON.
struct LifetimeRecord: Codable, Sendable, Equatable {
    /// The `openlattice.node-id` it belongs to: a record inherited through a snapshot image names another node.
    var node: String
    /// RFC 3339 time the TTL ends, if any.
    var expiresAt: String?
    var idleSeconds: Int?
    var onExpire: NodeSpec.ExpiryAction

    var json: String { (try? encodeJSON(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}" }

    static func parse(_ text: String?) -> LifetimeRecord? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(LifetimeRecord.self, from: Data(text.utf8))
    }
}

/// `lifetime.set`: changes a node's lifetime. A member left out keeps its value, `null` removes it;
/// `ttlSeconds` counts from now.
public struct LifetimeSetRequest: RPCMethod {
    /// The method name, `"lifetime.set"`.
    public static let name = "lifetime.set"
    /// Answers ``LifetimeInfo``.
    public typealias Result = LifetimeInfo
    /// The node: its container id or name.
    public var externalId: String
    /// Seconds from now until the node ends, 1…31536000; `null`: no TTL.
    public var ttlSeconds: Setting<Int>
    /// Seconds without activity until the node ends, 1…31536000; `null`: never idle.
    public var idleSeconds: Setting<Int>
    /// What is done at expiry; nil: unchanged.
    public var onExpire: NodeSpec.ExpiryAction?

    /// A member that may be absent (unchanged), `null` (removed) or a value.
    public enum Setting<Value: Decodable & Sendable>: Sendable {
        case unchanged, removed, set(Value)
    }

    enum CodingKeys: String, CodingKey { case externalId, ttlSeconds, idleSeconds, onExpire }

    /// Reads `ttlSeconds` and `idleSeconds` telling absent from `null`.
    /// - Throws: `DecodingError` for a missing `externalId` or a member of the wrong type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        externalId = try container.decode(String.self, forKey: .externalId)
        func setting(_ key: CodingKeys) throws -> Setting<Int> {
            guard container.contains(key) else { return .unchanged }
            if try container.decodeNil(forKey: key) { return .removed }
            return .set(try container.decode(Int.self, forKey: key))
        }
        ttlSeconds = try setting(.ttlSeconds)
        idleSeconds = try setting(.idleSeconds)
        onExpire = try container.decodeIfPresent(NodeSpec.ExpiryAction.self, forKey: .onExpire)
    }

    /// Checks that `ttlSeconds` and `idleSeconds`, when set, are within 1…31536000.
    /// - Throws: ``InvalidParams`` naming `ttlSeconds` or `idleSeconds`.
    public func validate() throws {
        for (name, value) in [("ttlSeconds", ttlSeconds), ("idleSeconds", idleSeconds)] {
            if case .set(let seconds) = value, !(1...NodeSpec.Lifetime.maxSeconds).contains(seconds) {
                throw InvalidParams(field: name, reason: "must be between 1 and \(NodeSpec.Lifetime.maxSeconds) seconds, or null")
            }
        }
    }
}

/// What `lifetime.set` answers: the lifetime now in force.
public struct LifetimeInfo: Encodable, Sendable {
    /// When the node ends at the latest (TTL, or idle deadline from its last activity), RFC 3339; absent: never.
    public var expiresAt: String?
    /// When the TTL ends (RFC 3339); absent: no TTL.
    public var ttlExpiresAt: String?
    /// Seconds without activity until the node ends; absent: never idle.
    public var idleSeconds: Int?
    /// `"stop"` or `"destroy"`.
    public var onExpire: String?
}

extension DockerProvider {
    /// Where `lifetime.set` records a changed lifetime in the node (root's, 0600), for later workers.
    static let lifetimeFile = ".openlattice-lifetime"

    /// Ends an expired node as its lifetime says, and tells every `events.subscribe` of this worker.
    func expireNode(_ id: String, _ record: LifetimeRecord) async {
        // Another worker of this owner may have changed the lifetime since this one armed it: the
        // record `lifetime.set` wrote into the node is the truth.
        if let changed = await recordedLifetimeChange(id), changed.node == record.node, changed != record {
            lifetimes.arm(id, changed)
            return
        }
        logger.info("node lifetime ended", metadata: ["container": "\(id)", "action": "\(record.onExpire.rawValue)"])
        do {
            switch record.onExpire {
            case .destroy: try await destroy(id)
            case .stop:
                try await stop(id, timeoutSeconds: 10)
                // Ended: a later worker must not stop it again once it is started.
                try? await recordLifetime(
                    LifetimeRecord(node: record.node, expiresAt: nil, idleSeconds: nil, onExpire: record.onExpire), in: id)
            }
        } catch {
            logger.warning("could not end an expired node", metadata: ["container": "\(id)", "error": "\(error)"])
        }
        await subscribers.broadcast(
            NodeEventNotification(
                externalId: id, nodeId: record.node, action: "expired", time: Timestamp.now(), onExpire: record.onExpire))
    }

    /// `lifetime.set`: changes the lifetime of container `id` (a managed container's full id).
    /// - Throws: ``ProviderError`` when the node is gone; ``InvalidParams`` for bad bounds.
    public func setLifetime(_ request: LifetimeSetRequest, id: String) async throws -> LifetimeInfo {
        let container = try await inspectContainer(id)
        let nodeID = container.config?.labels?[Labels.nodeID] ?? container.id
        var record =
            lifetimes.record(id)
            ?? LifetimeRecord.parse(container.config?.labels?[Labels.lifetime]).flatMap { $0.node == nodeID ? $0 : nil }
            ?? LifetimeRecord(node: nodeID, expiresAt: nil, idleSeconds: nil, onExpire: .destroy)
        switch request.ttlSeconds {
        case .unchanged: break
        case .removed: record.expiresAt = nil
        case .set(let seconds): record.expiresAt = Timestamp.format(Date().addingTimeInterval(Double(seconds)))
        }
        switch request.idleSeconds {
        case .unchanged: break
        case .removed: record.idleSeconds = nil
        case .set(let seconds): record.idleSeconds = seconds
        }
        if let action = request.onExpire { record.onExpire = action }
        // Recorded in the node for a later worker; the label from provision cannot change.
        do {
            try await recordLifetime(record, in: id)
        } catch let error as EngineError where error.isHTTPError {
            // A read-only root filesystem: the change holds for this worker only.
            logger.warning("lifetime change not recorded in the node", metadata: ["container": "\(id)", "engine": "\(error.reason)"])
        }
        lifetimes.arm(id, record)
        return lifetimes.info(id) ?? LifetimeInfo(onExpire: record.onExpire.rawValue)
    }

    /// Writes `record` into container `id` as ``lifetimeFile`` (root's, 0600), through the archive API.
    /// - Throws: ``EngineError`` when the engine refuses (a read-only root filesystem).
    private func recordLifetime(_ record: LifetimeRecord, in id: String) async throws {
        var tar = TarWriter()
        try tar.addFile(
            name: Self.lifetimeFile, contents: Array(record.json.utf8), mode: 0o600, modifiedAt: Int(Date().timeIntervalSince1970))
        try await client.putArchive(id, path: "/", tar.finished())
    }

    /// Re-arms the lifetimes of this owner's nodes (at `initialize`); nodes whose TTL passed while no
    /// worker ran end at once.
    func rearmLifetimes() async {
        // Every managed node of this owner: one provisioned without a lifetime may have had one set.
        var filters = ["\(Labels.managed)=true"]
        if let owner = config.ownerId { filters.append("\(Self.ownerLabel)=\(owner)") }
        guard let summaries = try? await client.listContainers(filters: ["label": filters])
        else {
            logger.warning("could not list nodes to re-arm their lifetimes")
            return
        }
        for summary in summaries {
            let labels = summary.labels ?? [:]
            if config.ownerId == nil, !(labels[Self.ownerLabel] ?? "").isEmpty { continue }
            guard let nodeID = labels[Labels.nodeID] else { continue }
            var record = LifetimeRecord.parse(labels[Labels.lifetime])
            if let changed = await recordedLifetimeChange(summary.id), changed.node == nodeID { record = changed }
            guard let record, record.node == nodeID else { continue }
            lifetimes.arm(summary.id, record)
        }
    }

    /// The record `lifetime.set` wrote into container `id`, if any.
    private func recordedLifetimeChange(_ id: String) async -> LifetimeRecord? {
        guard
            let stream = try? await client.getArchive(id, path: "/\(Self.lifetimeFile)")
        else { return nil }
        var reader = TarReader()
        var contents: [UInt8] = []
        do {
            for try await chunk in stream {
                for entry in try reader.feed(chunk) { contents = entry.contents }
                if contents.count > 4096 { return nil }
            }
        } catch {
            return nil
        }
        return LifetimeRecord.parse(String(decoding: contents, as: UTF8.self))
    }
}
