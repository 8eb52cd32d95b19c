import Foundation
import JSONCoding
import TestSupport
import Testing

@testable import DockerProvider

/// Runs /usr/bin/tar with `arguments` (in `directory`, if given) and returns its standard output.
@discardableResult
private func tar(_ arguments: [String], in directory: URL? = nil) throws -> String {
    let output = runProcess(["tar"] + arguments, in: directory)
    try #require(output.status == 0, "tar \(arguments.joined(separator: " ")) failed")
    return String(decoding: output.stdout, as: UTF8.self)
}

/// A fresh temporary directory, removed after `body`.
private func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tar-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    try body(url)
}

/// Writes `archive` to a temporary file and runs `body` with its path.
private func withArchiveFile(_ archive: [UInt8], _ body: (String) throws -> Void) throws {
    try withTemporaryDirectory { directory throws in
        let file = directory.appendingPathComponent("archive.tar")
        try Data(archive).write(to: file)
        try body(file.path)
    }
}

private func contents(_ size: Int) -> [UInt8] { (0..<size).map { UInt8(ascii: "a") + UInt8($0 % 26) } }

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

private let longName = "deeply/" + String(repeating: "nested-directory-name/", count: 6) + "file-with-a-long-name.txt"

@Suite("TarWriter")
struct TarWriterTests {
    @Test func archiveIsReadByTar() throws {
        var writer = TarWriter()
        try writer.addFile(
            name: ".openlattice-tailscale-authkey", contents: Array("tskey-auth-abc123".utf8), mode: 0o600, modifiedAt: 1_700_000_000)
        try withArchiveFile(writer.finished()) { path throws in
            let listing = try tar(["-tvf", path])
            let line = try #require(listing.split(separator: "\n").first)
            #expect(line.hasPrefix("-rw-------"))
            #expect(line.contains(" 17 "))
            #expect(line.hasSuffix(".openlattice-tailscale-authkey"))
            #expect(try tar(["-xOf", path, ".openlattice-tailscale-authkey"]) == "tskey-auth-abc123")
        }
    }

    @Test func severalFilesOfAwkwardSizes() throws {
        let sizes = [0, 1, 511, 512, 513, 1500]
        var writer = TarWriter()
        for size in sizes {
            try writer.addFile(name: "dir/file-\(size).txt", contents: contents(size))
        }
        let archive = writer.finished()
        #expect(archive.count % 512 == 0)
        try withArchiveFile(archive) { path throws in
            #expect(try tar(["-tf", path]).split(separator: "\n") == sizes.map { "dir/file-\($0).txt"[...] })
            #expect(try tar(["-tvf", path]).split(separator: "\n").allSatisfy { $0.hasPrefix("-rw-r--r--") })
            for size in sizes {
                #expect(try tar(["-xOf", path, "dir/file-\(size).txt"]) == text(contents(size)), "size \(size)")
            }
        }
    }

    @Test func headerFieldsAreUstar() throws {
        var writer = TarWriter()
        try writer.addFile(name: "x", contents: [1, 2, 3], mode: 0o600, modifiedAt: 8)
        let header = Array(writer.bytes.prefix(512))
        #expect(text(Array(header[100..<107])) == "0000600")
        #expect(text(Array(header[124..<135])) == "00000000003")
        #expect(text(Array(header[136..<147])) == "00000000010")
        #expect(header[156] == UInt8(ascii: "0"))
        #expect(Array(header[257..<265]) == Array("ustar\u{0}00".utf8))
        let stored = Int(text(Array(header[148..<154])), radix: 8)
        var blanked = header
        for index in 148..<156 { blanked[index] = 0x20 }
        #expect(stored == blanked.reduce(0) { $0 + Int($1) })
        #expect(writer.finished().count == 512 + 512 + 1024)
        #expect(writer.finished().suffix(1024).allSatisfy { $0 == 0 })
    }

    @Test func hundredByteNameFitsTheUstarHeader() throws {
        let name = String(repeating: "n", count: 100)
        var writer = TarWriter()
        try writer.addFile(name: name, contents: Array("ok".utf8))
        #expect(writer.bytes.count == 1024)  // no PAX header
        try withArchiveFile(writer.finished()) { path throws in
            #expect(try tar(["-tf", path]) == name + "\n")
        }
    }

    @Test(arguments: [101, 150, 255, 1000])
    func longerNamesTravelInAPAXHeader(length: Int) throws {
        let name = String(repeating: "d/", count: (length - 5) / 2) + String(repeating: "f", count: 5 + (length - 5) % 2)
        #expect(name.utf8.count == length)
        var writer = TarWriter()
        try writer.addFile(name: name, contents: Array("long".utf8), mode: 0o600)
        try withArchiveFile(writer.finished()) { path throws in
            #expect(try tar(["-tf", path]) == name + "\n")
            #expect(try tar(["-xOf", path, name]) == "long")
        }
    }

    @Test func nonASCIILongNameSurvives() throws {
        let name = "données/" + String(repeating: "é", count: 60) + "/файл.txt"
        var writer = TarWriter()
        try writer.addFile(name: name, contents: Array("x".utf8))
        try withArchiveFile(writer.finished()) { path throws in
            #expect(try tar(["-xOf", path, name]) == "x")
        }
    }

    @Test func directoriesGetATrailingSlash() throws {
        var writer = TarWriter()
        writer.addDirectory(name: "app")
        writer.addDirectory(name: "app/data/", mode: 0o700)
        try writer.addFile(name: "app/data/f", contents: [0x41])
        try withArchiveFile(writer.finished()) { path throws in
            let lines = try tar(["-tvf", path]).split(separator: "\n")
            #expect(lines.count == 3)
            #expect(lines[0].hasPrefix("drwxr-xr-x") && lines[0].hasSuffix(" app/"))
            #expect(lines[1].hasPrefix("drwx------") && lines[1].hasSuffix(" app/data/"))
        }
    }

