// swift-tools-version:6.2
import PackageDescription

/// Every service library gets the same plumbing; listing it once keeps the targets readable.
let serviceDependencies: [Target.Dependency] = [
    "TrellisCore", "TrellisStore", "TrellisHTTP", "ServiceContracts",
    .product(name: "Hummingbird", package: "hummingbird"),
    .product(name: "Logging", package: "swift-log"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
]

/// A thin executable over one service library.
func serviceExecutable(_ name: String, _ library: String) -> Target {
    .executableTarget(name: name, dependencies: [.target(name: library), "TrellisHTTP"], path: "Sources/\(name)")
}

let package = Package(
    name: "Trellis",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "trellis", targets: ["trellis"]),
        .executable(name: "trellis-identity", targets: ["trellis-identity"]),
        .executable(name: "trellis-templates", targets: ["trellis-templates"]),
        .executable(name: "trellis-pipelines", targets: ["trellis-pipelines"]),
        .executable(name: "trellis-orchestrator", targets: ["trellis-orchestrator"]),
        .executable(name: "trellis-cluster-gateway", targets: ["trellis-cluster-gateway"]),
        .executable(name: "trellis-metrics", targets: ["trellis-metrics"]),
        .executable(name: "trellis-gateway", targets: ["trellis-gateway"]),
        .executable(name: "trellis-shim", targets: ["trellis-shim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/vapor/sql-kit", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit", from: "2.17.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML", "CommandLineArguments"]),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
    ],
    targets: [
        // Pure domain: no I/O, no clock reads.
        .target(name: "TrellisCore"),
        .target(
            name: "TrellisStore",
            dependencies: [
                "TrellisCore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ServiceContracts",
            dependencies: [
                "TrellisCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .target(
            name: "TrellisHTTP",
            dependencies: [
                "TrellisCore", "TrellisStore", "ServiceContracts",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Identity",
            dependencies: serviceDependencies + [
                "CLDAP",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            plugins: ["EmbedFiles"]
        ),
        .target(
            name: "TemplateRegistry", dependencies: serviceDependencies + [.product(name: "Yams", package: "Yams")], plugins: ["EmbedFiles"]
        ),
        .target(
            name: "PipelineStore", dependencies: serviceDependencies + [.product(name: "Yams", package: "Yams")], plugins: ["EmbedFiles"]),
        .target(
            name: "RunOrchestrator",
            dependencies: serviceDependencies + [
                .product(name: "Prometheus", package: "swift-prometheus"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            plugins: ["EmbedFiles"]),
        .target(
            name: "ClusterGateway",
            dependencies: serviceDependencies + [
                "TrellisShim",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ],
            plugins: ["EmbedFiles"]
        ),
        // OpenLDAP's client library, for directory logins.
        .systemLibrary(name: "CLDAP", pkgConfig: "ldap", providers: [.apt(["libldap2-dev"])]),
        // The task supervisor: the standard library only, so it starts in a few milliseconds.
        .target(name: "TrellisShim", dependencies: ["CSpawn"]),
        // How the supervisor starts a task's process: vfork's way, which Swift cannot call.
        .target(name: "CSpawn"),
        .target(name: "MetricsCollector", dependencies: serviceDependencies, plugins: ["EmbedFiles"]),
        .target(
            name: "Gateway",
            dependencies: serviceDependencies + [
                "Identity", "TemplateRegistry", "PipelineStore", "RunOrchestrator", "ClusterGateway",
                "MetricsCollector",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
            ],
            plugins: ["EmbedFiles"]
        ),
        .executableTarget(
            name: "trellis",
            dependencies: [
                "Gateway", "TemplateRegistry", "TrellisCore", "TrellisHTTP", "ServiceContracts", "TrellisStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        serviceExecutable("trellis-identity", "Identity"),
        serviceExecutable("trellis-templates", "TemplateRegistry"),
        serviceExecutable("trellis-pipelines", "PipelineStore"),
        serviceExecutable("trellis-orchestrator", "RunOrchestrator"),
        serviceExecutable("trellis-cluster-gateway", "ClusterGateway"),
        serviceExecutable("trellis-metrics", "MetricsCollector"),
        .executableTarget(name: "trellis-gateway", dependencies: ["Gateway"]),
        // Static: a sandbox binds it in to measure the task (`trellis-shim measure`), without the Swift runtime's folder.
        .executableTarget(
            name: "trellis-shim", dependencies: ["TrellisShim"], linkerSettings: [.unsafeFlags(["-static-executable"])]),

        // Build tooling: SQL migrations and the portal are compiled into the binaries.
        .executableTarget(name: "embed-files", path: "Plugins/embed-files"),
        .plugin(name: "EmbedFiles", capability: .buildTool(), dependencies: ["embed-files"]),

        // Tests
        .target(
            name: "TrellisTestSupport",
            dependencies: [
                "TrellisCore", "TrellisStore", "TrellisHTTP", "ServiceContracts", "Gateway", "ClusterGateway",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/TrellisTestSupport"
        ),
        // The fixtures are read from the source tree (#filePath), not bundled.
        .testTarget(name: "TrellisCoreTests", dependencies: ["TrellisCore", "TrellisTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TrellisStoreTests", dependencies: ["TrellisStore", "TrellisTestSupport"]),
        .testTarget(
            name: "TrellisHTTPTests",
            dependencies: [
                "TrellisHTTP", "ServiceContracts", "TrellisCore", "TrellisTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "IdentityTests",
            dependencies: [
                "Identity", "TrellisCore", "TrellisHTTP", "ServiceContracts", "TrellisTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "TemplateRegistryTests",
            dependencies: [
                "Gateway", "TemplateRegistry", "TrellisCore", "TrellisTestSupport", "TrellisHTTP", "ServiceContracts", "TrellisStore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "PipelineStoreTests",
            dependencies: ["PipelineStore", "TrellisCore", "TrellisStore", "TrellisTestSupport"]
        ),
        .testTarget(
            name: "RunOrchestratorTests",
            dependencies: ["TrellisTestSupport", "TrellisStore", .product(name: "SQLKit", package: "sql-kit")]),
        .testTarget(name: "TrellisShimTests", dependencies: ["TrellisShim"]),
        .testTarget(
            name: "MetricsCollectorTests",
            dependencies: [
                "MetricsCollector", "ServiceContracts", "TrellisCore", "TrellisStore", "TrellisTestSupport", "ClusterGateway",
                .product(name: "SQLKit", package: "sql-kit"),
            ]),
        .testTarget(name: "ClusterGatewayTests", dependencies: ["ClusterGateway", "TrellisStore", "TrellisTestSupport"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "TrellisTestSupport", "TrellisStore", "TrellisCore", "ClusterGateway",
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "SQLKit", package: "sql-kit"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
