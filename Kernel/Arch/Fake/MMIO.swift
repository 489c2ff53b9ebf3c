// Fake arch: a device register is plain memory (tests give drivers a buffer, not a device).
struct MMIORegister<Value: FixedWidthInteger> {
    let address: UInt
    init(unsafeBitPattern address: UInt) { self.address = address }
    func load() -> Value { UnsafeMutablePointer<Value>(bitPattern: address)!.pointee }
    func store(_ value: Value) { UnsafeMutablePointer<Value>(bitPattern: address)!.pointee = value }
}
