import TodoCore

extension Timestamp {
    /// Whole seconds from now, so that what goes in comes back unchanged.
    static func inSeconds(_ seconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: (Timestamp.now().millisecondsSinceEpoch / 1000 + seconds) * 1000)
    }
}
