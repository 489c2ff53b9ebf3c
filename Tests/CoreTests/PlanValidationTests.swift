// Plan validation against a QEMU-virt-like board: one valid plan, then every error validate can
// throw, each with its partition, its TOML field and its rendered message; plus the fixed-size
// building blocks (FixedText, HartList, PartitionPlan) and HostRegion's edge cases.
// Channels (ChannelValidationTests): every channel PlanError, its channel, field and message.

import Testing
@testable import BulkheadCore

// MARK: - Fixtures

/// QEMU virt's reserved memory as the kernel sees it: the firmware's first 2 MiB, then the
/// hypervisor's image, pool and staging area up to 0x8400_0000.
let virtReserved: ReservedRegions = {
    var list = ReservedRegions(HostRegion(base: HostPhysAddr(0x8000_0000), size: 0x20_0000), kind: .firmware)
    _ = list.append(ReservedRegion(HostRegion(base: HostPhysAddr(0x8020_0000), size: 0x03E0_0000), kind: .hypervisor))
    return list
}()

/// QEMU virt: 1 GiB of RAM at 0x8000_0000, harts 0-3, the first 64 MiB reserved for
/// firmware and the hypervisor.
private let virtBoard = BoardLimits(
    ram: HostRegion(base: HostPhysAddr(0x8000_0000), size: PageSize.giga),
    hartMask: 0b1111,
    reserved: virtReserved
)

private let mib: UInt64 = 0x10_0000

private func planName(_ text: String) -> PartitionName {
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBytes { PartitionName(bytes: $0) }!
}

private func partition(
    _ name: String, harts: [UInt32], base: UInt64, size: UInt64,
    image: UInt64 = 0x1000, entry: UInt64 = 0x8000_0000
) -> PartitionSpec {
    var spec = PartitionSpec()
    spec.name = planName(name)
    for h in harts { _ = spec.harts.append(h) }
    spec.memory = HostRegion(base: HostPhysAddr(base), size: size)
    spec.imageSize = image
    spec.entry = GuestPhysAddr(entry)
    return spec
}

/// alpha: hart 0, [0x8400_0000, +64 MiB); beta: harts 1, 2, [0x8800_0000, +64 MiB);
/// gamma: hart 3, [0x9000_0000, +128 MiB), entry inside its 1 MiB image.
private func validSpecs() -> [PartitionSpec] {
    [
        partition("alpha", harts: [0], base: 0x8400_0000, size: 64 * mib, image: 0x1_0000),
        partition("beta", harts: [1, 2], base: 0x8800_0000, size: 64 * mib, image: 0x1000),
        partition("gamma", harts: [3], base: 0x9000_0000, size: 128 * mib, image: mib, entry: 0x8000_0100),
    ]
}

private func makePlan(_ specs: [PartitionSpec]) -> PartitionPlan {
    var plan = PartitionPlan()
    for s in specs { _ = plan.append(s) }
    return plan
}

/// The valid plan with partition `index` changed by `edit`.
private func planEditing(_ index: Int, _ edit: (inout PartitionSpec) -> Void) -> PartitionPlan {
    var specs = validSpecs()
    edit(&specs[index])
    return makePlan(specs)
}

private func validationError(_ plan: PartitionPlan, board: BoardLimits = virtBoard) -> PlanError? {
    do throws(PlanError) {
        try plan.validate(for: board)
        return nil
    } catch {
        return error
    }
}

private func render(_ error: PlanError, _ plan: PartitionPlan) -> String {
    var sink = StringSink()
    error.write(to: &sink, plan: plan)
    return sink.text
}

/// Validates `plan`, expecting exactly `expected` with the given partition/field, and a message
/// equal to `message`.
private func expectRejected(
    _ plan: PartitionPlan, _ expected: PlanError, partition: Int?, field: PlanField?, message: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let error = validationError(plan)
    #expect(error == expected, sourceLocation: sourceLocation)
    guard let error else { return }
    #expect(error.partition == partition, sourceLocation: sourceLocation)
    #expect(error.field == field, sourceLocation: sourceLocation)
    #expect(render(error, plan) == message, sourceLocation: sourceLocation)
}

// MARK: - Validation

@Suite("PlanValidation: validate(for:)")
struct PlanValidationTests {
    @Test func validThreePartitionPlanPasses() {
        let plan = makePlan(validSpecs())
        #expect(plan.count == 3)
        #expect(validationError(plan) == nil)
    }

    @Test func theUpdatePolicyNamesOnlyOtherPartitionsOfThePlan() {
        #expect(validationError(planEditing(0) { $0.updateTargets = 0b110 }) == nil)
        expectRejected(planEditing(1) { $0.updateTargets = 0b1000 }, .updateTargetUnknown(partition: 1, target: 3),
                       partition: 1, field: .update,
                       message: "partition #1 \"beta\", field update: partition #3 does not exist: update may name only partitions of the plan")
        expectRejected(planEditing(2) { $0.updateTargets = 0b101 }, .updateTargetSelf(partition: 2), partition: 2, field: .update,
                       message: "partition #2 \"gamma\", field update: a partition cannot update itself (its image would be replaced under the call): give the policy to another partition")
    }

    @Test func memoryEndingExactlyAtRAMEndAndTouchingNeighboursIsValid() {
        // alpha [0x8400_0000, 0x8800_0000) already touches beta; grow beta to touch gamma too.
        let touching = planEditing(1) { $0.memory.size = 128 * mib }
        #expect(validationError(touching) == nil)
        // gamma [0xBC00_0000, 0xC000_0000) ends exactly at the end of RAM.
        let atEnd = planEditing(2) { $0.memory = HostRegion(base: HostPhysAddr(0xBC00_0000), size: 64 * mib) }
        #expect(validationError(atEnd) == nil)
    }

