// swift-tools-version:6.0
import PackageDescription

// Module graph and import direction: docs/ARCHITECTURE.md (contract: ../shared/DESIGN.md).
let package = Package(
    name: "portcullis",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "portcullis", targets: ["PortcullisCLI"]),
        .library(name: "JOSE", targets: ["JOSE"]),
        .library(name: "RegoLite", targets: ["RegoLite"]),
        .library(name: "DevIdP", targets: ["DevIdP"]),
        .library(name: "Stubs", targets: ["Stubs"]),
        .library(name: "PolicyStore", targets: ["PolicyStore"]),
        .library(name: "DecisionLog", targets: ["DecisionLog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // zlib (zlib1g-dev) for the gzip bodies of the decision-log HTTP sink.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "JOSE", dependencies: ["COpenSSL"]),
        .target(name: "RegoLite"),
        .target(
            name: "Identity",
            dependencies: [
                "JOSE",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .target(
            name: "PolicyStore",
            dependencies: [
                "RegoLite", .product(name: "Yams", package: "Yams"), .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "DecisionLog",
            dependencies: [
                "RegoLite", "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(name: "GatewayConfig", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(
            name: "Gateway",
            dependencies: [
                "GatewayConfig", "Identity", "JOSE", "PolicyStore", "RegoLite", "DecisionLog",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "DevIdP",
            dependencies: [
                "JOSE",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Stubs",
            dependencies: [
                "JOSE",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "PortcullisCLI",
            dependencies: [
                "JOSE",
                "RegoLite",
                "PolicyStore",
                "Identity",
                "GatewayConfig",
                "Gateway",
                "DevIdP",
                "Stubs",
                "DecisionLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "JOSEBench",
            dependencies: ["JOSE", "Identity", "COpenSSL"],
            path: "bench/JOSEBench"
        ),
        .executableTarget(name: "RegoBench", dependencies: ["RegoLite"], path: "bench/RegoBench"),
        .executableTarget(name: "DecisionLogBench", dependencies: ["DecisionLog", "RegoLite"], path: "bench/DecisionLogBench"),
        .testTarget(name: "JOSETests", dependencies: ["JOSE", "COpenSSL"], exclude: ["Fixtures"]),
        .testTarget(name: "RegoLiteTests", dependencies: ["RegoLite"]),
        .testTarget(name: "GatewayConfigTests", dependencies: ["GatewayConfig"]),
        .testTarget(
            name: "PolicyStoreTests",
            dependencies: ["PolicyStore", "RegoLite", .product(name: "MetricsTestKit", package: "swift-metrics")]
        ),
        .testTarget(
            name: "DecisionLogTests",
            dependencies: [
                "DecisionLog", "RegoLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "GatewayConfig", "PolicyStore", "RegoLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "DevIdPTests",
            dependencies: [
                "DevIdP", "JOSE",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "StubsTests",
            dependencies: [
                "Stubs",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "IdentityTests",
            dependencies: [
                "Identity", "JOSE",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
)
