// A device register: one volatile load or store of its width, never merged or reordered by the compiler.
import _Volatile

struct MMIORegister<Value> {
    let address: UInt

    /// The register at host-physical address `address` (the hypervisor's table maps devices 1:1).
    @inline(__always) init(unsafeBitPattern address: UInt) { self.address = address }
}

extension MMIORegister where Value == UInt8 {
    @inline(__always) func load() -> UInt8 { VolatileMappedRegister<UInt8>(unsafeBitPattern: address).load() }
    @inline(__always) func store(_ value: UInt8) { VolatileMappedRegister<UInt8>(unsafeBitPattern: address).store(value) }
}

extension MMIORegister where Value == UInt32 {
    @inline(__always) func load() -> UInt32 { VolatileMappedRegister<UInt32>(unsafeBitPattern: address).load() }
    @inline(__always) func store(_ value: UInt32) { VolatileMappedRegister<UInt32>(unsafeBitPattern: address).store(value) }
}
