import Logging
import Testing

@testable import DockerEngine

@Suite("Transfer: response header lines")
struct ResponseHeaderTests {
    /// The head a transfer makes of `lines`, given one by one as libcurl's header callback gives them.
    private func head(of lines: [String]) async throws -> ResponseHead {
        let loop = try CurlLoop(logger: Logger(label: "test"))
        let transfer = try loop.makeTransfer(mode: .stream)
        for line in lines {
            Array(line.utf8).withUnsafeBytes { transfer.receiveHeader($0) }
        }
        return try await transfer.head()
    }

    @Test func namesAreLoweredAndValuesLoseLeadingBlanksOnly() async throws {
        let head = try await head(of: [
            "HTTP/1.1 200 OK\r\n", "Api-Version: 1.41\r\n", "CONTENT-TYPE:application/json\r\n",
            "X-Docker-Container-Path-Stat: \t eyJhIjoxfQ== \r\n", "X-Empty:\r\n", "Odd\n", " folded: value\r\r\n", "\r\n",
        ])
        #expect(
            head.headers.map { "\($0.name)=\($0.value)" } == [
                "api-version=1.41", "content-type=application/json", "x-docker-container-path-stat=eyJhIjoxfQ== ",
                "x-empty=", " folded=value",
            ])
        #expect(head.header("Api-Version") == "1.41")
        #expect(head.header("x-missing") == nil)
    }

    @Test func aLaterStatusLineStartsTheHeadersAgain() async throws {
        let head = try await head(of: ["HTTP/1.1 100 Continue\r\n", "X-Early: 1\r\n", "HTTP/1.1 200 OK\r\n", "Server: x\r\n", "\r\n"])
        #expect(head.headers.map(\.name) == ["server"])
    }

    @Test func nonASCIILinesAreReadAsUnicode() async throws {
        let head = try await head(of: ["HTTP/1.1 200 OK\r\n", "X-Naïve-É: café\r\n", "X-Plain: é\n", "\n"])
        #expect(head.headers.map { "\($0.name)=\($0.value)" } == ["x-naïve-é=café", "x-plain=é"])
    }
}
