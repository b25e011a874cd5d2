import Testing
import TodoCore

@Suite struct DurationTextTests {
    @Test(arguments: [
        (Duration.microseconds(12_340), "12.34"),
        (.microseconds(1_050), "1.05"),
        (.microseconds(9), "0.0"),
        (.seconds(3) + .microseconds(7_999), "3007.99"),
    ])
    func accessLogDurationsHaveTwoDecimals(duration: Duration, text: String) {
        #expect(duration.loggedMilliseconds.description == text)
    }
}
