/// Label names the worker reads and writes.
public enum Labels {
    /// Marks containers, volumes and images made by an OpenLattice worker.
    public static let managed = "openlattice.managed"
    /// The orchestrator-facing node id.
    public static let nodeID = "openlattice.node-id"
    /// The spec a node was provisioned with, without its secrets (JSON), replayed by `restore`.
    public static let spec = "openlattice.spec"
    /// A node's lifetime: `{"node","expiresAt"?,"idleSeconds"?,"onExpire"}` (JSON), see ``NodeSpec/Lifetime``.
    public static let lifetime = "openlattice.lifetime"
    /// Marks a node whose `runtime.secretEnv` file execs source too.
    public static let secretEnv = "openlattice.secret-env"

    /// Whether `key` is one of the worker's own labels: every `openlattice.*` key except
    /// `openlattice.test` and `openlattice.test.*`, which the worker neither reads nor writes (the
    /// test suites scope their objects with them). A spec, `defaultLabels` or an image cannot set them.
    public static func isReserved(_ key: String) -> Bool {
        key.hasPrefix("openlattice.") && key != "openlattice.test" && key != "openlattice.test-run"
            && !key.hasPrefix("openlattice.test.")
    }
}
