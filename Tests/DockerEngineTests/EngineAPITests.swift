import Testing

@testable import DockerEngine

@Suite("EngineQuery: targets, filters and bodies")
struct EngineQueryTests {
    @Test func targetsEncodeValuesInOrder() {
        #expect(EngineQuery.target("/containers/json") == "/containers/json")
        #expect(
            EngineQuery.target("/containers/json", [("all", "1"), ("filters", "{\"a\":1}")])
                == "/containers/json?all=1&filters=%7B%22a%22%3A1%7D")
        #expect(EngineQuery.escapeValue("é😀 /") == "%C3%A9%F0%9F%98%80%20%2F")
        #expect(EngineQuery.escapePath("registry:5000/a/b@sha256:ab c") == "registry:5000/a/b@sha256:ab%20c")
    }

    @Test func filtersAreSortedJSONWithSlashesKept() throws {
        let text = try EngineQuery.filters(["label": ["a/b=1", "c=2"], "dangling": ["true"]])
        #expect(text == #"{"dangling":["true"],"label":["a/b=1","c=2"]}"#)
    }

    @Test func logsOptionsKeepTheirOrder() {
        var options = LogsOptions(tail: "all", since: "1.000000000")
        options.timestamps = true
        options.follow = true
        #expect(
            EngineQuery.target("/containers/x/logs", options.query)
                == "/containers/x/logs?stdout=true&stderr=true&tail=all&since=1.000000000&timestamps=true&follow=true")
        #expect(LogsOptions().query.map(\.0) == ["stdout", "stderr"])
    }

    @Test(arguments: [
        ("busybox", [("fromImage", "busybox"), ("tag", "latest")]),
        ("busybox:1.36", [("fromImage", "busybox"), ("tag", "1.36")]),
        ("localhost:5000/team/app", [("fromImage", "localhost:5000/team/app"), ("tag", "latest")]),
        ("localhost:5000/team/app:v2", [("fromImage", "localhost:5000/team/app"), ("tag", "v2")]),
        ("busybox@sha256:abc", [("fromImage", "busybox@sha256:abc")]),
    ])
    func pullQuerySplitsTheTag(reference: String, expected: [(String, String)]) {
        let query = EngineClient.pullQuery(reference)
        #expect(query.map(\.0) == expected.map(\.0))
        #expect(query.map(\.1) == expected.map(\.1))
    }

    @Test func execStartBodyIsByteForByte() {
        #expect(String(decoding: EngineClient.startBody(detach: true, tty: false), as: UTF8.self) == #"{"Detach":true,"Tty":false}"#)
        #expect(String(decoding: EngineClient.startBody(detach: false, tty: true), as: UTF8.self) == #"{"Detach":false,"Tty":true}"#)
    }
}

@Suite("one 404 mapping")
struct NotFoundMappingTests {
    private let request = HTTPRequest(.get, "/containers/nope/json")

    @Test func a404IsNotFoundWithTheEnginesMessage() {
        let error = EngineClient.httpError(
            head: ResponseHead(status: 404, headers: []), body: Array(#"{"message":"No such container: nope"}"#.utf8), request: request)
        #expect(error.code == .notFound)
        #expect(error.isNotFound && error.isHTTPError)
        #expect(error.status == 404)
        #expect(error.reason == "No such container: nope")
        #expect(error.engineMessage == "No such container: nope")
    }

    @Test func otherStatusesStayHTTP() {
        let conflict = EngineClient.httpError(head: ResponseHead(status: 409, headers: []), body: [], request: request)
        #expect(conflict.code == .http && conflict.isHTTPError && !conflict.isNotFound)
        #expect(conflict.reason == "the engine answered HTTP 409")
        #expect(conflict.engineMessage == nil)
        let transport = EngineError(code: .unreachable, reason: "refused")
        #expect(!transport.isHTTPError && !transport.isNotFound)
    }
}
