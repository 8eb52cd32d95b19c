import DockerEngine
import Foundation
import Testing

@testable import DockerProvider

@Suite("query building, trimming and engine timestamps (without Foundation)")
struct SupportTests {
    @Test func percentEncodingMatchesFoundation() {
        let samples = ["plain", "a b&c=d", "{\"label\":[\"openlattice.managed=true\"]}", "é😀/x:y@z", "-._~", "%2F", ""]
        var query = CharacterSet.alphanumerics
        query.insert(charactersIn: "-._~")
        var path = CharacterSet.alphanumerics
        path.insert(charactersIn: "-._~/:@")
        // Foundation's alphanumerics include non-ASCII letters, which a URL must not carry raw:
        // compare on what both agree a URL may hold.
        for sample in samples where sample.unicodeScalars.allSatisfy(\.isASCII) {
            #expect(EngineQuery.escapeValue(sample) == sample.addingPercentEncoding(withAllowedCharacters: query))
            #expect(EngineQuery.escapePath(sample) == sample.addingPercentEncoding(withAllowedCharacters: path))
        }
        #expect(EngineQuery.escapeValue("é😀") == "%C3%A9%F0%9F%98%80")
        #expect(
            EngineQuery.target("/containers/json", [("all", "1"), ("filters", "{\"a\":1}")])
                == "/containers/json?all=1&filters=%7B%22a%22%3A1%7D")
    }

    @Test func sinceParametersKeepNineDecimals() {
        #expect(unixSecondsText(nanoseconds: 1_700_000_000_000_000_123) == "1700000000.000000123")
        #expect(unixSecondsText(nanoseconds: 1_700_000_000_500_000_000) == "1700000000.500000000")
        #expect(unixSecondsText(nanoseconds: 0) == "0.000000000")
        // before the epoch counts as the epoch, never a malformed or trapping number
        #expect(unixSecondsText(nanoseconds: -1) == "0.000000000")
        #expect(unixSecondsText(nanoseconds: -500_000_000) == "0.000000000")
        #expect(unixSecondsText(seconds: 253_402_300_799, nanoseconds: 999_000_000) == "253402300799.999000000")
    }

    @Test func trimming() {
        #expect(" \t v1.41 \r\n".trimmedOfWhitespace() == "v1.41")
        #expect(" \n ".trimmedOfWhitespace() == "")
        #expect("x".trimmedOfWhitespace() == "x")
        #expect(joinPath("/a/", "b") == "/a/b")
        #expect(joinPath("/a", "b/c") == "/a/b/c")
    }
}