    @Test func memoryStartingRightAfterReservedIsValid() {
        // alpha already starts at the reserved end (0x8400_0000); shrink it to one superpage too.
        let plan = planEditing(0) { $0.memory.size = PlanLimits.memoryAlignment; $0.imageSize = 0x1000 }
        #expect(validationError(plan) == nil)
    }

    @Test func imageExactlyAtLimitAndEntryAtLastHalfwordAreValid() {
        let plan = planEditing(1) {
            $0.imageSize = 64 * mib - PlanLimits.deviceTreeReserve
            $0.entry = GuestPhysAddr(0x8000_0000 + $0.imageSize - 2)
        }
        #expect(validationError(plan) == nil)
    }

    @Test func namesWithAllAllowedCharactersAreValid() {
        let plan = planEditing(1) { $0.name = planName("a-z_09-") }
        #expect(validationError(plan) == nil)
        let sixteen = planEditing(1) { $0.name = planName("abcdefghijklmnop") }
        #expect(validationError(sixteen) == nil)
    }

    @Test func noPartitions() {
        let plan = PartitionPlan()
        expectRejected(plan, .noPartitions, partition: nil, field: nil, message: "the plan has no partitions")
    }

    @Test func emptyName() {
        let plan = planEditing(1) { $0.name = PartitionName() }
        expectRejected(plan, .emptyName(partition: 1), partition: 1, field: .name,
                       message: "partition #1, field name: the name is empty")
    }

