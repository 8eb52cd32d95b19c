import JSONCoding
import JSONRPC

/// Checks shared by the methods.
enum Validation {
    static func isContainerName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count >= 2, bytes.count <= 255, isAlnum(bytes[0]) else { return false }
        return bytes.dropFirst().allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlnum(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    static func isShellName(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard let first = bytes.first, !(0x30...0x39).contains(first) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") }
    }

    static func envKeyProblem(_ key: String) -> String? {
        if key.isEmpty { return "env keys must not be empty" }
        if key.contains("=") { return "env keys must not contain '='" }
        if key.contains("\0") { return "env keys must not contain NUL" }
        return nil
    }

    /// Label keys that `list` can find again: the engine's label filter (`label=<key>=<value>`)
    /// splits at the first `=`, so Docker never matches a key containing one (and matches
    /// `k=1=v` against the label `k` = `1=v` instead); Podman refuses an empty key at create. Spaces,
    /// tabs, commas and any other text work with both engines (tested).
    /// - Throws: ``InvalidParams`` naming `field` and the key.
    static func checkLabelKeys(_ labels: [String: String]?, field: String) throws {
        for key in (labels ?? [:]).keys.sorted() {
            if key.isEmpty { throw InvalidParams(field: field, reason: "label keys must not be empty") }
            if key.contains("=") {
                throw InvalidParams(field: field, reason: "label key \"\(key)\" contains '=', which the engine's label filter cannot match")
            }
            if key.contains("\0") { throw InvalidParams(field: field, reason: "label keys must not contain NUL") }
        }
    }

    /// A container reference: an id or name, nothing that could escape the URL path.
    static func checkExternalID(_ id: String, field: String = "externalId") throws {
        guard let first = id.utf8.first, isAlnum(first), id.utf8.count <= 256,
            id.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") })
        else { throw InvalidParams(field: field, reason: "must be a container id or name") }
    }
}
