import Testing
@testable import TodoAssistant

@Suite struct EventStreamParsingTests {
    @Test func readsDataOfEveryEvent() {
        let stream = "id: 1\nevent: message\ndata: {\"a\":1}\n\n: comment\ndata: line one\r\ndata: line two\r\n\r\n"
        #expect(MCPToolClient.eventData(stream) == [#"{"a":1}"#, "line one\nline two"])
    }
}
