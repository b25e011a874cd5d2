extension Duration {
    /// Milliseconds with two decimals ("12.34"), as the access logs of every role print them;
    /// integer arithmetic, no Foundation formatting on the request path.
    public var millisecondsText: String {
        let microseconds = components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
        let hundredths = microseconds / 10 % 100
        return "\(microseconds / 1000).\(hundredths < 10 ? "0" : "")\(hundredths)"
    }

    /// Whole milliseconds.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
