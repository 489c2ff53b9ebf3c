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
        try validateChannels(board)
        try validateDevices(board)
    }

    /// Checks every device, in order: its owner, that the board has it and does not keep it,
    /// that it matches the board's node, its region and interrupts, that no earlier device is the
    /// same or overlaps it, nor shares a PLIC source with it while another partition owns it (a
    /// source has one owner: its virtual PLIC alone may mask it), and that a DMA-capable device's
    /// owner trusts DMA.
    private func validateDevices(_ board: BoardLimits) throws(PlanError) {
        var d = 0
        while d < devices.count {
            let device = devices[d]
            let p = Int(device.owner)
            guard p < count else { throw .deviceOwnerUnknown(device: d) }
            let found = device.path.withBytes { board.devices.find(path: $0) }
            guard let node = found else { throw .deviceNotOnBoard(partition: p, device: d) }
            guard node.reserved == .none else { throw .deviceReserved(partition: p, device: d, reason: node.reserved) }
            guard node.regCount == 1 else { throw .deviceMultipleRegions(partition: p, device: d, count: node.regCount) }
            guard node.interruptCount == 0 || node.interruptsOnPLIC else {
                throw .deviceInterruptsNotOnPLIC(partition: p, device: d)
            }
            guard node.interruptCount <= DeviceLimits.maxInterrupts else {
                throw .deviceTooManyInterrupts(partition: p, device: d, count: node.interruptCount)
            }
            let compatible = device.compatible.withBytes { CRC32C.checksum($0) }
            var same = node.region == device.region && node.interruptCount == device.interruptCount
                && node.dmaCapable == device.dmaCapable && (node.compatibleHash == 0 || node.compatibleHash == compatible)
            var i = 0
            while i < device.interruptCount && i < DeviceLimits.maxInterrupts {
                if node.interrupts[i] != device.interrupts[i] { same = false }
                i += 1
            }
            guard same else { throw .deviceMismatch(partition: p, device: d) }
            let region = device.region
            guard region.size > 0, region.base.isAligned(to: DeviceLimits.alignment),
                  region.size % DeviceLimits.alignment == 0, region.end != nil else {
                throw .deviceMisaligned(partition: p, device: d)
            }
            guard !board.ram.overlaps(region) else { throw .deviceInRAM(partition: p, device: d) }
            i = 0
            while i < device.interruptCount && i < DeviceLimits.maxInterrupts {
                let source = device.interrupts[i]
                guard source > 0, source < DeviceLimits.maxSource else {
                    throw .deviceInterruptOutOfRange(partition: p, device: d, source: source)
                }
                i += 1
            }
            var e = 0
            while e < d {
                let other = devices[e]
                if other.region.overlaps(region) || other.path.equals(device.path) {
                    throw .deviceAssignedTwice(partition: p, device: d, first: e, firstOwner: Int(other.owner))
                }
                if other.owner != device.owner {
                    i = 0
                    while i < device.interruptCount && i < DeviceLimits.maxInterrupts {
                        if other.hasInterrupt(device.interrupts[i]) {
                            throw .deviceInterruptShared(partition: p, device: d, source: device.interrupts[i], first: e,
                                                         firstOwner: Int(other.owner))
                        }
                        i += 1
                    }
                }
                e += 1
            }
            guard !device.dmaCapable || self[p].flags.dmaTrusted else { throw .deviceNeedsTrustedDMA(partition: p, device: d) }
            d += 1
        }
    }

    /// Whether `name` is non-empty and uses only a-z, 0-9, '-' and '_' (partition and channel names).
    static func isValidName<let n: Int>(_ name: FixedText<n>) -> Bool {
        guard name.count > 0 else { return false }
        var i = 0
        while i < name.count {
            let c = name.storage[i]
            guard (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45 || c == 95 else { return false }
            i += 1
        }
        return true
    }

    /// Checks every channel, in order: name, endpoints, the fields of its kind, then the memory
    /// all channels so far need against the hypervisor's queue storage and the board's pool.
    private func validateChannels(_ board: BoardLimits) throws(PlanError) {
        var queueBytes: UInt64 = 0
        var sharedBytes: UInt64 = 0
        var c = 0
        while c < channelCount {
            let ch = channel(c)
            guard ch.name.count > 0 else { throw .channelEmptyName(channel: c) }
            guard Self.isValidName(ch.name) else { throw .channelInvalidNameCharacter(channel: c) }
            var d = 0
            while d < c {
                if channel(d).name.equals(ch.name) { throw .channelDuplicateName(channel: c, first: d) }
                d += 1
            }
            guard Int(ch.endpoints[0]) < count else { throw .channelUnknownPartition(channel: c, endpoint: 0) }
            guard Int(ch.endpoints[1]) < count else { throw .channelUnknownPartition(channel: c, endpoint: 1) }
            guard ch.endpoints[0] != ch.endpoints[1] else { throw .channelSameEndpoints(channel: c) }
            switch ch.kind {
            case .queue:
                guard ch.size == 0 else { throw .channelFieldNotForKind(channel: c, field: .size) }
                guard ch.depth >= 1 && ch.depth <= ChannelLimits.maxDepth else {
                    throw .channelDepthOutOfRange(channel: c, depth: ch.depth)
                }
                guard ch.messageSize >= 1 && ch.messageSize <= ChannelLimits.maxMessageSize else {
                    throw .channelMessageSizeOutOfRange(channel: c, size: ch.messageSize)
                }
                queueBytes += ch.queueStorage      // each at most 2 * 64 * 4104 bytes: no overflow
                guard queueBytes <= ChannelLimits.queueStorageCapacity else {
                    throw .queueStorageExhausted(channel: c, needed: queueBytes, capacity: ChannelLimits.queueStorageCapacity)
                }
            case .sharedMemory:
                guard ch.depth == 0 else { throw .channelFieldNotForKind(channel: c, field: .depth) }
                guard ch.messageSize == 0 else { throw .channelFieldNotForKind(channel: c, field: .messageSize) }
                guard ch.size > 0, ch.size % ChannelLimits.sharedAlignment == 0, ch.size <= ChannelLimits.maxSharedSize else {
                    throw .channelSizeInvalid(channel: c, size: ch.size)
                }
                sharedBytes += ch.size
                guard sharedBytes <= board.sharedPool.size else {
                    throw .sharedPoolExhausted(channel: c, needed: sharedBytes, capacity: board.sharedPool.size)
                }
            }
            c += 1
        }
    }

    private func validatePartition(_ p: Int, _ board: BoardLimits) throws(PlanError) {
        let spec = self[p]
        // name
        guard spec.name.count > 0 else { throw .emptyName(partition: p) }
        guard Self.isValidName(spec.name) else { throw .invalidNameCharacter(partition: p) }
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
        // A partition's RAM must stay within 4 GiB of guest-physical space above guestRAMBase so
        // the Sv39x4 root (41-bit guest-physical) always covers it; checked before the board's
        // RAM so a 5 GiB partition is told that rule, not that it lies outside a small board's RAM.
        guard mem.size <= PlanLimits.maxPartitionMemory else { throw .memoryTooLarge(partition: p) }
        guard board.ram.contains(mem) else { throw .memoryOutOfRange(partition: p) }
        if let reserved = board.reserved.firstOverlap(with: mem) { throw .memoryReserved(partition: p, reserved: reserved) }
        q = 0
        while q < p {
            if self[q].memory.overlaps(mem) { throw .memoryOverlap(partition: p, other: q) }
            q += 1
        }
        try spec.validateImage(partition: p)
        // update policy: only other partitions of the plan
        q = 0
        while q < Limits.partitions {
            if spec.updateTargets & (1 << UInt8(q)) != 0 {
                guard q < count else { throw .updateTargetUnknown(partition: p, target: q) }
                guard q != p else { throw .updateTargetSelf(partition: p) }
            }
            q += 1
        }
    }
}

