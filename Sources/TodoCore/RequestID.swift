import Synchronization

/// The id every request carries through logs and responses (`X-Request-Id`), shared by the
/// backend and the web UI so that one id follows a request across both.
public enum RequestID {
    /// The caller's id when it is 1–64 characters of `A-Z a-z 0-9 - _ .`, else nil: anything
    /// else could forge or break log lines.
    public static func accepting(_ value: String?) -> String? {
        guard let value, (1...64).contains(value.utf8.count),
              value.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                  || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                  || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
        else { return nil }
        return value
    }

    /// A new id, 32 lowercase hex digits: 64 random bits drawn once per process (which also tell
    /// the replica that served a request), then the next value of a SplitMix64 sequence from a
    /// random seed (unique within the process, and not a readable request count). An id needs
    /// to be unique, not secret; drawing 128 bits from the system for every request cost two
    /// `getrandom` system calls per request (measured with `perf stat`, bench/RESULTS.md).
    public static func make() -> String {
        let state = sequence.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        return processPrefix + mixed(state).hex16
    }

    private static let processPrefix = UInt64.random(in: .min ... .max).hex16
    private static let sequence = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    /// SplitMix64's output function: a bijection, so distinct states give distinct ids.
    private static func mixed(_ state: UInt64) -> UInt64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
