// What the firmware hands over at entry, made safe to use: the device tree copied into the hypervisor, the initrd bundle moved into staging.
import BulkheadCore

/// Copies the device tree at `address` (sized by its header's big-endian `totalsize`, offset 4)
/// into the hypervisor's own buffer and returns the copy. The original may lie in RAM a
/// partition is given later (U-Boot keeps its tree near the top of RAM), so every later read
/// uses the copy. Halts when there is no tree there or it does not fit.
func copyDeviceTree(from address: UInt64) -> UnsafeRawBufferPointer {
    guard address != 0, address & 3 == 0, let source = UnsafeRawPointer(bitPattern: UInt(address)) else {
        halt { out in out.write("error: no device tree: the firmware passed a1 = "); out.write(hex: address) }
    }
    let magic = UInt32(bigEndian: source.load(as: UInt32.self))
    let size = UInt64(UInt32(bigEndian: source.load(fromByteOffset: 4, as: UInt32.self)))
    guard magic == 0xd00d_feed else {
        halt { out in out.write("error: no device tree at "); out.write(hex: address); out.write(" (magic "); out.write(hex: UInt64(magic))
               out.write(", expected 0xd00dfeed)") }
    }
    guard size >= 40, size <= KernelStorage.deviceTreeCopy.size else {
        halt { out in out.write("error: the device tree at "); out.write(hex: address); out.write(" is "); out.write(decimal: size)
               out.write(" bytes; the hypervisor keeps at most "); out.write(size: KernelStorage.deviceTreeCopy.size) }
    }
    let copy = hostPointer(KernelStorage.deviceTreeCopy.base.raw)
    copy.copyMemory(from: source, byteCount: Int(size))
    return UnsafeRawBufferPointer(start: UnsafeRawPointer(copy), count: Int(size))
}

/// Moves a bundle handed over as the initrd (`/chosen` linux,initrd-start/-end, what U-Boot's
/// `booti` sets) to the start of `staging`, where verified boot then checks it like any bundle
/// handed over in RAM (PreloadedBundle.swift). The ranges may overlap (`copyMemory` is a
/// memmove). Returns false,
/// after saying why, when it does not fit.
func stageInitrd(_ initrd: HostRegion, into staging: UnsafeMutableRawBufferPointer) -> Bool {
    guard initrd.size <= UInt64(staging.count), let destination = staging.baseAddress else {
        log { out in
            out.write("initrd at "); out.write(hex: initrd.base.raw); out.write(" + "); out.write(size: initrd.size)
            out.write(" refused: larger than the staging area ("); out.write(size: UInt64(staging.count)); out.write(")")
        }
        return false
    }
    if initrd.base.raw != UInt64(UInt(bitPattern: destination)) {
        destination.copyMemory(from: UnsafeRawPointer(hostPointer(initrd.base.raw)), byteCount: Int(initrd.size))
    }
    log { out in
        out.write("initrd at "); out.write(hex: initrd.base.raw); out.write(" + "); out.write(size: initrd.size)
        out.write(" moved to the staging area at "); out.write(hex: UInt64(UInt(bitPattern: destination)))
    }
    return true
}
