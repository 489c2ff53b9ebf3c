// swift-tools-version:6.0
// Host build: the portable Core as a library (also compiled in Embedded mode by the Makefile),
// the `bulkhead` CLI, and the host unit tests.
import PackageDescription

let package = Package(
    name: "Bulkhead",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bulkhead", targets: ["bulkhead"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.0.0"),
    ],
    targets: [
        .target(name: "BulkheadCore", path: "Kernel/Core"),
        .target(
            name: "BulkheadTool",
            dependencies: ["BulkheadCore", .product(name: "TOMLKit", package: "TOMLKit"),
                           .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "SwiftASN1", package: "swift-asn1")],
            path: "Tools/BulkheadTool",
            resources: [.copy("Resources/qemu-virt.dtb")]
        ),
        .executableTarget(
            name: "bulkhead",
            dependencies: ["BulkheadTool", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/bulkhead"
        ),
        // The hypervisor's Boot and Board code on the fake arch (Kernel/Arch/Fake: harts as host
        // threads), for host tests of trap dispatch and partition stop, park and restart. Its
        // folder holds only links to those folders.
        .target(name: "KernelOnFakeArch", dependencies: ["BulkheadCore"], path: "Tests/KernelOnFakeArch",
                exclude: ["QEMUVirt/boot.cmd"],
                swiftSettings: [.swiftLanguageMode(.v5), .define("BULKHEAD_FAKE_ARCH")]),
        .testTarget(name: "KernelTests", dependencies: ["KernelOnFakeArch", "BulkheadCore"], path: "Tests/KernelTests"),
        .testTarget(name: "CoreTests", dependencies: ["BulkheadCore"], path: "Tests/CoreTests", exclude: ["Fixtures"]),
        .testTarget(
            name: "CryptoTests",
            dependencies: ["BulkheadCore", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/CryptoTests"
        ),
        .testTarget(name: "ToolTests", dependencies: ["BulkheadTool"], path: "Tests/ToolTests"),
        // The secure monitor's Swift sources built for the host, for tests of its C entry points.
        .target(name: "MonitorHost", dependencies: ["BulkheadCore"], path: "Kernel/Monitor",
                exclude: ["include", "opensbi", "probe", "monitor.mk", "MonitorEntry.S"],
                sources: ["Monitor.swift", "MonitorRecord.swift", "NextStage.swift", "OSKeys.swift", "HostSupport"]),
        .testTarget(
            name: "MonitorTests",
            dependencies: ["MonitorHost", "BulkheadCore", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/MonitorTests"
        ),
    ]
)