    @Test("invalid name character", arguments: ["Beta", "be ta", "be.ta", "be/ta", "beta!", "\u{e9}t\u{e9}", "b\u{0}"])
    func invalidNameCharacter(_ name: String) {
        let plan = planEditing(1) { $0.name = planName(name) }
        let error = validationError(plan)
        #expect(error == .invalidNameCharacter(partition: 1))
        #expect(error?.partition == 1)
        #expect(error?.field == .name)
        if let error {
            #expect(render(error, plan) ==
                "partition #1 \"\(name)\", field name: names may use only a-z, 0-9, '-' and '_'")
        }
    }

    @Test func duplicateName() {
        let plan = planEditing(2) { $0.name = planName("alpha") }
        expectRejected(plan, .duplicateName(partition: 2, first: 0), partition: 2, field: .name,
                       message: "partition #2 \"alpha\", field name: the name is already used by partition #0")
    }

    @Test func duplicateNameIsCaughtBetweenLaterPartitions() {
        let plan = planEditing(2) { $0.name = planName("beta") }
        #expect(validationError(plan) == .duplicateName(partition: 2, first: 1))
    }

    @Test func prefixOfAnotherNameIsNotADuplicate() {
        let plan = planEditing(2) { $0.name = planName("alph") }
        #expect(validationError(plan) == nil)
    }

    @Test func noHarts() {
        let plan = planEditing(1) { $0.harts = HartList() }
        expectRejected(plan, .noHarts(partition: 1), partition: 1, field: .harts,
                       message: "partition #1 \"beta\", field harts: no harts are listed")
    }

    @Test("hart not on board", arguments: [UInt32(4), 63, 64, 100, UInt32.max])
    func hartNotOnBoard(_ hart: UInt32) {
        let plan = planEditing(1) { var h = HartList(); _ = h.append(1); _ = h.append(hart); $0.harts = h }
        expectRejected(plan, .hartNotOnBoard(partition: 1, hart: hart), partition: 1, field: .harts,
                       message: "partition #1 \"beta\", field harts: hart \(hart) does not exist on this board")
    }

    @Test func hartListedTwice() {
        let plan = planEditing(1) { var h = HartList(); _ = h.append(1); _ = h.append(2); _ = h.append(1); $0.harts = h }
        expectRejected(plan, .hartListedTwice(partition: 1, hart: 1), partition: 1, field: .harts,
                       message: "partition #1 \"beta\", field harts: hart 1 is listed twice")
    }

    @Test func hartShared() {
        let plan = planEditing(2) { var h = HartList(); _ = h.append(3); _ = h.append(2); $0.harts = h }
        expectRejected(plan, .hartShared(partition: 2, hart: 2, owner: 1), partition: 2, field: .harts,
                       message: "partition #2 \"gamma\", field harts: hart 2 is already given to partition #1 \"beta\"")
    }

    @Test func memoryEmpty() {
        let plan = planEditing(1) { $0.memory.size = 0 }
        expectRejected(plan, .memoryEmpty(partition: 1), partition: 1, field: .memorySize,
                       message: "partition #1 \"beta\", field memory_size: the memory size is zero")
    }

    @Test func memoryMisalignedBase() {
        let plan = planEditing(1) { $0.memory.base = HostPhysAddr(0x8800_1000) }
        expectRejected(plan, .memoryMisaligned(partition: 1, field: .memoryBase), partition: 1, field: .memoryBase,
                       message: "partition #1 \"beta\", field memory_base: the base is not a multiple of 2 MiB")
    }

    @Test func memoryMisalignedSize() {
        let plan = planEditing(1) { $0.memory.size = 64 * mib + 0x1000 }
        expectRejected(plan, .memoryMisaligned(partition: 1, field: .memorySize), partition: 1, field: .memorySize,
                       message: "partition #1 \"beta\", field memory_size: the size is not a multiple of 2 MiB")
    }

    @Test func memoryBeyondRAMEnd() {
        let plan = planEditing(1) { $0.memory.base = HostPhysAddr(0xBE00_0000) }
        expectRejected(plan, .memoryOutOfRange(partition: 1), partition: 1, field: .memoryBase,
                       message: "partition #1 \"beta\", field memory_base: the memory [0xbe000000, 0xc2000000) lies outside the board's RAM")
    }

    @Test func memoryBelowRAMBase() {
        let plan = planEditing(1) { $0.memory.base = HostPhysAddr(0x7E00_0000) }
        expectRejected(plan, .memoryOutOfRange(partition: 1), partition: 1, field: .memoryBase,
                       message: "partition #1 \"beta\", field memory_base: the memory [0x7e000000, 0x82000000) lies outside the board's RAM")
    }

    @Test func memoryWrappingAround64Bits() {
        let plan = planEditing(1) { $0.memory = HostRegion(base: HostPhysAddr(0xFFFF_FFFF_FFE0_0000), size: 4 * mib) }
        expectRejected(plan, .memoryOutOfRange(partition: 1), partition: 1, field: .memoryBase,
                       message: "partition #1 \"beta\", field memory_base: the memory [0xffffffffffe00000, 0x200000) lies outside the board's RAM")
    }

    @Test func memoryLargerThanFourGiBBreaksTheFourGiBLimitOnAnyBoard() {
        let bigBoard = BoardLimits(ram: HostRegion(base: HostPhysAddr(0x8000_0000), size: 16 * PageSize.giga),
                                   hartMask: 0b1111, reserved: virtBoard.reserved)
        let plan = planEditing(2) { $0.memory = HostRegion(base: HostPhysAddr(0x1_0000_0000), size: 4 * PageSize.giga + 2 * mib) }
        #expect(validationError(plan, board: bigBoard) == .memoryTooLarge(partition: 2))
        // On the small board too: the 4 GiB rule, not "outside the board's RAM".
        let fiveGiB = planEditing(2) { $0.memory = HostRegion(base: HostPhysAddr(0x1_0000_0000), size: 5 * PageSize.giga) }
        expectRejected(fiveGiB, .memoryTooLarge(partition: 2), partition: 2, field: .memorySize,
                       message: "partition #2 \"gamma\", field memory_size: the memory size (5 GiB) breaks the 4 GiB limit: "
                           + "a partition has at most that much RAM")
        let fits = planEditing(2) { $0.memory = HostRegion(base: HostPhysAddr(0x1_0000_0000), size: 4 * PageSize.giga) }
        #expect(validationError(fits, board: bigBoard) == nil)
    }

    @Test func memoryReserved() {
        let plan = planEditing(0) { $0.memory.base = HostPhysAddr(0x8200_0000) }
        expectRejected(plan, .memoryReserved(partition: 0, reserved: virtReserved[1]), partition: 0, field: .memoryBase,
                       message: "partition #0 \"alpha\", field memory_base: the memory [0x82000000, 0x86000000) overlaps memory "
                           + "reserved for the hypervisor (image, shared pool, bundle staging) [0x80200000, 0x84000000)")
    }

    /// A region the firmware keeps in the middle of RAM (a /reserved-memory node) is refused by name.
    @Test func memoryReservedByFirmware() {
        var reserved = virtReserved
        let firmware = ReservedRegion(HostRegion(base: HostPhysAddr(0x8500_0000), size: 0x1_0000), kind: .firmware)
        _ = reserved.append(firmware)
        let board = BoardLimits(ram: virtBoard.ram, hartMask: virtBoard.hartMask, reserved: reserved)
        let plan = planEditing(0) { $0.memory.base = HostPhysAddr(0x8400_0000) }
        #expect(validationError(plan, board: board) == .memoryReserved(partition: 0, reserved: firmware))
        var sink = StringSink()
        validationError(plan, board: board)?.write(to: &sink, plan: plan)
        #expect(sink.text == "partition #0 \"alpha\", field memory_base: the memory [0x84000000, 0x88000000) overlaps memory "
                    + "reserved for firmware [0x85000000, 0x85010000)")
        // The first firmware region (below the hypervisor) is named when that is what overlaps.
        let low = planEditing(0) { $0.memory.base = HostPhysAddr(0x8000_0000) }
        #expect(validationError(low, board: board) == .memoryReserved(partition: 0, reserved: virtReserved[0]))
    }

    @Test func memoryOverlap() {
        let plan = planEditing(2) { $0.memory.base = HostPhysAddr(0x8A00_0000) }
        expectRejected(plan, .memoryOverlap(partition: 2, other: 1), partition: 2, field: .memoryBase,
                       message: "partition #2 \"gamma\", field memory_base: the memory overlaps partition #1 \"beta\"")
    }

    @Test func memoryOverlapNamesTheFirstOverlappedPartition() {
        // gamma covering both alpha and beta is reported against alpha (#0).
        let plan = planEditing(2) { $0.memory = HostRegion(base: HostPhysAddr(0x8400_0000), size: 256 * mib) }
        #expect(validationError(plan) == .memoryOverlap(partition: 2, other: 0))
    }

    @Test func emptyImage() {
        let plan = planEditing(1) { $0.imageSize = 0 }
        expectRejected(plan, .emptyImage(partition: 1), partition: 1, field: .image,
                       message: "partition #1 \"beta\", field image: the image is empty")
    }

    @Test func imageTooLarge() {
        let limit = 64 * mib - PlanLimits.deviceTreeReserve
        let plan = planEditing(1) { $0.imageSize = limit + 1 }
        expectRejected(plan, .imageTooLarge(partition: 1, imageSize: limit + 1, limit: limit), partition: 1, field: .image,
                       message: "partition #1 \"beta\", field image: the image (67043329 bytes) does not fit in the 67043328 bytes available below the device tree")
    }

    @Test("entry outside image", arguments: [
        UInt64(0x7FFF_FFFE),        // before the RAM base
        0,                          // far below
        0x8000_1000,                // exactly at the image end (image is 0x1000 bytes)
        0x8000_2000,                // after the image end
        0xFFFF_FFFF_FFFF_FFFE,      // top of the address space
        0x8000_2001,                // odd and after the image: outside wins
    ])
    func entryOutsideImage(_ entry: UInt64) {
        let plan = planEditing(1) { $0.entry = GuestPhysAddr(entry) }
        expectRejected(plan, .entryOutsideImage(partition: 1), partition: 1, field: .entry,
                       message: "partition #1 \"beta\", field entry: the entry point lies outside the loaded image")
    }

    @Test("entry inside the image but odd", arguments: [UInt64(0x8000_0001), 0x8000_0FFF])
    func entryMisaligned(_ entry: UInt64) {
        let plan = planEditing(1) { $0.entry = GuestPhysAddr(entry) }
        expectRejected(plan, .entryMisaligned(partition: 1), partition: 1, field: .entry,
                       message: "partition #1 \"beta\", field entry: the entry point is not 2-byte aligned "
                           + "(RISC-V instructions start on even addresses)")
    }

    @Test func firstErrorInPartitionOrderWins() {
        var specs = validSpecs()
        specs[2].imageSize = 0          // error in gamma
        specs[1].harts = HartList()     // earlier error in beta
        #expect(validationError(makePlan(specs)) == .noHarts(partition: 1))
    }

    @Test func fieldOrderWithinAPartition() {
        // name, then harts, then memory, then image, then entry.
        var spec = partition("Bad", harts: [9], base: 0x1000, size: 0, image: 0, entry: 1)
        var plan = makePlan([spec])
        #expect(validationError(plan) == .invalidNameCharacter(partition: 0))
        spec.name = planName("ok"); plan = makePlan([spec])
        #expect(validationError(plan) == .hartNotOnBoard(partition: 0, hart: 9))
        spec.harts = HartList(); _ = spec.harts.append(0); plan = makePlan([spec])
        #expect(validationError(plan) == .memoryMisaligned(partition: 0, field: .memoryBase))
        spec.memory.base = HostPhysAddr(0x8400_0000); plan = makePlan([spec])
        #expect(validationError(plan) == .memoryEmpty(partition: 0))
        spec.memory.size = 2 * mib; plan = makePlan([spec])
        #expect(validationError(plan) == .emptyImage(partition: 0))
        spec.imageSize = 0x100; plan = makePlan([spec])
        #expect(validationError(plan) == .entryOutsideImage(partition: 0))
        spec.entry = guestRAMBase; plan = makePlan([spec])
        #expect(validationError(plan) == nil)
    }

    @Test func errorsThatValidateCannotReachStillRender() {
        let plan = makePlan(validSpecs())
        #expect(render(.tooManyPartitions(count: 9), plan) == "the plan has 9 partitions; at most 8 are supported")
        #expect(render(.nameTooLong(partition: 0), plan) ==
                "partition #0 \"alpha\", field name: the name is longer than 16 bytes")
        #expect(render(.tooManyHarts(partition: 1), plan) ==
                "partition #1 \"beta\", field harts: more than 8 harts are listed")
        #expect(render(.bootargsTooLong(partition: 2), plan) ==
                "partition #2 \"gamma\", field bootargs: boot arguments are longer than 128 bytes")
        // A partition index beyond the plan renders without a name and does not trap.
        #expect(render(.emptyImage(partition: 7), plan) == "partition #7, field image: the image is empty")
        #expect(PlanError.tooManyPartitions(count: 9).partition == nil)
        #expect(PlanError.tooManyPartitions(count: 9).field == nil)
        #expect(PlanError.bootargsTooLong(partition: 2).field == .bootargs)
    }

    @Test func fieldNamesAreTheTOMLKeys() {
        let expected: [(PlanField, String)] = [
            (.name, "name"), (.image, "image"), (.harts, "harts"), (.memoryBase, "memory_base"),
            (.memorySize, "memory_size"), (.entry, "entry"), (.onFault, "on_fault"), (.bootargs, "bootargs"),
        ]
        for (field, key) in expected {
            var sink = StringSink()
            field.write(to: &sink)
            #expect(sink.text == key)
        }
    }
}

