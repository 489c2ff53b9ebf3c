// Decoding the guest load or store that caused an MMIO guest-page fault (RISC-V unprivileged spec, RV64I and RVC).
//
// QEMU 7.2's htinst is unreliable, so the hypervisor reads the instruction at sepc from guest
// memory itself (GuestPageWalk) and decodes it here. Only integer loads and stores can touch an
// emulated device: FP loads/stores, AMOs, LR/SC and anything else decode to nil (the fault
// policy applies).
//
//   32-bit (bits 1:0 = 11)  LOAD  opcode 0000011: funct3 0 LB, 1 LH, 2 LW, 3 LD, 4 LBU, 5 LHU, 6 LWU; rd = [11:7]
//                           STORE opcode 0100011: funct3 0 SB, 1 SH, 2 SW, 3 SD;                 rs2 = [24:20]
//   16-bit quadrant 0 (00)  funct3 [15:13] 010 C.LW, 011 C.LD, 110 C.SW, 111 C.SD; rd'/rs2' = [4:2] + 8
//   16-bit quadrant 2 (10)  funct3 010 C.LWSP, 011 C.LDSP (rd = [11:7], rd != 0), 110 C.SWSP, 111 C.SDSP (rs2 = [6:2])

/// One decoded integer load or store.
public struct MemoryAccess: Equatable, Sendable {
    public var isStore: Bool
    /// Bytes accessed: 1, 2, 4 or 8.
    public var width: Int
    /// Loads only: whether the value is sign-extended to 64 bits (LB, LH, LW, C.LW, C.LWSP).
    public var signExtends: Bool
    /// The destination register (loads) or the source register (stores), x0 ... x31.
    public var register: Int
    /// The instruction's length in bytes (2 compressed, 4 otherwise): how far sepc advances.
    public var length: Int

    public init(isStore: Bool, width: Int, signExtends: Bool, register: Int, length: Int) {
        self.isStore = isStore; self.width = width; self.signExtends = signExtends; self.register = register
        self.length = length
    }

    /// A loaded `value` (its low `width` bytes) as the 64-bit register value the load writes.
    public func registerValue(loaded value: UInt64) -> UInt64 {
        guard width < 8 else { return value }
        let bits = UInt64(width &* 8)
        let low = value & ((1 << bits) &- 1)
        guard signExtends, low >> (bits &- 1) & 1 == 1 else { return low }
        return low | ~((1 << bits) &- 1)
    }
}

public enum InstructionDecoder {
    /// Whether the halfword `low` (the instruction's first 16 bits) starts a 32-bit instruction.
    @inline(__always) public static func isFullLength(_ low: UInt16) -> Bool { low & 0b11 == 0b11 }

    /// Decodes `raw` (a 32-bit instruction, or a 16-bit one in the low half); nil unless it is an
    /// integer load or store.
    public static func decode(_ raw: UInt32) -> MemoryAccess? {
        if raw & 0b11 == 0b11 { return decode32(raw) }
        return decode16(UInt16(truncatingIfNeeded: raw))
    }

    private static func decode32(_ raw: UInt32) -> MemoryAccess? {
        let opcode = raw & 0x7F
        let funct3 = Int(raw >> 12 & 0b111)
        switch opcode {
        case 0b000_0011:
            guard funct3 != 7 else { return nil }
            return MemoryAccess(isStore: false, width: 1 << (funct3 & 3), signExtends: funct3 < 4 && funct3 != 3,
                                register: Int(raw >> 7 & 0x1F), length: 4)
        case 0b010_0011:
            guard funct3 < 4 else { return nil }
            return MemoryAccess(isStore: true, width: 1 << funct3, signExtends: false, register: Int(raw >> 20 & 0x1F), length: 4)
        default:
            return nil
        }
    }

    private static func decode16(_ raw: UInt16) -> MemoryAccess? {
        let funct3 = raw >> 13
        switch raw & 0b11 {
        case 0b00:
            let prime = Int(raw >> 2 & 0b111) + 8
            switch funct3 {
            case 0b010: return MemoryAccess(isStore: false, width: 4, signExtends: true, register: prime, length: 2)
            case 0b011: return MemoryAccess(isStore: false, width: 8, signExtends: false, register: prime, length: 2)
            case 0b110: return MemoryAccess(isStore: true, width: 4, signExtends: false, register: prime, length: 2)
            case 0b111: return MemoryAccess(isStore: true, width: 8, signExtends: false, register: prime, length: 2)
            default: return nil
            }
        case 0b10:
            let rd = Int(raw >> 7 & 0x1F)
            let rs2 = Int(raw >> 2 & 0x1F)
            switch funct3 {
            case 0b010 where rd != 0: return MemoryAccess(isStore: false, width: 4, signExtends: true, register: rd, length: 2)
            case 0b011 where rd != 0: return MemoryAccess(isStore: false, width: 8, signExtends: false, register: rd, length: 2)
            case 0b110: return MemoryAccess(isStore: true, width: 4, signExtends: false, register: rs2, length: 2)
            case 0b111: return MemoryAccess(isStore: true, width: 8, signExtends: false, register: rs2, length: 2)
            default: return nil
            }
        default:
            return nil
        }
    }
}
