import OrderedCollections

extension OrderedSet {
    /// Appends `element` if it is new, then forgets the oldest elements beyond `limit`: a bounded
    /// set of recently seen values (such as request ids), oldest first.
    mutating func appendRecent(_ element: Element, limit: Int) {
        guard append(element).inserted, count > limit else { return }
        removeFirst(count - limit)
    }
}
