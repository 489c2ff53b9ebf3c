// The RISC-V PLIC register map (riscv-plic-spec 1.0.0, "Memory Map") as offsets and a decoded register.
//
// Every register is 32 bits wide and accessed with LW/SW (spec, "Memory Map"): an offset that is
// not 32-bit aligned, or that falls in a gap of the map, names no register (`.reserved`).
//   0x000000 + 4*source                       priority of source 1...1023 (source 0 does not exist)
//   0x001000 + 4*word                         pending bits of sources 32*word...32*word+31
//   0x002000 + 0x80*context + 4*word          enable bits of those sources on context 0...15871
//   0x200000 + 0x1000*context                 priority threshold of the context
//   0x200004 + 0x1000*context                 claim (read) / complete (write) of the context
// The whole map spans 0x4000000 bytes.

/// Offsets of the PLIC's register blocks from its base, and of each register in them.
public enum PLICLayout {
    /// Sources and contexts the map has room for (source 0 is reserved; IDs 1...1023).
    public static let sourceLimit = 1024
    public static let contextLimit = 15872
    /// 32-bit pending or enable words per context: 1024 / 32.
    public static let wordsPerContext = 32

    /// "Interrupt Source Priority": 4 bytes per source.
    public static let priorityBase: UInt64 = 0x00_0000
    /// "Interrupt Pending Bits": 1024 / 8 bytes.
    public static let pendingBase: UInt64 = 0x00_1000
    public static let pendingEnd: UInt64 = 0x00_1080
    /// "Interrupt Enable Bits": 0x80 bytes per context.
    public static let enableBase: UInt64 = 0x00_2000
    public static let enableStride: UInt64 = 0x80
    public static let enableEnd: UInt64 = 0x1F_2000
    /// Per-context block: threshold at +0, claim/complete at +4, the rest of the 4 KiB reserved.
    public static let contextBase: UInt64 = 0x20_0000
    public static let contextStride: UInt64 = 0x1000
    public static let thresholdOffset: UInt64 = 0
    public static let claimCompleteOffset: UInt64 = 4
    /// The size of the whole map.
    public static let span: UInt64 = 0x400_0000

    public static func priority(source: Int) -> UInt64 { priorityBase &+ 4 &* UInt64(truncatingIfNeeded: source) }
    public static func pending(word: Int) -> UInt64 { pendingBase &+ 4 &* UInt64(truncatingIfNeeded: word) }
    public static func enable(context: Int, word: Int) -> UInt64 {
        enableBase &+ enableStride &* UInt64(truncatingIfNeeded: context) &+ 4 &* UInt64(truncatingIfNeeded: word)
    }
    public static func threshold(context: Int) -> UInt64 {
        contextBase &+ contextStride &* UInt64(truncatingIfNeeded: context) &+ thresholdOffset
    }
    public static func claimComplete(context: Int) -> UInt64 {
        contextBase &+ contextStride &* UInt64(truncatingIfNeeded: context) &+ claimCompleteOffset
    }
}

/// One 32-bit PLIC register, as an access at an offset from the base names it.
public enum PLICRegister: Equatable, Sendable {
    /// Priority of `source` (1...1023).
    case priority(source: Int)
    /// Pending bits of sources 32*word...32*word+31 (`word` 0...31); read-only.
    case pending(word: Int)
    /// Enable bits of sources 32*word...32*word+31 on `context`.
    case enable(context: Int, word: Int)
    /// Priority threshold of `context`.
    case threshold(context: Int)
    /// Claim (read) / complete (write) of `context`.
    case claimComplete(context: Int)
    /// No register: a gap in the map, source 0's priority, a misaligned or out-of-map offset.
    case reserved

    /// The register at `offset` from the PLIC base; any offset is accepted (guest-controlled).
    public static func decode(offset: UInt64) -> PLICRegister {
        guard offset & 3 == 0, offset < PLICLayout.span else { return .reserved }
        if offset < PLICLayout.pendingBase {
            let source = Int(truncatingIfNeeded: offset >> 2)
            return source == 0 ? .reserved : .priority(source: source)
        }
        if offset < PLICLayout.pendingEnd {
            return .pending(word: Int(truncatingIfNeeded: (offset &- PLICLayout.pendingBase) >> 2))
        }
        if offset < PLICLayout.enableBase { return .reserved }
        if offset < PLICLayout.enableEnd {
            let relative = offset &- PLICLayout.enableBase
            return .enable(context: Int(truncatingIfNeeded: relative / PLICLayout.enableStride),
                           word: Int(truncatingIfNeeded: (relative % PLICLayout.enableStride) >> 2))
        }
        if offset < PLICLayout.contextBase { return .reserved }
        let relative = offset &- PLICLayout.contextBase
        let context = Int(truncatingIfNeeded: relative / PLICLayout.contextStride)
        switch relative % PLICLayout.contextStride {
        case PLICLayout.thresholdOffset: return .threshold(context: context)
        case PLICLayout.claimCompleteOffset: return .claimComplete(context: context)
        default: return .reserved
        }
    }

    /// The register's offset from the PLIC base; nil for `.reserved` and for indices outside the map.
    public var offset: UInt64? {
        switch self {
        case .priority(let source):
            guard source >= 1, source < PLICLayout.sourceLimit else { return nil }
            return PLICLayout.priority(source: source)
        case .pending(let word):
            guard word >= 0, word < PLICLayout.wordsPerContext else { return nil }
            return PLICLayout.pending(word: word)
        case .enable(let context, let word):
            guard Self.validContext(context), word >= 0, word < PLICLayout.wordsPerContext else { return nil }
            return PLICLayout.enable(context: context, word: word)
        case .threshold(let context):
            return Self.validContext(context) ? PLICLayout.threshold(context: context) : nil
        case .claimComplete(let context):
            return Self.validContext(context) ? PLICLayout.claimComplete(context: context) : nil
        case .reserved:
            return nil
        }
    }

    private static func validContext(_ context: Int) -> Bool { context >= 0 && context < PLICLayout.contextLimit }
}
