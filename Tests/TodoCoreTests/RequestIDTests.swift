import Testing
import TodoCore

@Suite struct RequestIDTests {
    @Test func newIDsAre32HexDigitsUniqueAndShareTheProcessPrefix() async {
        // From several tasks at once, as the event loops make them.
        let ids = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<4 { group.addTask { (0..<5_000).map { _ in RequestID.make() } } }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.utf8.count == 32 && $0.utf8.allSatisfy { "0123456789abcdef".utf8.contains($0) } })
        #expect(Set(ids.map { $0.prefix(16) }).count == 1)
        // The second half is not a readable count: consecutive ids differ in many digits.
        let seconds = ids.prefix(100).map { UInt64($0.suffix(16), radix: 16)! }
        let changedBits = zip(seconds, seconds.dropFirst()).map { ($0 ^ $1).nonzeroBitCount }
        #expect(changedBits.allSatisfy { $0 >= 12 })
    }

    @Test func acceptsOnlySafeCallerIDs() {
        #expect(RequestID.accepting("abc-123_x.y") == "abc-123_x.y")
        #expect(RequestID.accepting("a b") == nil)
        #expect(RequestID.accepting(String(repeating: "a", count: 65)) == nil)
        #expect(RequestID.accepting("") == nil)
    }
}
