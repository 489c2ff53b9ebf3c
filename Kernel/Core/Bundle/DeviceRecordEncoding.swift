// The 192-byte device record (BundleFormat.DeviceRecord): written here once, for the bundle writer and the measurement.

public enum DeviceRecordEncoding {
    /// Writes `device` as a device record owned by `owner` into `out` (at least 192 bytes, zeroed
    /// by the caller: reserved bytes and the tails of the path and compatible stay zero).
    public static func encode(_ device: DeviceSpec, owner: UInt8, into out: UnsafeMutableRawBufferPointer) {
        typealias D = BundleFormat.DeviceRecord
        guard out.count >= D.end else { return }
        out[D.owner] = owner
        out[D.interruptCount] = UInt8(truncatingIfNeeded: device.interruptCount)
        out[D.flags] = device.dmaCapable ? 1 : 0
        out[D.pathLength] = UInt8(truncatingIfNeeded: device.path.count)
        out[D.compatibleLength] = UInt8(truncatingIfNeeded: device.compatible.count)
        out.storeBytes(of: device.region.base.raw.littleEndian, toByteOffset: D.base, as: UInt64.self)
        out.storeBytes(of: device.region.size.littleEndian, toByteOffset: D.size, as: UInt64.self)
        var i = 0
        while i < device.interruptCount && i < DeviceLimits.maxInterrupts {
            out.storeBytes(of: device.interrupts[i].littleEndian, toByteOffset: D.interrupts &+ 4 &* i, as: UInt32.self)
            i &+= 1
        }
        device.path.withBytes { path in
            var j = 0
            while j < path.count && j < D.pathCapacity { out[D.path &+ j] = path[j]; j &+= 1 }
        }
        device.compatible.withBytes { text in
            var j = 0
            while j < text.count && j < D.compatibleCapacity { out[D.compatible &+ j] = text[j]; j &+= 1 }
        }
    }
}
