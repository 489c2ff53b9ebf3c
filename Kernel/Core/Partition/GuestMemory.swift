// A partition's RAM as the hypervisor sees it: guest-physical ranges checked, then translated.

/// Guest pointers are allegations: `check` accepts a range only when it lies wholly inside the
/// partition's RAM, and only then gives a GuestBuffer over it.
public struct GuestMemory: Sendable {
    public var guestBase: GuestPhysAddr
    public var host: HostRegion
    public init(guestBase: GuestPhysAddr = guestRAMBase, host: HostRegion) {
        self.guestBase = guestBase; self.host = host
    }

    /// The host address of [address, address + length), or `nil` if any byte lies outside. Only
    /// `check` (GuestBuffer.swift) uses it: services reach guest memory through a GuestBuffer.
    func hostAddress(of address: GuestPhysAddr, length: UInt64) -> HostPhysAddr? {
        guard address >= guestBase else { return nil }
        let offset = address.raw - guestBase.raw
        guard offset <= host.size, length <= host.size - offset else { return nil }
        return host.base.adding(offset)
    }
}
