// Fake arch: the image, stacks, storage and shared words, in FakeMachine's buffers.
import BulkheadCore

private var storage: FakeStorage { FakeMachine.current.storage }

enum KernelImage {
    static var start: UInt64 { storage.address(storage.image) }
    static var end: UInt64 { start &+ UInt64(storage.image.count) }
    static var textEnd: UInt64 { start &+ 0x8000 }
    static var rodataEnd: UInt64 { start &+ 0xC000 }
    static var dataStart: UInt64 { rodataEnd }
    static var trapVector: UInt64 { start }
    static var secondaryEntry: UInt64 { start }
    static var entryInstret: UInt64 { 0 }
}

enum HartStacks {
    static let size: UInt64 = 0x8000
    static let bootSize: UInt64 = 0x30000
    static let guardSize: UInt64 = 0x1000
    static let paint: UInt64 = 0x5354414b5041494e
    static func base(hart: Int) -> UInt64 { storage.address(storage.stacks, hart * Int(guardSize + size) + Int(guardSize)) }
    static var bootBase: UInt64 { storage.address(storage.bootStack, Int(guardSize)) }
}

enum KernelStorage {
    static var hostPageTables: HostRegion { region(storage.hostPageTables) }
    static var guestPageTablePool: HostRegion { region(storage.guestPageTablePool) }
    static var ipcQueues: HostRegion { region(storage.ipcQueues) }
    static var deviceTreeCopy: HostRegion { region(storage.deviceTreeCopy) }
    static var systemConfig: HostRegion { region(storage.systemConfig) }
    static func keystoreBuffer(_ which: UInt64) -> HostRegion {
        HostRegion(base: HostPhysAddr(storage.address(storage.keystoreBuffers, Int(which & 1) * 0x2800)), size: 0x2800)
    }
    private static func region(_ buffer: UnsafeMutableRawBufferPointer) -> HostRegion {
        HostRegion(base: HostPhysAddr(storage.address(buffer)), size: UInt64(buffer.count))
    }
}

enum SharedWords {
    static func mailboxRequest(_ hart: Int) -> AtomicWord32 { AtomicWord32(pointer: word(storage.mailboxes, hart * 32)) }
    static func mailboxState(_ hart: Int) -> AtomicWord32 { AtomicWord32(pointer: word(storage.mailboxes, hart * 32 + 4)) }
    static func mailboxStart(_ hart: Int) -> UnsafeMutablePointer<UInt64> { word(storage.mailboxes, hart * 32 + 8) }
    static func mailboxOpaque(_ hart: Int) -> UnsafeMutablePointer<UInt64> { word(storage.mailboxes, hart * 32 + 16) }
    static func mailboxSSWI(_ hart: Int) -> UnsafeMutablePointer<UInt64> { word(storage.mailboxes, hart * 32 + 24) }
    static func partitionBusy(_ p: Int) -> UnsafeMutablePointer<UInt32> { word(storage.partitions, p * 16) }
    static func partitionBootCount(_ p: Int) -> AtomicWord32 { AtomicWord32(pointer: word(storage.partitions, p * 16 + 4)) }
    static func partitionStopped(_ p: Int) -> AtomicWord32 { AtomicWord32(pointer: word(storage.partitions, p * 16 + 8)) }
    static func partitionPLICLock(_ p: Int) -> UnsafeMutablePointer<UInt32> { word(storage.partitions, p * 16 + 12) }
    static func lock(_ i: Int) -> UnsafeMutablePointer<UInt32> { word(storage.locks, (i & 7) * 4) }
    static func ringLock(_ ring: Int) -> UnsafeMutablePointer<UInt32> { word(storage.ringLocks, (ring & 31) * 4) }
    static func heldRanks(_ index: Int) -> UnsafeMutablePointer<UInt32> { word(storage.heldRanks, min(index, Limits.harts) * 4) }
    static func doorbells(_ p: Int) -> AtomicWord64 { AtomicWord64(pointer: word(storage.doorbells, (p & 7) * 8)) }
    static func bootWork(_ i: Int) -> AtomicWord64 { AtomicWord64(pointer: word(storage.bootWork, (i & 3) * 8)) }

    private static func word<T>(_ buffer: UnsafeMutableRawBufferPointer, _ offset: Int) -> UnsafeMutablePointer<T> {
        (buffer.baseAddress! + offset).assumingMemoryBound(to: T.self)
    }
}
