import FoundationEssentials

/// `directory/name`, with one slash between them.
func joinPath(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}

/// Seconds since the epoch with nine decimals, as the engine's `since` parameters take them;
/// negative values count as the epoch.
func unixSecondsText(nanoseconds: Int64) -> String {
    let clamped = max(0, nanoseconds)
    return unixSecondsText(seconds: clamped / 1_000_000_000, nanoseconds: clamped % 1_000_000_000)
}

/// `seconds` plus `nanoseconds` (0 ..< 1e9) with nine decimals.
func unixSecondsText(seconds: Int64, nanoseconds: Int64) -> String {
    let fraction = String(min(max(0, nanoseconds), 999_999_999))
    return "\(max(0, seconds))." + String(repeating: "0", count: 9 - fraction.count) + fraction
}

/// ISO 8601 dates as the protocol sends them: UTC, milliseconds, `Z`.
enum Timestamp {
    /// Now.
    static func now() -> String { format(Date()) }

    /// Formats a date.
    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    /// Normalizes an engine timestamp (nanoseconds, any offset) to milliseconds and `Z`, truncating
    /// rather than rounding through floating point; nil for the engine's zero time or garbage.
    static func normalize(_ text: String?) -> String? {
        guard let text, !text.isEmpty, !text.hasPrefix("0001-01-01") else { return nil }
        let (base, digits) = split(text)
        guard let whole = try? Date(base, strategy: Date.ISO8601FormatStyle()) else { return nil }
        let millis = String((digits + "000").prefix(3))
        let formatted = whole.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
        guard formatted.hasSuffix("Z") else { return nil }
        return String(formatted.dropLast()) + "." + millis + "Z"
    }

    /// The timestamp without its fraction, and the fraction's digits.
    private static func split(_ text: String) -> (base: String, digits: String) {
        guard let dot = text.firstIndex(of: ".") else { return (text, "") }
        let afterDot = text[text.index(after: dot)...]
        let digits = afterDot.prefix { $0.isNumber }
        return (String(text[..<dot]) + String(afterDot.dropFirst(digits.count)), String(digits))
    }

    /// Parses an RFC 3339 timestamp into whole seconds since the epoch and nanoseconds (0 ..< 1e9),
    /// from integers: every one of up to nine fraction digits is kept (a `Double` of today's seconds
    /// holds only about seven), and further digits are cut. Nil when the text is not a timestamp.
    static func parseExact(_ text: String) -> (seconds: Int64, nanoseconds: Int64)? {
        let (base, digits) = split(text)
        // Whole seconds are exact in a Double (far below 2^53), so only the fraction needs integers.
        guard let whole = try? Date(base, strategy: Date.ISO8601FormatStyle()) else { return nil }
        let nanoseconds = Int64(String((digits + "000000000").prefix(9))) ?? 0
        return (Int64(whole.timeIntervalSince1970.rounded(.down)), nanoseconds)
    }

    /// Parses an RFC 3339 timestamp with any number of fraction digits.
    static func parse(_ text: String) -> Date? {
        let (base, digits) = split(text)
        guard let date = try? Date(base, strategy: Date.ISO8601FormatStyle()) else { return nil }
        return date.addingTimeInterval(Double("0." + digits) ?? 0)
    }
}
