import Foundation
import NIOCore
import Testing
@testable import TodoAPI
import TodoCore

/// The export is written a page at a time, yet byte for byte the document the encoder makes of
/// all the tasks at once.
@Suite struct StreamedExportTests {
    @Test func thePiecesMakeTheEncodersDocument() throws {
        let exportedAt = Timestamp(millisecondsSinceEpoch: 1_795_426_215_250)
        let tasks = TaskJSONTests.samples
        let projects = [Project(id: 7, name: "Inbox", color: nil, position: 1024, archived: false, isInbox: true, role: .owner,
                                openCount: 2, overdueCount: 1, createdAt: exportedAt, updatedAt: exportedAt)]
        var streamed = try ExportJSON.start(exportedAt: exportedAt, projects: projects)
        streamed.writeImmutableBuffer(ExportJSON.tasks(Array(tasks.prefix(2)), after: 0))
        streamed.writeImmutableBuffer(ExportJSON.tasks(Array(tasks.dropFirst(2)), after: 2))
        streamed.writeImmutableBuffer(ExportJSON.end)
        let whole = try APIJSON.encoder.encode(TaskExport(exportedAt: exportedAt, projects: projects, tasks: tasks))
        #expect(String(buffer: streamed) == String(decoding: whole, as: UTF8.self))
        let empty = try ExportJSON.start(exportedAt: exportedAt, projects: [])
        #expect(String(buffer: empty) + String(buffer: ExportJSON.end)
            == String(decoding: try APIJSON.encoder.encode(TaskExport(exportedAt: exportedAt, projects: [], tasks: [])), as: UTF8.self))
    }

    /// 2,500 tasks: three pages of the store (1,000 a page), oldest first across the page
    /// boundaries, their creation times out of order.
    @Test func anExportOfSeveralPagesIsTheWholeDocument() async throws {
        try await APIHarness.run { api in
            let (token, userID) = try await api.signUp()
            let tasks = (0..<2500).map { #"{"title": "task \#($0)", "created_at": "2026-01-01T00:\#(String(format: "%02d", $0 % 60)):00.\#(String(format: "%03d", $0 % 1000))Z"}"# }
            let imported = try await api.request(.post, "/api/me/import", token: token,
                                                 body: #"{"format": "todo-export", "version": 1, "tasks": [\#(tasks.joined(separator: ","))]}"#)
            #expect(imported.object["imported"] as? Int == 2500)
            let export = try await api.request(.get, "/api/me/export", token: token)
            #expect(export.status == .ok)
            #expect(export.headers[.contentType] == "application/json; charset=utf-8")
            #expect(export.headers[.contentDisposition] == "attachment; filename=\"todo-export.json\"")
            let exportedAt = try #require((export.object["exported_at"] as? String).flatMap(Timestamp.init(rfc3339:)))
            let stored = try await api.storage.tasks.allTasks(userID: userID)
            #expect(stored.count == 2500)
            let projects = try await api.storage.projects.projects(userID: userID, at: exportedAt)
            let whole = try APIJSON.encoder.encode(TaskExport(exportedAt: exportedAt, projects: projects, tasks: stored))
            #expect(export.text == String(decoding: whole, as: UTF8.self))
        }
    }
}
