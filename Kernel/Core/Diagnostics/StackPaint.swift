// Stack high-water marks from painted stacks: the words at a stack's low end that still hold the paint were never used.

/// A stack painted at boot with one 64-bit word and grown downwards from its high end.
public enum StackPaint {
    /// The bytes of `stack` (its low end first) that were used at some point: everything above
    /// the run of `paint` words that starts at the low end. A word the stack wrote with the paint
    /// value itself would hide what lies below it, so the figure is a lower bound, exact in
    /// practice. A stack whose lowest word was overwritten counts as wholly used (it may have
    /// overflowed).
    public static func highWater(_ stack: UnsafeRawBufferPointer, paint: UInt64) -> Int {
        let words = stack.count / 8
        var untouched = 0
        while untouched < words && stack.loadUnaligned(fromByteOffset: untouched &* 8, as: UInt64.self) == paint {
            untouched &+= 1
        }
        return stack.count - untouched &* 8
    }
}
