/// The escaping the worker did before the block escaper, one byte at a time: what every JSON
/// string it writes must still come out as, byte for byte (`quoted`: with the surrounding `"`).
package func referenceEscaped(_ bytes: some Sequence<UInt8>, quoted: Bool = true) -> [UInt8] {
    let hex = Array("0123456789abcdef".utf8)
    var out: [UInt8] = quoted ? [0x22] : []
    for byte in bytes {
        switch byte {
        case 0x22: out += [0x5C, 0x22]
        case 0x5C: out += [0x5C, 0x5C]
        case 0x0A: out += [0x5C, UInt8(ascii: "n")]
        case 0x0D: out += [0x5C, UInt8(ascii: "r")]
        case 0x09: out += [0x5C, UInt8(ascii: "t")]
        case ..<0x20: out += [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
        default: out.append(byte)
        }
    }
    if quoted { out.append(0x22) }
    return out
}

/// A small, fast, seeded generator (SplitMix64), so a failure can be replayed from its seed.
package struct SplitMix64: RandomNumberGenerator {
    package var state: UInt64
    /// A generator starting from `state`.
    package init(state: UInt64) { self.state = state }
    /// The next 64 random bits.
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A number in `0..<bound`.
    package mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