extension PartitionSpec {
    /// The image, initrd and entry rules of plan validation, which depend on the partition's
    /// memory only (also run on a partition update's new image: PartitionUpdateVerifier). RAM
    /// from the bottom: [load offset, + image), free, the initrd, the device tree (the top
    /// deviceTreeReserve bytes). `p` names the partition in the errors.
    public func validateImage(partition p: Int) throws(PlanError) {
        guard imageSize > 0 else { throw .emptyImage(partition: p) }
        // Validated memory is at least 1 MiB; a caller with unvalidated memory must not trap here.
        guard memory.size >= PlanLimits.deviceTreeReserve else { throw .memoryEmpty(partition: p) }
        let belowTree = memory.size - PlanLimits.deviceTreeReserve
        guard initrdSize <= belowTree else {
            throw .initrdTooLarge(partition: p, initrdSize: initrdSize, limit: belowTree)
        }
        let limit = initrdSize > 0 ? initrdOffset : belowTree
        switch imageKind {
        case .flat:
            guard imageSize <= limit else {
                throw .imageTooLarge(partition: p, imageSize: imageSize, limit: limit)
            }
            guard entry >= ramBase, entry.raw - ramBase.raw < imageSize else {
                throw .entryOutsideImage(partition: p)
            }
            // RISC-V instructions are 2-byte aligned (with the C extension; 4 without).
            guard entry.isAligned(to: 2) else { throw .entryMisaligned(partition: p) }
        case .linux, .payload:
            // Both are loaded at their entry and entered at their first byte. Linux boot protocol
            // (Documentation/arch/riscv/boot.rst): on RV64 the Image must be placed 2 MiB aligned;
            // a payload on a page boundary. Either inside RAM, below the initrd and device tree.
            let linux = imageKind == .linux
            guard entry >= ramBase, entry.isAligned(to: linux ? PageSize.mega : PageSize.base),
                  entry.raw - ramBase.raw < limit else {
                throw linux ? .linuxEntryMisaligned(partition: p) : .payloadEntryMisaligned(partition: p)
            }
            let offset = imageLoadOffset
            guard imageSize <= limit - offset else {
                throw .imageTooLarge(partition: p, imageSize: imageSize, limit: limit - offset)
            }
        }
    }
}
