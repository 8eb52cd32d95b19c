// swift-tools-version:6.1
import PackageDescription

/// One block of strict settings, applied to every target.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "openlattice-docker-worker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "openlattice-docker-worker", targets: ["openlattice-docker-worker"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // OpenSSL's libcrypto, for SHA-256 (libcurl already loads it).
        .systemLibrary(name: "CCrypto", providers: [.apt(["libssl-dev"])]),
        // The few glibc calls Swift cannot see without _GNU_SOURCE or through varargs: thread names, malloc tuning.
        .systemLibrary(name: "CSystem"),
        // Named, detached pthreads for the worker's three long-lived threads.
        .target(name: "OSThread", dependencies: ["CSystem"], swiftSettings: strict),
        // JSON as bytes, for the protocol and the engine alike: bounded line framing (requests on stdin,
        // NDJSON bodies), the ordered parser and writer, Codable straight over bytes, base64.
        .target(
            name: "JSONCoding", dependencies: [.product(name: "OrderedCollections", package: "swift-collections")],
            swiftSettings: strict),
        .target(
            name: "JSONRPC",
            dependencies: [
                "JSONCoding", "OSThread",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OrderedCollections", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "DockerEngine",
            dependencies: ["CCurl", "JSONCoding", "OSThread", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "DockerProvider",
            dependencies: [
                "CCrypto", "DockerEngine", "JSONCoding", "JSONRPC",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "OrderedCollections", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "openlattice-docker-worker",
            dependencies: [
                "DockerProvider", "JSONCoding", "JSONRPC", "CSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // A libFuzzer target for framing and JSON decoding (scripts/fuzz.sh builds it with
        // -sanitize=fuzzer -DFUZZING); in a plain build it replays inputs.
        .executableTarget(name: "FuzzFraming", dependencies: ["JSONCoding", "JSONRPC"], swiftSettings: strict),
        .testTarget(
            name: "JSONRPCTests",
            dependencies: ["JSONCoding", "JSONRPC", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // What the test targets share: the worker as a subprocess over pipes (WorkerProcess, RawWorker),
        // the engine's own view through the docker CLI, run-unique labels, and an in-process fake engine.
        .target(name: "TestSupport", dependencies: ["JSONCoding", "JSONRPC"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(
            name: "DockerEngineTests",
            dependencies: ["DockerEngine", "CCurl", "JSONCoding", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DockerProviderTests", dependencies: ["DockerProvider", "JSONCoding", "JSONRPC", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "IntegrationTests", dependencies: ["JSONCoding", "JSONRPC", "TestSupport"], swiftSettings: strict),
    ]
)
