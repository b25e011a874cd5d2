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

    /// A new id: 128 random bits as 32 lowercase hex digits.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let hex = String(generator.next(), radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}
