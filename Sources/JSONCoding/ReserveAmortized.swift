extension Array where Element == UInt8 {
    /// Makes room for `count + extra` bytes, at least doubling the capacity when it grows.
    ///
    /// `reserveCapacity` allocates exactly what it is asked for, so a writer that reserves "what
    /// this string needs" before each of many strings into one buffer copies the whole buffer every
    /// time (quadratic: 2,000 strings of 60 bytes meant 2,000 reallocations). Growing geometrically
    /// keeps appending N bytes in any number of pieces at O(N).
    @inline(__always)
    mutating func reserveAmortized(extra: Int) {
        let needed = count + extra
        if needed > capacity { reserveCapacity(Swift.max(needed, capacity * 2)) }
    }
}