    @Test func extractsIntoADirectory() throws {
        var writer = TarWriter()
        try writer.addFile(name: "a/b.txt", contents: Array("hello\n".utf8), mode: 0o640)
        try withTemporaryDirectory { directory throws in
            let archive = directory.appendingPathComponent("x.tar")
            try Data(writer.finished()).write(to: archive)
            try tar(["-xf", archive.path], in: directory)
            let extracted = directory.appendingPathComponent("a/b.txt")
            #expect(try String(contentsOf: extracted, encoding: .utf8) == "hello\n")
            let mode = try FileManager.default.attributesOfItem(atPath: extracted.path)[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o640)
        }
    }
}

@Suite("TarReader")
struct TarReaderTests {
    private func sampleArchive() throws -> [UInt8] {
        var writer = TarWriter()
        writer.addDirectory(name: "dir")
        try writer.addFile(name: "dir/empty", contents: [])
        try writer.addFile(name: "dir/block", contents: contents(512), mode: 0o600, modifiedAt: 1_700_000_000)
        try writer.addFile(name: longName, contents: contents(700))
        try writer.addFile(name: "after-long", contents: contents(3))
        return writer.finished()
    }

    private func read(_ chunks: [[UInt8]]) throws -> (entries: [TarReader.Entry], ended: Bool) {
        var reader = TarReader()
        var entries: [TarReader.Entry] = []
        for chunk in chunks { entries += try reader.feed(chunk) }
        return (entries, reader.ended)
    }

    private func check(_ entries: [TarReader.Entry]) {
        #expect(entries.map(\.header.name) == ["dir/", "dir/empty", "dir/block", longName, "after-long"])
        #expect(entries.map(\.header.type) == [.directory, .file, .file, .file, .file])
        #expect(entries.map(\.contents.count) == [0, 0, 512, 700, 3])
        #expect(entries.dropFirst(2).first?.contents == contents(512))
        #expect(entries.dropFirst(2).first?.header.mode == 0o600)
        #expect(entries.dropFirst(2).first?.header.modifiedAt == 1_700_000_000)
        #expect(entries.last?.contents == contents(3))
    }

    @Test func readsWhatTheWriterWrote() throws {
        let result = try read([try sampleArchive()])
        check(result.entries)
        #expect(result.ended)
    }

    /// A compact description of the entries, for cheap comparisons in loops.
    private func summary(_ entries: [TarReader.Entry]) -> [String] {
        entries.map {
            "\($0.header.name) \($0.header.type) \($0.header.mode) \($0.contents.count) \($0.contents.reduce(0) { $0 &* 31 &+ Int($1) })"
        }
    }

    @Test func splitPointsAroundEveryBlockBoundaryGiveTheSameEntries() throws {
        let archive = try sampleArchive()
        let expected = summary(try read([archive]).entries)
        let boundaries = stride(from: 0, through: archive.count, by: 512).flatMap { [$0 - 1, $0, $0 + 1] }
        let cuts = Set(boundaries + Array(stride(from: 0, through: archive.count, by: 37))).filter { (0...archive.count).contains($0) }
        var mismatches: [Int] = []
        for cut in cuts.sorted() where summary(try read([Array(archive[..<cut]), Array(archive[cut...])]).entries) != expected {
            mismatches.append(cut)
        }
        #expect(mismatches.isEmpty)
    }

    @Test func smallChunks() throws {
        let archive = try sampleArchive()
        for size in [1, 13, 511, 513] {
            let chunks = stride(from: 0, to: archive.count, by: size).map { Array(archive[$0..<min($0 + size, archive.count)]) }
            let result = try read(chunks)
            check(result.entries)
            #expect(result.ended)
        }
    }

    @Test(arguments: ["gnu", "pax", "ustar"])
    func readsArchivesMadeByTar(format: String) throws {
        try withTemporaryDirectory { directory throws in
            let source = directory.appendingPathComponent("src")
            let nested = source.appendingPathComponent("sub")
            try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
            try Data("one".utf8).write(to: nested.appendingPathComponent("one.txt"))
            // ustar cannot hold a >100-byte name without a split prefix; keep that format's names short.
            let long = format == "ustar" ? "short.txt" : String(repeating: "L", count: 120) + ".txt"
            try Data(contents(1025)).write(to: source.appendingPathComponent(long))
            let archive = directory.appendingPathComponent("made.tar")
            try tar(["--format=\(format)", "-cf", archive.path, "-C", source.path, "sub/one.txt", long])
            let bytes = Array(try Data(contentsOf: archive))
            let entries = try read([bytes]).entries
            #expect(entries.map(\.header.name) == ["sub/one.txt", long])
            #expect(entries.first?.contents == Array("one".utf8))
            #expect(entries.last?.contents == contents(1025))
        }
    }

    @Test func corruptedHeaderIsRejected() throws {
        var archive = try sampleArchive()
        archive[0] ^= 0x01
        #expect(throws: Tar.FormatError.self) { try read([archive]) }
    }

    @Test(arguments: ["1 x", "0 \n", "2 \n", "3 x", "9999 path=a\n", "x path=a\n", "6 a=b\n7 short"])
    func malformedPaxRecordsStopTheParseWithoutATrap(_ text: String) {
        let parsed = TarReader.parsePax(Array(text.utf8))
        #expect(parsed.isEmpty || parsed == ["a": "b"])
    }

    @Test func paxRecordsAreParsed() {
        let records = Array("29 path=some/where/long/name\n19 linkpath=target\n".utf8)
        #expect(TarReader.parsePax(records) == ["path": "some/where/long/name", "linkpath": "target"])
    }
}
