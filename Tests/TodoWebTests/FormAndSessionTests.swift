import Foundation
import NIOCore
import Testing
import TodoTestSupport
@testable import TodoWeb

/// Reading forms and query strings, the CSRF token and the redirect target after a form.
@Suite struct FormAndSessionTests {
    @Test func aURLEncodedFormKeepsEveryFieldInOrderWithPlusAsSpace() {
        let form = FormData(urlEncoded: "a=1&b=two+words&c=%2F&d&&e=&a=2&x=a%2Bb")
        #expect(form.fields.map { $0.name } == ["a", "b", "c", "d", "e", "a", "x"])
        #expect(form.fields.map { $0.value } == ["1", "two words", "/", "", "", "2", "a+b"])
        #expect(form["a"] == "1")
        #expect(form.all("a") == ["1", "2"])
        #expect(form["missing"] == nil)
    }

    @Test func percentEncodedUTF8IsDecodedAndABrokenEscapeIsKeptAsWritten() {
        let form = FormData(urlEncoded: "q=caf%C3%A9+%26+cr%C3%A8me&bad=100%&%zz=1")
        #expect(form["q"] == "café & crème")
        #expect(form["bad"] == "100%")
        #expect(form["%zz"] == "1")
    }

    @Test func textIsTrimmedAndBlankCountsAsAbsent() {
        let form = FormData(urlEncoded: "title=++Buy+milk%0A+&blank=+++&empty=")
        #expect(form.text("title") == "Buy milk")
        #expect(form.text("blank") == nil)
        #expect(form.text("empty") == nil)
        #expect(form["blank"] == "   ")
    }

    @Test func aBodyIsReadByItsContentTypeAndAnythingButAFormIsRefused() {
        let body = ByteBuffer(string: "a=1")
        #expect(FormData(body: body, contentType: "Application/X-WWW-Form-Urlencoded; charset=UTF-8")?["a"] == "1")
        #expect(FormData(body: body, contentType: "application/json") == nil)
        #expect(FormData(body: body, contentType: nil) == nil)
        #expect(FormData(body: body, contentType: "multipart/form-data") == nil, "no boundary")
    }

    @Test func aMultipartFormGivesFieldsAndFilesWithTheirNamesAndTypes() throws {
        let body = [
            "preamble to ignore",
            "--XyZ",
            "Content-Disposition: form-data; name=\"_csrf\"",
            "",
            "token",
            "--XyZ",
            "Content-Disposition: form-data; name=\"file\"; filename=\"tasks.json\"",
            "Content-Type: application/json",
            "",
            "{\"a\":\r\n1}",
            "--XyZ",
            "Content-Disposition: form-data; name=\"note\"",
            "",
            "two\r\nlines",
            "--XyZ--",
            "",
        ].joined(separator: "\r\n")
        let form = try #require(FormData(body: ByteBuffer(string: body), contentType: "multipart/form-data; boundary=\"XyZ\""))
        #expect(form.fields.map { $0.name } == ["_csrf", "note"])
        #expect(form["_csrf"] == "token")
        #expect(form["note"] == "two\r\nlines")
        let file = try #require(form.file("file"))
        #expect(file.filename == "tasks.json")
        #expect(file.contentType == "application/json")
        #expect(String(decoding: file.data, as: UTF8.self) == "{\"a\":\r\n1}")
    }

    @Test func aTruncatedMultipartBodyKeepsTheCompleteParts() throws {
        let body = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nno end"
        let form = try #require(FormData(body: ByteBuffer(string: body), contentType: "multipart/form-data; boundary=b"))
        #expect(form.fields.map { $0.name } == ["a"])
    }

    @Test(arguments: [
        ("boundary", "multipart/form-data; boundary=abc", "abc"),
        ("boundary", "multipart/form-data; charset=utf-8; Boundary=\"a b\"", "a b"),
        ("name", "form-data; name=\"file\"; filename=\"x.json\"", "file"),
        ("filename", "form-data; name=\"file\"; filename=\"x.json\"", "x.json"),
    ])
    func aHeaderParameterIsFoundByNameQuotedOrNot(_ key: String, _ header: String, _ value: String) {
        #expect(FormData.parameter(key, in: header) == value)
    }

    // MARK: CSRF token

    @Test func theCSRFTokenIsFixedForASessionAndDiffersBetweenSessions() {
        let token = Session.csrfToken(forKey: "session-a")
        #expect(token == Session.csrfToken(forKey: "session-a"))
        #expect(token != Session.csrfToken(forKey: "session-b"))
        #expect(token.count == 43)
        #expect(token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    }

    @Test func onlyTheExactTokenIsValidAndAnEmptyExpectedTokenMatchesNothing() {
        let token = Session.csrfToken(forKey: "session-a")
        #expect(Session.isValid(token, expected: token))
        #expect(!Session.isValid(nil, expected: token))
        #expect(!Session.isValid(String(token.dropLast()), expected: token))
        #expect(!Session.isValid(String(token.dropLast()) + "x", expected: token))
        #expect(!Session.isValid("", expected: ""))
    }

    // MARK: Redirect targets

    @Test(arguments: [
        ("/tasks/3?return_to=%2F", "/tasks/3?return_to=%2F"),
        ("/", "/"),
        (nil, "/"),
        ("", "/"),
        ("tasks", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("/a\\b", "/"),
    ])
    func onlyAPathOnThisSiteIsARedirectTarget(_ candidate: String?, _ target: String) {
        #expect(PageSupport.localPath(candidate) == target)
    }

    /// Browsers remove tabs and line breaks from a URL before reading it (WHATWG URL), so
    /// `/<TAB>/evil.example` would be `//evil.example`: another site.
    @Test(arguments: ["/\t/evil.example", "/\u{0B}/evil.example", "/ /evil.example", "/\u{FF0F}/evil.example"])
    func aPathThatABrowserMightReadAsAnotherSiteIsNoRedirectTarget(_ candidate: String) {
        #expect(PageSupport.localPath(candidate) == "/")
    }
}