// MARK: - Fixed-size building blocks

@Suite("PlanValidation: FixedText, HartList, PartitionPlan limits")
struct PlanLimitsTests {
    @Test func partitionNameAcceptsUpToSixteenBytes() {
        let sixteen = Array(repeating: UInt8(ascii: "a"), count: 16)
        let name = sixteen.withUnsafeBytes { PartitionName(bytes: $0) }
        #expect(name?.count == 16)
        let back = name?.withBytes { Array($0) }
        #expect(back == sixteen)
    }

    @Test func seventeenByteNameIsRejected() {
        let seventeen = Array(repeating: UInt8(ascii: "a"), count: 17)
        #expect(seventeen.withUnsafeBytes { PartitionName(bytes: $0) } == nil)
    }

    @Test func emptyTextHasNoBytes() {
        let empty = [UInt8]().withUnsafeBytes { PartitionName(bytes: $0) }
        #expect(empty?.count == 0)
        #expect(empty?.withBytes { $0.count } == 0)
        #expect(PartitionName().count == 0)
    }

    @Test func bootargsLimitIs128Bytes() {
        let ok = Array(repeating: UInt8(ascii: "x"), count: 128)
        let tooLong = Array(repeating: UInt8(ascii: "x"), count: 129)
        #expect(ok.withUnsafeBytes { Bootargs(bytes: $0) }?.count == 128)
        #expect(tooLong.withUnsafeBytes { Bootargs(bytes: $0) } == nil)
    }

