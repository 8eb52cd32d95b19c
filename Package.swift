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
        // Splitting a byte stream into bounded lines: JSON-RPC requests on stdin, NDJSON bodies from the engine.
        .target(name: "LineFraming", swiftSettings: strict),
        .target(
            name: "JSONRPC",
            dependencies: [
                "LineFraming", "OSThread",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OrderedCollections", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "DockerEngine",
            dependencies: ["CCurl", "JSONRPC", "LineFraming", "OSThread", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "DockerProvider",
            dependencies: [
                "CCrypto", "DockerEngine", "JSONRPC",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "OrderedCollections", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "openlattice-docker-worker",
            dependencies: [
                "DockerProvider", "JSONRPC", "CSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // A libFuzzer target for framing and JSON decoding (scripts/fuzz.sh builds it with
        // -sanitize=fuzzer -DFUZZING); in a plain build it replays inputs.
        .executableTarget(name: "FuzzFraming", dependencies: ["JSONRPC", "LineFraming"], swiftSettings: strict),
        .testTarget(
            name: "JSONRPCTests",
            dependencies: ["JSONRPC", "LineFraming", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // What the test targets share: the worker as a subprocess over pipes (WorkerProcess, RawWorker),
        // the engine's own view through the docker CLI, run-unique labels, and an in-process fake engine.
        .target(name: "TestSupport", dependencies: ["JSONRPC", "LineFraming"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(
            name: "DockerEngineTests",
            dependencies: ["DockerEngine", "CCurl", "JSONRPC", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DockerProviderTests", dependencies: ["DockerProvider", "JSONRPC", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "IntegrationTests", dependencies: ["JSONRPC", "TestSupport"], swiftSettings: strict),
    ]
)
