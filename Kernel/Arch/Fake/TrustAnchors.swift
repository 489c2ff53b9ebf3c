// Fake arch: the image trusts no signing key (host tests of traps and partition control verify no bundle).
import BulkheadCore

func builtInTrustAnchors() -> (anchors: TrustAnchors, revoked: RevokedKeys) { (TrustAnchors(), RevokedKeys()) }