    @Test func equalsComparesLengthAndContent() {
        #expect(planName("abc").equals(planName("abc")))
        #expect(!planName("ab").equals(planName("abc")))
        #expect(!planName("abc").equals(planName("ab")))
        #expect(!planName("abc").equals(planName("abd")))
        #expect(PartitionName().equals(PartitionName()))
    }

    @Test func hartListHoldsEightHarts() {
        var list = HartList()
        for h in UInt32(0)..<8 { let added = list.append(h * 2); #expect(added) }
        #expect(list.count == 8)
        let ninth = list.append(99)
        #expect(!ninth)
        #expect(list.count == 8)
        #expect(list[7] == 14)
        #expect(list.vcpu(onHart: 0) == 0)
        #expect(list.vcpu(onHart: 6) == 3)
        #expect(list.vcpu(onHart: 14) == 7)
        #expect(list.vcpu(onHart: 99) == nil)
        #expect(list.vcpu(onHart: 1) == nil)
    }

    @Test func emptyHartListOwnsNoHart() {
        let list = HartList()
        #expect(list.count == 0)
        #expect(list.vcpu(onHart: 0) == nil)   // the zero-filled storage is not a listed hart
    }

    @Test func planHoldsEightPartitions() {
        var plan = PartitionPlan()
        for _ in 0..<8 { let added = plan.append(PartitionSpec()); #expect(added) }
        let ninth = plan.append(PartitionSpec())
        #expect(!ninth)
        #expect(plan.count == 8)
    }

    @Test func boardHasHart() {
        let board = BoardLimits(ram: virtBoard.ram, hartMask: 1 << 63 | 0b101, reserved: virtBoard.reserved)
        #expect(board.hasHart(0))
        #expect(!board.hasHart(1))
        #expect(board.hasHart(2))
        #expect(board.hasHart(63))
        #expect(!board.hasHart(64))
        #expect(!board.hasHart(UInt32.max))
    }

    @Test func deviceTreeSitsAtTheTopOfPartitionRAM() {
        let spec = validSpecs()[1]
        #expect(spec.deviceTreeAddress == GuestPhysAddr(0x8000_0000 + 64 * mib - 0x1_0000))
    }
}

// MARK: - HostRegion

@Suite("PlanValidation: HostRegion")
struct HostRegionTests {
    private func region(_ base: UInt64, _ size: UInt64) -> HostRegion { HostRegion(base: HostPhysAddr(base), size: size) }

    @Test func touchingRegionsDoNotOverlap() {
        let a = region(0x1000, 0x1000), b = region(0x2000, 0x1000)
        #expect(!a.overlaps(b))
        #expect(!b.overlaps(a))
    }

    @Test func oneByteOfSharingOverlaps() {
        let a = region(0x1000, 0x1001), b = region(0x2000, 0x1000)
        #expect(a.overlaps(b))
        #expect(b.overlaps(a))
    }

    @Test func containedAndIdenticalRegionsOverlap() {
        let outer = region(0x1000, 0x10000), inner = region(0x2000, 0x10)
        #expect(outer.overlaps(inner))
        #expect(inner.overlaps(outer))
        #expect(outer.overlaps(outer))
    }

    @Test func zeroSizeRegionsNeverOverlap() {
        let outer = region(0x1000, 0x10000), empty = region(0x2000, 0)
        #expect(!outer.overlaps(empty))
        #expect(!empty.overlaps(outer))
        #expect(!empty.overlaps(empty))
    }

    @Test func containsEdges() {
        let outer = region(0x1000, 0x1000)
        #expect(outer.contains(outer))
        #expect(outer.contains(region(0x1000, 0x1)))
        #expect(outer.contains(region(0x1FFF, 0x1)))
        #expect(!outer.contains(region(0x1FFF, 0x2)))
        #expect(!outer.contains(region(0xFFF, 0x2)))
        #expect(!outer.contains(region(0x2000, 0x1)))
        #expect(!region(0x1000, 0x800).contains(outer))
        // Zero-size regions inside or at the end are (vacuously) contained.
        #expect(outer.contains(region(0x1800, 0)))
        #expect(outer.contains(region(0x2000, 0)))
        #expect(!outer.contains(region(0x2001, 0)))
    }

    @Test func endReportsWrap() {
        #expect(region(0x1000, 0x1000).end == HostPhysAddr(0x2000))
        #expect(region(UInt64.max, 0).end == HostPhysAddr(UInt64.max))
        #expect(region(UInt64.max, 1).end == nil)                         // ends exactly at 2^64
        #expect(region(0xFFFF_FFFF_FFFF_F000, 0x2000).end == nil)          // wraps
    }

    @Test func wrappingRegionsAreNeverContained() {
        let all = region(0, UInt64.max)
        let wrapping = region(0xFFFF_FFFF_FFFF_F000, 0x2000)
        #expect(!all.contains(wrapping))
        #expect(!wrapping.contains(region(0xFFFF_FFFF_FFFF_F800, 0x10)))
        #expect(!wrapping.contains(wrapping))
    }
}

// MARK: - Channels

/// The QEMU-virt-like board with an 8 MiB shared-memory pool inside its reserved memory.
private let poolBoard = BoardLimits(ram: virtBoard.ram, hartMask: virtBoard.hartMask, reserved: virtBoard.reserved,
                                    sharedPool: HostRegion(base: HostPhysAddr(0x8080_0000), size: 8 * mib))

private func channelName(_ text: String) -> ChannelName {
    Array(text.utf8).withUnsafeBytes { ChannelName(bytes: $0) }!
}

private func queue(_ name: String, _ a: UInt8, _ b: UInt8, depth: UInt32 = 4, messageSize: UInt32 = 64,
                   direction: ChannelDirection = .both) -> ChannelSpec {
    var c = ChannelSpec()
    c.name = channelName(name)
    c.kind = .queue
    c.endpoints = [a, b]
    c.depth = depth
    c.messageSize = messageSize
    c.direction = direction
    return c
}

private func shared(_ name: String, _ a: UInt8, _ b: UInt8, size: UInt64 = 0x1000) -> ChannelSpec {
    var c = ChannelSpec()
    c.name = channelName(name)
    c.kind = .sharedMemory
    c.endpoints = [a, b]
    c.size = size
    return c
}

/// alpha <-> beta queue "ab", beta -> gamma shared "frame" (8 KiB, doorbell), gamma <-> alpha queue "log".
private func validChannels() -> [ChannelSpec] {
    var frame = shared("frame", 1, 2, size: 0x2000)
    frame.direction = .forward
    frame.access = [.readWrite, .readOnly]
    frame.doorbell = true
    return [queue("ab", 0, 1), frame, queue("log", 2, 0, depth: 64, messageSize: 16, direction: .forward)]
}

private func channelPlan(_ channels: [ChannelSpec]) -> PartitionPlan {
    var plan = makePlan(validSpecs())
    for c in channels { _ = plan.appendChannel(c) }
    return plan
}

/// The valid channels with channel `index` changed by `edit`.
private func channelsEditing(_ index: Int, _ edit: (inout ChannelSpec) -> Void) -> PartitionPlan {
    var channels = validChannels()
    edit(&channels[index])
    return channelPlan(channels)
}

/// Validates `plan` on `board`, expecting exactly `expected` about `channel` and `field`, with `message`.
private func expectChannelRejected(
    _ plan: PartitionPlan, _ expected: PlanError, channel: Int?, field: PlanField?, message: String,
    board: BoardLimits = poolBoard, sourceLocation: SourceLocation = #_sourceLocation
) {
    let error = validationError(plan, board: board)
    #expect(error == expected, sourceLocation: sourceLocation)
    guard let error else { return }
    #expect(error.channel == channel, sourceLocation: sourceLocation)
    #expect(error.partition == nil, sourceLocation: sourceLocation)
    #expect(error.field == field, sourceLocation: sourceLocation)
    #expect(render(error, plan) == message, sourceLocation: sourceLocation)
}

@Suite("PlanValidation: channels")
struct ChannelValidationTests {
    @Test func validChannelsPass() {
        #expect(validationError(channelPlan(validChannels()), board: poolBoard) == nil)
        // Without channels the pool is not needed; a board without one still takes queues.
        #expect(validationError(channelPlan([queue("ab", 0, 1)])) == nil)
    }

    @Test func limitsAreInclusive() {
        let plan = channelPlan([queue("a", 0, 1, depth: 1, messageSize: 1), queue("b", 1, 2, depth: 8, messageSize: 4096),
                                queue("c", 2, 0, depth: 64, messageSize: 8, direction: .forward),
                                shared("d", 0, 1, size: 0x1000), shared("e", 1, 2, size: 0x20_0000)])
        #expect(validationError(plan, board: poolBoard) == nil)
        // The pool exactly full: four 2 MiB channels in 8 MiB.
        let full = channelPlan((0..<4).map { shared("s\($0)", 0, UInt8(1 + $0 % 2), size: 0x20_0000) })
        #expect(validationError(full, board: poolBoard) == nil)
        // Sixteen channels fit the plan; a seventeenth does not.
        var sixteen = channelPlan([])
        for c in 0..<16 { let added = sixteen.appendChannel(queue("q\(c)", 0, 1, depth: 1, messageSize: 8)); #expect(added) }
        let seventeenth = sixteen.appendChannel(queue("q16", 0, 1))
        #expect(!seventeenth && sixteen.channelCount == 16)
        #expect(validationError(sixteen, board: poolBoard) == nil)
    }

    @Test func tooManyChannelsRenders() {
        // validate cannot reach it (appendChannel refuses a seventeenth); the CLI reports it.
        let error = PlanError.tooManyChannels(count: 17)
        #expect(error.channel == nil && error.partition == nil && error.field == nil)
        #expect(render(error, channelPlan([])) == "the plan has 17 channels; at most 16 are supported")
    }

    @Test func emptyName() {
        let plan = channelsEditing(1) { $0.name = ChannelName() }
        expectChannelRejected(plan, .channelEmptyName(channel: 1), channel: 1, field: .name,
                              message: "channel #1, field name: the name is empty")
    }

    @Test("invalid channel name character", arguments: ["Frame", "fr ame", "fr.ame", "fr/ame", "\u{e9}", "f\u{0}"])
    func invalidNameCharacter(_ name: String) {
        let plan = channelsEditing(1) { $0.name = channelName(name) }
        expectChannelRejected(plan, .channelInvalidNameCharacter(channel: 1), channel: 1, field: .name,
                              message: "channel #1 \"\(name)\", field name: names may use only a-z, 0-9, '-' and '_'")
    }

    @Test func duplicateName() {
        let plan = channelsEditing(2) { $0.name = channelName("frame") }
        expectChannelRejected(plan, .channelDuplicateName(channel: 2, first: 1), channel: 2, field: .name,
                              message: "channel #2 \"frame\", field name: the name is already used by channel #1 \"frame\"")
        // A channel may share a partition's name: the two lists are separate.
        #expect(validationError(channelsEditing(0) { $0.name = channelName("alpha") }, board: poolBoard) == nil)
    }

    @Test func unknownPartition() {
        expectChannelRejected(channelsEditing(0) { $0.endpoints[0] = 3 }, .channelUnknownPartition(channel: 0, endpoint: 0),
                              channel: 0, field: .endpoints,
                              message: "channel #0 \"ab\", field endpoints: endpoint 0 names no partition of the plan")
        expectChannelRejected(channelsEditing(2) { $0.endpoints[1] = 255 }, .channelUnknownPartition(channel: 2, endpoint: 1),
                              channel: 2, field: .endpoints,
                              message: "channel #2 \"log\", field endpoints: endpoint 1 names no partition of the plan")
    }

    @Test func sameEndpoints() {
        expectChannelRejected(channelsEditing(1) { $0.endpoints = [2, 2] }, .channelSameEndpoints(channel: 1),
                              channel: 1, field: .endpoints,
                              message: "channel #1 \"frame\", field endpoints: both endpoints are the same partition")
    }

    @Test func fieldNotForKind() {
        expectChannelRejected(channelsEditing(0) { $0.size = 0x1000 }, .channelFieldNotForKind(channel: 0, field: .size),
                              channel: 0, field: .size,
                              message: "channel #0 \"ab\", field size: \"size\" does not apply to this kind of channel")
        expectChannelRejected(channelsEditing(1) { $0.depth = 4 }, .channelFieldNotForKind(channel: 1, field: .depth),
                              channel: 1, field: .depth,
                              message: "channel #1 \"frame\", field depth: \"depth\" does not apply to this kind of channel")
        expectChannelRejected(channelsEditing(1) { $0.messageSize = 64 }, .channelFieldNotForKind(channel: 1, field: .messageSize),
                              channel: 1, field: .messageSize,
                              message: "channel #1 \"frame\", field message_size: \"message_size\" does not apply to this kind of channel")
        // Rendering with the access field too (the CLI reports `access` on a queue this way).
        #expect(render(.channelFieldNotForKind(channel: 0, field: .access), channelPlan(validChannels()))
                == "channel #0 \"ab\", field access: \"access\" does not apply to this kind of channel")
    }

    @Test("depth out of range", arguments: [UInt32(0), 65, 1000, UInt32.max])
    func depthOutOfRange(_ depth: UInt32) {
        expectChannelRejected(channelsEditing(0) { $0.depth = depth }, .channelDepthOutOfRange(channel: 0, depth: depth),
                              channel: 0, field: .depth,
                              message: "channel #0 \"ab\", field depth: the depth \(depth) is not between 1 and 64")
    }

    @Test("message size out of range", arguments: [UInt32(0), 4097, UInt32.max])
    func messageSizeOutOfRange(_ size: UInt32) {
        expectChannelRejected(channelsEditing(2) { $0.messageSize = size }, .channelMessageSizeOutOfRange(channel: 2, size: size),
                              channel: 2, field: .messageSize,
                              message: "channel #2 \"log\", field message_size: the message size \(size) is not between 1 and 4096 bytes")
    }

    @Test("shared size invalid", arguments: [UInt64(0), 1, 0xFFF, 0x1001, 0x20_1000, 0x40_0000, UInt64.max & ~0xFFF])
    func sizeInvalid(_ size: UInt64) {
        expectChannelRejected(channelsEditing(1) { $0.size = size }, .channelSizeInvalid(channel: 1, size: size),
                              channel: 1, field: .size,
                              message: "channel #1 \"frame\", field size: the size \(size) is not a non-zero multiple of 4 KiB of at most 2 MiB")
    }

    @Test func queueStorageExhausted() {
        // One two-way queue of 64 x 4096-byte messages needs more than the 128 KiB of queue storage.
        let big = queue("big", 0, 1, depth: 64, messageSize: 4096)
        #expect(big.queueStorage > ChannelLimits.queueStorageCapacity)
        expectChannelRejected(channelPlan([big]),
                              .queueStorageExhausted(channel: 0, needed: big.queueStorage, capacity: 0x2_0000),
                              channel: 0, field: .depth,
                              message: "channel #0 \"big\", field depth: the queues need \(big.queueStorage) bytes of hypervisor memory in all; 128 KiB are available")
        // The total counts: two queues that fit alone, not together; the second is reported.
        let half = queue("half", 1, 2, depth: 64, messageSize: 1024, direction: .forward)
        #expect(half.queueStorage <= ChannelLimits.queueStorageCapacity && 2 * half.queueStorage > ChannelLimits.queueStorageCapacity)
        var second = half
        second.name = channelName("other")
        let needed = 2 * half.queueStorage
        expectChannelRejected(channelPlan([half, shared("s", 0, 1), second]),
                              .queueStorageExhausted(channel: 2, needed: needed, capacity: 0x2_0000),
                              channel: 2, field: .depth,
                              message: "channel #2 \"other\", field depth: the queues need \(needed) bytes of hypervisor memory in all; 128 KiB are available")
        // A forward queue needs one ring, a two-way queue two.
        #expect(queue("f", 0, 1, direction: .forward).queueStorage * 2 == queue("b", 0, 1).queueStorage)
        #expect(shared("s", 0, 1).queueStorage == 0)
    }

    @Test func sharedPoolExhausted() {
        let five = channelPlan((0..<5).map { shared("s\($0)", 0, 1, size: 0x20_0000) })
        expectChannelRejected(five, .sharedPoolExhausted(channel: 4, needed: 10 * mib, capacity: 8 * mib),
                              channel: 4, field: .size,
                              message: "channel #4 \"s4\", field size: the shared-memory channels need 10 MiB in all; the board's pool holds 8 MiB")
        // A board without a pool takes no shared memory at all.
        expectChannelRejected(channelPlan([shared("s", 0, 1)]), .sharedPoolExhausted(channel: 0, needed: 0x1000, capacity: 0),
                              channel: 0, field: .size,
                              message: "channel #0 \"s\", field size: the shared-memory channels need 4 KiB in all; the board's pool holds 0 bytes",
                              board: virtBoard)
    }

    @Test func checkOrder() {
        // Partitions first: a partition error wins over any channel error.
        var specs = validSpecs()
        specs[2].imageSize = 0
        var plan = makePlan(specs)
        _ = plan.appendChannel(queue("", 0, 0, depth: 0))
        #expect(validationError(plan, board: poolBoard) == .emptyImage(partition: 2))
        // Channels in order; within one: name, endpoints, then the fields of its kind.
        var bad = queue("Bad", 0, 9, depth: 0, messageSize: 0)
        bad.size = 1
        plan = channelPlan([queue("ok", 0, 1), bad, queue("", 0, 0)])
        #expect(validationError(plan, board: poolBoard) == .channelInvalidNameCharacter(channel: 1))
        bad.name = channelName("bad"); plan = channelPlan([queue("ok", 0, 1), bad])
        #expect(validationError(plan, board: poolBoard) == .channelUnknownPartition(channel: 1, endpoint: 1))
        bad.endpoints = [1, 1]; plan = channelPlan([queue("ok", 0, 1), bad])
        #expect(validationError(plan, board: poolBoard) == .channelSameEndpoints(channel: 1))
        bad.endpoints = [1, 2]; plan = channelPlan([queue("ok", 0, 1), bad])
        #expect(validationError(plan, board: poolBoard) == .channelFieldNotForKind(channel: 1, field: .size))
        bad.size = 0; plan = channelPlan([queue("ok", 0, 1), bad])
        #expect(validationError(plan, board: poolBoard) == .channelDepthOutOfRange(channel: 1, depth: 0))
        bad.depth = 1; plan = channelPlan([queue("ok", 0, 1), bad])
        #expect(validationError(plan, board: poolBoard) == .channelMessageSizeOutOfRange(channel: 1, size: 0))
        bad.messageSize = 1; plan = channelPlan([queue("ok", 0, 1), bad])
        #expect(validationError(plan, board: poolBoard) == nil)
        // Shared memory: depth, then message size, then size.
        var s = shared("s", 0, 1, size: 0)
        s.depth = 1; s.messageSize = 1
        #expect(validationError(channelPlan([s]), board: poolBoard) == .channelFieldNotForKind(channel: 0, field: .depth))
        s.depth = 0
        #expect(validationError(channelPlan([s]), board: poolBoard) == .channelFieldNotForKind(channel: 0, field: .messageSize))
        s.messageSize = 0
        #expect(validationError(channelPlan([s]), board: poolBoard) == .channelSizeInvalid(channel: 0, size: 0))
    }

    @Test func channelIndexBeyondThePlanRendersWithoutAName() {
        #expect(render(.channelSameEndpoints(channel: 9), channelPlan(validChannels()))
                == "channel #9, field endpoints: both endpoints are the same partition")
        #expect(render(.channelDuplicateName(channel: 0, first: 12), channelPlan([]))
                == "channel #0, field name: the name is already used by channel #12")
    }

