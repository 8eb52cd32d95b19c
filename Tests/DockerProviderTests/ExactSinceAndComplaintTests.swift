import Foundation
import Testing

@testable import DockerProvider

@Suite("exact since and engine complaints")
struct ExactSinceAndComplaintTests {
    @Test func parseExactKeepsEveryNanosecond() throws {
        let stamp = try #require(Timestamp.parseExact("2026-11-30T09:43:59.691580179Z"))
        #expect(stamp.seconds == 1_796_031_839)
        #expect(stamp.nanoseconds == 691_580_179)
        #expect(unixSecondsText(seconds: stamp.seconds, nanoseconds: stamp.nanoseconds) == "1796031839.691580179")
        // fewer digits are padded, more are cut; an offset moves the seconds, not the fraction
        #expect(Timestamp.parseExact("2026-11-30T09:43:59.5Z")?.nanoseconds == 500_000_000)
        #expect(Timestamp.parseExact("2026-11-30T09:43:59.1234567899Z")?.nanoseconds == 123_456_789)
        #expect(Timestamp.parseExact("2026-11-30T10:43:59.000000001+01:00").map { [$0.seconds, $0.nanoseconds] } == [1_796_031_839, 1])
        #expect(Timestamp.parseExact("1969-12-31T23:59:59.5Z").map { [$0.seconds, $0.nanoseconds] } == [-1, 500_000_000])
        #expect(Timestamp.parseExact("yesterday") == nil)
    }

    @Test func engineComplaintShape() {
        func could(_ text: String) -> Bool { EngineComplaintHold.couldBeComplaint(Array(text.utf8)) }
        #expect(could("unable to find user nosuchuser: no matching entries in passwd file\r\n"))
        #expect(could("OCI runtime exec failed: exec failed: unable to start container process\r\n"))
        #expect(could("OCI run"))  // the start of one, still held
        #expect(!could("hello\r\n"))
        #expect(!could("OCI runtime exec failed: x\n"))  // a bare LF: program output
        #expect(!could("OCI runtime exec failed: x\r\nmore"))  // a second line
        #expect(!could("OCI runtime " + String(repeating: "x", count: 5000)))
    }
}
