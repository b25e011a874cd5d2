extension UInt64 {
    /// The value as 16 lowercase hex digits, zero-padded: the unit of the random ids and keys
    /// that are written in hex (request ids, the generated access-token key).
    public var hex16: String {
        let digits = String(self, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
