extension StringProtocol {
    /// The text without leading and trailing whitespace and newlines (what Foundation's
    /// `trimmingCharacters(in: .whitespacesAndNewlines)` does, without Foundation).
    public func trimmedOfWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}
