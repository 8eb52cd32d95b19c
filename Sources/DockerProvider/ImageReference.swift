/// Image references as the Docker reference grammar (distribution/reference) defines them,
/// checked before a reference reaches an Engine API path or query:
///
///     reference  := name [ ":" tag ] [ "@" digest ]
///     name       := [ domain "/" ] component ( "/" component )*      (at most 255 bytes)
///     domain     := label ( "." label )* [ ":" port ]                 label: [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?
///     component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
///     tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
///     digest     := algorithm ":" hex{32,}                            algorithm: [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*
///
/// An image id, `sha256:<64 hex>` (or the bare 64 hex), is accepted too.
enum ImageReference {
    /// Why `reference` is not an image reference, or nil when it is one.
    static func problem(_ reference: String) -> String? {
        if isImageID(reference) { return nil }
        var rest = Substring(reference)
        if let at = rest.firstIndex(of: "@") {
            guard isDigest(rest[rest.index(after: at)...]) else { return "has a malformed digest (algorithm:hex)" }
            rest = rest[..<at]
        }
        let lastSlash = rest.lastIndex(of: "/") ?? rest.startIndex
        if let colon = rest[lastSlash...].lastIndex(of: ":") {
            guard isTag(rest[rest.index(after: colon)...]) else { return "has a malformed tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})" }
            rest = rest[..<colon]
        }
        return nameProblem(rest)
    }

    /// Why `name` (a repository, no tag) is not a repository name, or nil when it is one.
    static func nameProblem<S: StringProtocol>(_ name: S) -> String? {
        guard !name.isEmpty, name.utf8.count <= 255 else { return "must be an image name of 1 to 255 bytes" }
        var components = name.split(separator: "/", omittingEmptySubsequences: false)
        if components.count > 1, isDomain(components[0]) {
            components.removeFirst()
        }
        guard components.allSatisfy({ isComponent($0) }) else {
            return "must be a Docker image reference ([domain/]name[:tag][@digest], lowercase name components)"
        }
        return nil
    }

    /// `sha256:<64 lowercase hex>` or the bare 64 hex.
    static func isImageID<S: StringProtocol>(_ text: S) -> Bool {
        let hex = text.hasPrefix("sha256:") ? text.dropFirst(7) : text[...]
        return hex.utf8.count == 64 && hex.utf8.allSatisfy(isLowerHex)
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) }
    private static func isLowerAlnum(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte) }
    private static func isAlnum(_ byte: UInt8) -> Bool { isLowerAlnum(byte) || (0x41...0x5A).contains(byte) }

    static func isTag<S: StringProtocol>(_ tag: S) -> Bool {
        let bytes = Array(tag.utf8)
        guard (1...128).contains(bytes.count), isAlnum(bytes[0]) || bytes[0] == UInt8(ascii: "_") else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    private static func isComponent<S: StringProtocol>(_ component: S) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
        var index = 0
        while index < bytes.count {
            if isLowerAlnum(bytes[index]) {
                index += 1
                continue
            }
            // a separator: ".", "_", "__" or one or more "-", always between alphanumerics
            var end = index
            if bytes[index] == UInt8(ascii: ".") {
                end += 1
            } else if bytes[index] == UInt8(ascii: "_") {
                end += (index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "_")) ? 2 : 1
            } else if bytes[index] == UInt8(ascii: "-") {
                while end < bytes.count, bytes[end] == UInt8(ascii: "-") { end += 1 }
            } else {
                return false
            }
            guard end < bytes.count, isLowerAlnum(bytes[end]) else { return false }
            index = end
        }
        return true
    }

    private static func isDomain<S: StringProtocol>(_ domain: S) -> Bool {
        var host = Substring(domain)
        if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.utf8.count <= 5, port.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return false }
            host = host[..<colon]
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard !labels.isEmpty else { return false }
        return labels.allSatisfy { label in
            let bytes = Array(label.utf8)
            guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
            return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
        } && (labels.count > 1 || domain.contains(":") || labels[0] == "localhost" || labels[0].contains { $0.isUppercase })
    }

    private static func isDigest<S: StringProtocol>(_ digest: S) -> Bool {
        guard let colon = digest.firstIndex(of: ":") else { return false }
        let algorithm = digest[..<colon]
        let hex = digest[digest.index(after: colon)...]
        guard hex.utf8.count >= 32, hex.utf8.allSatisfy({ isLowerHex($0) || (0x41...0x46).contains($0) }) else { return false }
        let parts = algorithm.split(separator: "+", omittingEmptySubsequences: false).flatMap {
            $0.split(omittingEmptySubsequences: false) { $0 == "-" || $0 == "_" || $0 == "." }
        }
        return !parts.isEmpty
            && parts.allSatisfy { part in
                guard let first = part.utf8.first, (0x41...0x5A).contains(first) || (0x61...0x7A).contains(first) else { return false }
                return part.utf8.allSatisfy(isAlnum)
            }
    }
}
