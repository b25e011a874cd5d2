import Testing
import TodoCore

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2026-11-23T09:30:15.250Z", 1_795_426_215_250),
        ("2026-11-23T11:30:15.25+02:00", 1_795_426_215_250),
        ("2026-11-23t09:30:15.2509999z", 1_795_426_215_250),
        ("2024-02-29T00:00:00-00:30", 1_709_166_600_000),
        ("1969-12-31T23:59:59.999Z", -1),
        ("0001-01-01T00:00:00Z", -62_135_596_800_000),
        ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
    ])
    func parsesRFC3339(_ text: String, _ milliseconds: Int64) {
        #expect(Timestamp(rfc3339: text)?.millisecondsSinceEpoch == milliseconds)
    }

    @Test(arguments: [
        "", "2026-11-23", "2026-11-23T09:30Z", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-11-23T24:00:00Z", "2026-11-23T09:60:00Z", "2026-11-23T09:30:00", "2026-11-23T09:30:00.Z",
        "2026-11-23T09:30:00+0200", "2026-11-23T09:30:00Z trailing", "+2026-11-23T09:30:00Z", "1900-02-29T00:00:00Z",
        "٢٠٢٦-11-23T09:30:00Z",
    ])
    func rejectsMalformedTimes(_ text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func formatsAsUTCWithMilliseconds() {
        #expect(Timestamp(millisecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: -1).rfc3339 == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(millisecondsSinceEpoch: 1_709_164_800_007).rfc3339 == "2024-02-29T00:00:00.007Z")
    }

    @Test func formattingAndParsingRoundTripAcrossCenturies() {
        var value: Int64 = -62_135_596_800_000
        while value < 253_402_300_799_999 {
            let time = Timestamp(millisecondsSinceEpoch: value)
            #expect(Timestamp(rfc3339: time.rfc3339) == time)
            value += 86_400_000 * 97 + 3_600_007
        }
    }
}