    @Test func channelFieldNamesAreTheTOMLKeys() {
        let expected: [(PlanField, String)] = [
            (.endpoints, "endpoints"), (.kind, "kind"), (.direction, "direction"), (.depth, "depth"),
            (.messageSize, "message_size"), (.size, "size"), (.access, "access"),
        ]
        for (field, key) in expected {
            var sink = StringSink()
            field.write(to: &sink)
            #expect(sink.text == key)
        }
    }

    @Test func channelHelpers() {
        let frame = validChannels()[1]   // beta(1) -> gamma(2), forward, rw/ro
        #expect(frame.endpoint(of: 1) == 0 && frame.endpoint(of: 2) == 1 && frame.endpoint(of: 0) == nil)
        #expect(frame.peer(of: 0) == 2 && frame.peer(of: 1) == 1)
        #expect(frame.maySend(from: 0) && !frame.maySend(from: 1))
        #expect(frame.effectiveAccess(0) == .readWrite && frame.effectiveAccess(1) == .readOnly)
        var both = frame
        both.direction = .both
        both.access = [.readOnly, .readWrite]
        #expect(both.effectiveAccess(0) == .readOnly && both.effectiveAccess(1) == .readWrite)
        // Layout: shared windows packed in plan order, queue rings likewise.
        let plan = channelPlan(validChannels() + [shared("more", 0, 1, size: 0x1000)])
        let layout = ChannelLayout(plan: plan)
        #expect(layout.sharedBytes == 0x3000)
        #expect(layout.offsets[1] == 0 && layout.offsets[3] == 0x2000)
        #expect(layout.sharedWindow(3) == GuestPhysAddr(0x4000_2000))
        #expect(layout.offsets[0] == 0 && layout.offsets[2] == validChannels()[0].queueStorage)
        #expect(layout.queueBytes == validChannels()[0].queueStorage + validChannels()[2].queueStorage)
    }
}
