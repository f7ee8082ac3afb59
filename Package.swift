// swift-tools-version:6.0
import PackageDescription

// Swift 6 language mode: complete concurrency checking, data races are compile errors. Where the
// compiler cannot see the guarantee (the simulator's one thread, a ByteSource's one reader, a
// pthread lock), the `@unchecked Sendable` carries a `// @unchecked:` line naming it.
let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["CLI"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // Metrics: IO emits through swift-metrics' API only; the CLI bootstraps the Prometheus
        // backend when `--addr` asks for an endpoint.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Typed wrappers for C variadic functions (sqlite3, curl), which Swift cannot call directly.
        .target(name: "CShims", dependencies: ["CSQLite", "CCurl"]),
        .target(
            name: "Core",
            dependencies: ["CLZ4", "CCrypto", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .target(
            name: "SQLite",
            dependencies: ["Core", "CSQLite", "CShims"],
            swiftSettings: swiftSettings),
        .target(
            name: "IO",
            dependencies: [
                "Core", "SQLite", "CCurl", "CCrypto", "CShims", .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),
        // The simulator's hot paths are class properties touched millions of times per seed;
        // their dynamic exclusivity checks cost about a tenth of a run. Debug builds keep them.
        .target(
            name: "SimHarness",
            dependencies: ["Core", "SQLite", "CSQLite", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings + [
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
            ]),
        // The config file (`sluice.yml`, Litestream's keys): parsed, checked and resolved into
        // engine options and replica URLs, apart from the CLI so its errors are unit-tested.
        .target(
            name: "Config",
            dependencies: ["Core", "IO", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "CLI",
            dependencies: [
                "Core", "IO", "SQLite", "CShims", "SimHarness", "Config",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings),
        // Test-only helpers shared by the test targets; no product depends on it.
        .target(name: "TestSupport", dependencies: ["IO"], path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "Core", "IO"], swiftSettings: swiftSettings),
        .testTarget(name: "CoreTests", dependencies: ["Core", "SQLite", "IO"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IOTests", dependencies: ["Core", "SQLite", "IO", "TestSupport"], exclude: ["Fixtures"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "Simulation", dependencies: ["SimHarness", "Core", "SQLite", "TestSupport"],
            swiftSettings: swiftSettings),
    ]
)
