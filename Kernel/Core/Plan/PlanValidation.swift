// The one plan validation function: the host CLI runs it when packing, the kernel again at boot.

extension PartitionPlan {
    /// Checks every partition against the board and against each other. Throws the first error,
    /// in partition order, then field order (name, harts, memory, image, entry, bootargs).
    public func validate(for board: BoardLimits) throws(PlanError) {
        guard count > 0 else { throw .noPartitions }
        var p = 0
        while p < count {
            try validatePartition(p, board)
            p += 1
        }
    }

    private func validatePartition(_ p: Int, _ board: BoardLimits) throws(PlanError) {
        let spec = self[p]
        // name
        guard spec.name.count > 0 else { throw .emptyName(partition: p) }
        var i = 0
        while i < spec.name.count {
            let c = spec.name.storage[i]
            let ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45 || c == 95
            guard ok else { throw .invalidNameCharacter(partition: p) }
            i += 1
        }
        var q = 0
        while q < p {
            if self[q].name.equals(spec.name) { throw .duplicateName(partition: p, first: q) }
            q += 1
        }
        // harts
        guard spec.harts.count > 0 else { throw .noHarts(partition: p) }
        var v = 0
        while v < spec.harts.count {
            let hart = spec.harts[v]
            guard board.hasHart(hart) else { throw .hartNotOnBoard(partition: p, hart: hart) }
            var w = 0
            while w < v {
                if spec.harts[w] == hart { throw .hartListedTwice(partition: p, hart: hart) }
                w += 1
            }
            q = 0
            while q < p {
                if self[q].harts.vcpu(onHart: hart) != nil { throw .hartShared(partition: p, hart: hart, owner: q) }
                q += 1
            }
            v += 1
        }
        // memory
        let mem = spec.memory
        guard mem.base.isAligned(to: PlanLimits.memoryAlignment) else {
            throw .memoryMisaligned(partition: p, field: .memoryBase)
        }
        guard mem.size > 0 else { throw .memoryEmpty(partition: p) }
        guard mem.size % PlanLimits.memoryAlignment == 0 else {
            throw .memoryMisaligned(partition: p, field: .memorySize)
        }
        guard board.ram.contains(mem) else { throw .memoryOutOfRange(partition: p) }
        guard !board.reserved.overlaps(mem) else { throw .memoryReserved(partition: p) }
        q = 0
        while q < p {
            if self[q].memory.overlaps(mem) { throw .memoryOverlap(partition: p, other: q) }
            q += 1
        }
        // A partition's RAM must stay below 4 GiB of guest-physical space above guestRAMBase so
        // the Sv39x4 root (41-bit guest-physical) always covers it.
        guard mem.size <= 0x1_0000_0000 else { throw .memoryOutOfRange(partition: p) }
        // image and entry
        guard spec.imageSize > 0 else { throw .emptyImage(partition: p) }
        let limit = mem.size - PlanLimits.deviceTreeReserve
        guard spec.imageSize <= limit else {
            throw .imageTooLarge(partition: p, imageSize: spec.imageSize, limit: limit)
        }
        guard spec.entry >= guestRAMBase, spec.entry.raw - guestRAMBase.raw < spec.imageSize,
              spec.entry.isAligned(to: 2) else {
            throw .entryOutsideImage(partition: p)
        }
    }
}
