// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "coopd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "coopd", targets: ["coopd"]),
        .executable(name: "coopctl", targets: ["coopctl"]),
        .executable(name: "coop-bench", targets: ["coop-bench"]),
        .library(name: "CoopClient", targets: ["CoopClient"]),
        .library(name: "CoopServer", targets: ["CoopServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        // libcoopclient, the C client (also built standalone by `make libcoopclient`). Public headers in
        // include/: coop/client.h, and coop/v1/*.pb-c.h as links to the generated headers.
        .target(
            name: "CCoopClient",
            dependencies: ["CProtobufC"],
            exclude: ["libcoopclient.sym", "coopclient.pc.in"],
            cSettings: [.headerSearchPath("generated")]
        ),
        .target(
            name: "CoopProto",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "CoopWire",
            dependencies: [
                "CoopProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(
            name: "CoopServer",
            dependencies: [
                "CoopWire",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(
            name: "CoopClient",
            dependencies: [
                "CoopWire",
                "CoopProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(name: "CSQLiteSupport", linkerSettings: [.linkedLibrary("sqlite3")]),
        // coopd's own memory: the pages of its program that start-up touched, given back once it serves.
        .target(name: "CProcessMemory"),
        // The data formats coopd's store, its seed import and coopctl share (partial dates, amounts, CSV, the
        // figures file, source guesses): one implementation each. Depends on nothing of the project.
        .target(name: "CoopFormats"),
        .target(
            name: "CoopStore",
            dependencies: [
                "CoopFormats",
                "CSQLiteSupport",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "CoopDaemon",
            dependencies: [
                "CoopStore",
                "CoopServer",
                "CoopWire",
                "CoopProto",
                "CProcessMemory",
                "CSystemd",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "coopd",
            dependencies: ["CoopDaemon"],
            exclude: ["coopd.symbol-order"],
            // lld with packed relative relocations and no exported symbols (the loader applies 20 KB of
            // relocations instead of 2.5 MB: idle RSS 29.7 -> 24.6 MiB), and the functions coopd runs laid out
            // first, in the order scripts/symbol-order.sh profiled (24.6 -> 19.8 MiB; Echo CPU per call down
            // a fifth). Packed relocations need glibc 2.36 or later at run time (Debian 12 has it).
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker",
                        "--no-export-dynamic", "-Xlinker", "--symbol-ordering-file=Sources/coopd/coopd.symbol-order",
                        "-Xlinker", "--no-warn-symbol-ordering",
                    ],
                    .when(platforms: [.linux]))
            ]
        ),
        .target(
            name: "CoopCtl",
            dependencies: [
                "CoopFormats",
                "CoopClient",
                "CoopWire",
                "CoopProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "coopctl",
            dependencies: ["CoopCtl"]
        ),
        .executableTarget(
            name: "coop-bench",
            dependencies: [
                "CoopClient",
                "CoopWire",
                "CoopProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "CoopWireTests",
            dependencies: [
                "CoopTestSupport",
                "CoopWire",
                "CoopProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "CoopServerTests",
            dependencies: [
                "CoopTestSupport",
                "CoopServer",
                "CoopClient",
                "CoopWire",
                "CoopProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "CoopFormatsTests",
            dependencies: ["CoopFormats"]
        ),
        // What several test targets share: the private PostgreSQL server of a test run.
        .target(
            name: "CoopTestSupport",
            dependencies: ["CoopStore", "CoopWire"],
            path: "Tests/CoopTestSupport"
        ),
        .testTarget(
            name: "CoopStoreTests",
            dependencies: ["CoopStore", "CoopFormats", "CoopTestSupport"]
        ),
        .testTarget(
            name: "CoopDaemonTests",
            dependencies: [
                "CoopTestSupport",
                "CoopClient",
                "CoopDaemon",
                "CoopStore",
                "CoopWire",
                "CoopProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "CoopctlTests",
            dependencies: [
                "CoopTestSupport",
                "CoopCtl",
                "CoopFormats",
                "CoopClient",
                "CoopWire",
                "CoopProto",
                "CoopStore",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
    ]
)

// libFuzzer targets (Fuzz/, run by `make fuzz`): they link only with -sanitize=fuzzer, so they exist only when
// COOPD_FUZZ is set, and the default build, the tests and coopd's link flags never see them.
if Context.environment["COOPD_FUZZ"] != nil {
    package.targets += [
        .target(name: "FuzzMain", path: "Fuzz/Sources/FuzzMain"),
        .executableTarget(
            name: "coop-fuzz-frame",
            dependencies: ["FuzzMain", "CoopWire", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/Sources/frame"
        ),
        .executableTarget(
            name: "coop-fuzz-envelope",
            dependencies: ["FuzzMain", "CoopWire", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/Sources/envelope"
        ),
        .executableTarget(
            name: "coop-fuzz-requests",
            dependencies: [
                "FuzzMain", "CoopDaemon", "CoopStore", "CoopWire", "CoopProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Fuzz/Sources/requests"
        ),
    ]
}
