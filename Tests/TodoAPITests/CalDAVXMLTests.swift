import Testing

@testable import TodoAPI

@Suite struct CalDAVXMLTests {
    static func parse(_ text: String) throws(XMLReadError) -> DAVElement { try XMLReader.parse(Array(text.utf8)) }

    @Test func namespacesResolveAndTextIsUnescaped() throws {
        let root = try Self.parse(
            """
            <?xml version="1.0" encoding="utf-8"?>
            <!-- a comment -->
            <C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
              <D:prop><D:getetag/><C:calendar-data/></D:prop>
              <D:href>/dav/a%20b.ics?x=1&amp;y=&#50;</D:href>
              <D:href><![CDATA[/dav/<c>.ics]]></D:href>
            </C:calendar-multiget>
            """)
        #expect(root.is(DAVNamespace.caldav, "calendar-multiget"))
        #expect(root.child(DAVNamespace.dav, "prop")?.children.map(\.name) == ["getetag", "calendar-data"])
        #expect(root.children(DAVNamespace.dav, "href").map(\.text) == ["/dav/a%20b.ics?x=1&y=2", "/dav/<c>.ics"])
    }

    @Test func defaultNamespaceAppliesToElementsNotAttributes() throws {
        let root = try Self.parse(#"<propfind xmlns="DAV:"><prop><comp-filter name="VTODO" xmlns="urn:x"/></prop></propfind>"#)
        let filter = try #require(root.child("DAV:", "prop")?.children.first)
        #expect(filter.namespace == "urn:x" && filter.attributes["name"] == "VTODO")
    }

    @Test func doctypeEntitiesAndInstructionsAreRefused() {
        let hostile = [
            #"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><d:x xmlns:d="DAV:">&b;</d:x>"#,
            #"<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><d:x xmlns:d="DAV:">&e;</d:x>"#,
            #"<d:x xmlns:d="DAV:">&undefined;</d:x>"#,
            #"<d:x xmlns:d="DAV:"><?php echo 1 ?></d:x>"#,
            #"<d:x xmlns:d="DAV:"><d:y></d:x>"#,
            #"<e:x xmlns:d="DAV:"/>"#,
            #"<d:x xmlns:d="DAV:"/><d:x xmlns:d="DAV:"/>"#,
            String(repeating: #"<a xmlns="DAV:">"#, count: 40) + String(repeating: "</a>", count: 40),
        ]
        for text in hostile {
            #expect(throws: XMLReadError.self) { try Self.parse(text) }
        }
    }

    @Test func davPathsParseAndEscape() {
        #expect(DAVPath("/dav/") == .root)
        #expect(DAVPath("/") == .root)
        #expect(DAVPath("/dav/calendars/u1/inbox/a%20b.ics") == .object("u1", .inbox, "a b.ics"))
        #expect(DAVPath.object("u1", .inbox, "a b.ics").href == "/dav/calendars/u1/inbox/a%20b.ics")
        #expect(DAVPath("/dav/calendars/u1/42/") == .calendar("u1", .project(42)))
        #expect(DAVPath.object("u1", .project(42), "x.ics").href == "/dav/calendars/u1/42/x.ics")
        #expect(DAVPath("/dav/calendars/u1/other/") == nil)
        #expect(DAVPath("/dav/calendars/u1/042/") == nil)
        #expect(DAVPath("/dav/calendars/u1/0/") == nil)
        #expect(!DAVPath.isValidName(".."))
    }

    @Test func syncTokensNameTheirProject() {
        let token = SyncToken.text(projectID: 7, eventID: 31)
        #expect(token == "http://todo.invalid/ns/sync/project/7/31")
        #expect(SyncToken.eventID(token, projectID: 7) == 31)
        #expect(SyncToken.eventID(token, projectID: 8) == nil)
        #expect(SyncToken.eventID("http://todo.invalid/ns/sync/31", projectID: 7) == nil)  // one calendar per user, before projects
        #expect(SyncToken.eventID("http://todo.invalid/ns/sync/project/7/-1", projectID: 7) == nil)
    }
}
