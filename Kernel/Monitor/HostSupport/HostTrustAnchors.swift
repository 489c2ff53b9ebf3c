// Host-only (SwiftPM target MonitorHost; monitor.mk globs only Kernel/Monitor/*.swift): trust anchors the tests set, in place of the generated TrustAnchors.swift.
import BulkheadCore

/// What `builtInTrustAnchors()` returns in the host build; the tests assign it.
nonisolated(unsafe) var hostTrustAnchors = (anchors: TrustAnchors(), revoked: RevokedKeys())

func builtInTrustAnchors() -> (anchors: TrustAnchors, revoked: RevokedKeys) { hostTrustAnchors }
