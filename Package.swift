// swift-tools-version:6.1
import PackageDescription

/// One set of compiler settings for every target: Swift 6 language mode with the
/// upcoming features that make dependencies and existentials explicit.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// What the tests' fixtures are built on: the modules under test, the test
/// servers, and the packages the fixtures speak.
let fixtureDependencies: [Target.Dependency] = [
    "KuvertApp",
    "KuvertCore",
    "KuvertSQLite",
    "KuvertPostgres",
    "KuvertWeb",
    "KuvertLMTP",
    "KuvertTestSupport",
    .product(name: "GRDB", package: "GRDB.swift"),
    .product(name: "Crypto", package: "swift-crypto"),
    .product(name: "Logging", package: "swift-log"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    .product(name: "Hummingbird", package: "hummingbird"),
    .product(name: "HummingbirdTesting", package: "hummingbird"),
]

/// What every test target uses: the same, and the fixtures.
let testDependencies: [Target.Dependency] = fixtureDependencies + ["KuvertFixtures"]

let package = Package(
    name: "kuvert",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kuvert", targets: ["KuvertCLI"]),
        .library(name: "KuvertCore", targets: ["KuvertCore"]),
        .library(name: "KuvertSQLite", targets: ["KuvertSQLite"]),
        .library(name: "KuvertPostgres", targets: ["KuvertPostgres"]),
        .library(name: "KuvertWeb", targets: ["KuvertWeb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Layered settings (flags, environment, file); no file formats needed: the
        // file is KUVERT_NAME=value lines, read by SettingsFile.
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: []),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // DER, for the signing certificates of SES's notifications (SNS).
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // cmark-gfm for editors' Markdown (terms, newsletters): linear on any input.
        .systemLibrary(
            name: "CCmark",
            providers: [.apt(["libcmark-gfm-dev", "libcmark-gfm-extensions-dev"])]
        ),
        // glibc's mallopt, for the long-running commands.
        .systemLibrary(name: "CMalloc"),
        // The system's OpenSSL libcrypto, for DKIM's RSA signatures (SystemRSAKey).
        .systemLibrary(
            name: "CLibcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // The product without HTTP, CLI or a database: the domain, the services
        // and the store protocols the two stores below implement.
        .target(
            name: "KuvertCore",
            dependencies: [
                "CCurl",
                "CCmark",
                "CLibcrypto",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The SQLite store, the embedded default.
        .target(
            name: "KuvertSQLite",
            dependencies: [
                "KuvertCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL store, apart so that what knows SQL of each store stays in its own module.
        .target(
            name: "KuvertPostgres",
            dependencies: [
                "KuvertCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The LMTP listener for bounces (KUVERT_LMTP_LISTEN), on SwiftNIO.
        .target(
            name: "KuvertLMTP",
            dependencies: [
                "KuvertCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KuvertWeb",
            dependencies: [
                "KuvertCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // The composition root: builds a process's parts from the settings and
        // picks the store; the commands and the tests build through it.
        .target(
            name: "KuvertApp",
            dependencies: [
                "CMalloc",
                "KuvertCore",
                "KuvertLMTP",
                "KuvertPostgres",
                "KuvertSQLite",
                "KuvertWeb",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "KuvertCLI",
            dependencies: [
                "KuvertApp",
                "KuvertCore",
                "KuvertWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KuvertTestSupport",
            path: "Tests/KuvertTestSupport",
            swiftSettings: swiftSettings
        ),
        // The tests' fixtures: the one store fixture (either store), the app
        // and mailer harnesses, the `kuvert` executable as a person runs it.
        .target(
            name: "KuvertFixtures",
            dependencies: fixtureDependencies,
            path: "Tests/KuvertFixtures",
            swiftSettings: swiftSettings
        ),
        // The domain and services, on the embedded store.
        .testTarget(
            name: "KuvertCoreTests",
            dependencies: testDependencies,
            swiftSettings: swiftSettings
        ),
        // What only the SQLite store has: group commit, its journal, its SQL.
        .testTarget(
            name: "KuvertSQLiteTests",
            dependencies: testDependencies,
            swiftSettings: swiftSettings
        ),
        // What only the PostgreSQL store has: its pool, its coalescer, its cluster.
        .testTarget(
            name: "KuvertPostgresTests",
            dependencies: testDependencies + [.product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings
        ),
        // The store scenarios, each run against SQLite and a PostgreSQL cluster of the tests' own.
        .testTarget(
            name: "KuvertStoreTests",
            dependencies: testDependencies,
            swiftSettings: swiftSettings
        ),
        // The LMTP session's state machine.
        .testTarget(
            name: "KuvertLMTPTests",
            dependencies: testDependencies,
            swiftSettings: swiftSettings
        ),
        // The web layer, in process.
        .testTarget(
            name: "KuvertWebTests",
            dependencies: testDependencies,
            swiftSettings: swiftSettings
        ),
        // Processes: the kuvert executable, its CLI, LMTP, real MTAs, nginx,
        // several nodes, the browser.
        .testTarget(
            name: "KuvertEndToEndTests",
            dependencies: testDependencies,
            swiftSettings: swiftSettings
        ),
    ]
)
