extension Duration {
    /// Milliseconds to two decimals (12.34), as the access logs of every role write them (a JSON
    /// number); integer arithmetic up to the one division.
    public var loggedMilliseconds: Double {
        let microseconds = components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
        return Double(microseconds / 10) / 100
    }

    /// Whole milliseconds.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
