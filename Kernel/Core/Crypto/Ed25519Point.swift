// Ed25519Point: edwards25519 group arithmetic (RFC 8032 §5.1.3-5.1.4) and the [s]B - [k]A double multiply.
//
// The curve is -x^2 + y^2 = 1 + d·x^2·y^2 over GF(2^255 - 19) (RFC 8032 §5.1). Points travel
// in four forms, so that each step computes only the coordinates the next step needs:
//   * EdwardsPoint (extended, X:Y:Z:T): x = X/Z, y = Y/Z, x·y = T/Z (RFC 8032 §5.1.4);
//   * ProjectivePoint (X:Y:Z): the same without T, all that doubling reads;
//   * CompletedPoint: x = xNum/xDen, y = yNum/yDen, the raw output (E, G, H, F) of the
//     addition and doubling formulas of §5.1.4 before their final four products; it becomes a
//     ProjectivePoint with three multiplications or an EdwardsPoint with four;
//   * CachedPoint (Y+X, Y-X, 2Z, 2d·T): an addend prepared once for repeated additions;
//   * AffineCachedPoint (y+x, y-x, 2d·x·y): the same with Z = 1, for the precomputed multiples
//     of B (Ed25519BaseTable.swift), which saves one multiplication per addition.
// The §5.1.4 formulas are complete on this curve (no exceptional inputs), so no case needs
// special handling, including the neutral element and points of small order.
//
// Nothing here is constant time: verification only handles public data.

/// A point in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, x·y = T/Z (RFC 8032 §5.1.4).
struct EdwardsPoint: Sendable {
    var x: Field25519
    var y: Field25519
    var z: Field25519
    var t: Field25519

    @inline(__always)
    init(x: Field25519, y: Field25519, z: Field25519, t: Field25519) {
        self.x = x
        self.y = y
        self.z = z
        self.t = t
    }

    /// The neutral element (0, 1).
    static var identity: EdwardsPoint { EdwardsPoint(x: .zero, y: .one, z: .one, t: .zero) }

    /// The base point B (RFC 8032 §5.1: y = 4/5, x positive, i.e. even).
    static var base: EdwardsPoint {
        let x = Field25519(0x62d608f25d51a, 0x412a4b4f6592a, 0x75b7171a4b31d, 0x1ff60527118fe, 0x216936d3cd6e5)
        let y = Field25519(0x6666666666658, 0x4cccccccccccc, 0x1999999999999, 0x3333333333333, 0x6666666666666)
        return EdwardsPoint(x: x, y: y, z: .one, t: x * y)
    }

    /// Decodes a 32-byte point encoding given as four little-endian words (RFC 8032 §5.1.3).
    /// Returns nil when y ≥ p (a non-canonical encoding), when no x satisfies the curve
    /// equation, or when x = 0 with the sign bit set (the second non-canonical case).
    init?(encoding w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) {
        // Step 1: bit 255 is the sign of x, the other 255 bits are y, which must be below p.
        let sign = w3 >> 63 == 1
        guard Field25519.isCanonical(words: w0, w1, w2, w3) else { return nil }
        let y = Field25519(words: w0, w1, w2, w3)
        // Step 2: x^2 = u/v with u = y^2 - 1, v = d·y^2 + 1 (v is never 0: -1/d is not a
        // square); the candidate root is x = u·v^3·(u·v^7)^((p-5)/8).
        let yy = y.squared()
        let u = yy - .one
        let v = Field25519.d * yy + .one
        let v3 = v.squared() * v
        let v7 = v3.squared() * v
        var x = u * v3 * (u * v7).powPMinus5Over8()
        // Step 3: v·x^2 = u means x is a root; v·x^2 = -u means x·sqrt(-1) is; else no root.
        let vxx = v * x.squared()
        if vxx == u {
            // x is a square root of u/v
        } else if vxx == -u {
            x = x * Field25519.sqrtMinusOne
        } else {
            return nil
        }
        // Step 4: x = 0 with sign 1 fails; otherwise pick the root whose low bit is the sign.
        if x.isZero && sign { return nil }
        if x.isOdd != sign { x = -x }
        self.init(x: x, y: y, z: .one, t: x * y)
    }

    /// The 32-byte encoding as four little-endian words (RFC 8032 §5.1.2): the canonical y with
    /// the low bit of the canonical x in bit 255.
    func encodedWords() -> (UInt64, UInt64, UInt64, UInt64) {
        ProjectivePoint(x: x, y: y, z: z).encodedWords()
    }

    /// -P = (-x, y).
    var negated: EdwardsPoint { EdwardsPoint(x: -x, y: y, z: z, t: -t) }

    var projective: ProjectivePoint { ProjectivePoint(x: x, y: y, z: z) }

    /// P prepared as an addend: (Y+X, Y-X, 2Z, 2d·T).
    var cached: CachedPoint {
        CachedPoint(yPlusX: y + x, yMinusX: y - x, z2: z + z, t2d: t * Field25519.d2)
    }

    /// P + Q (RFC 8032 §5.1.4 addition, with Q's sums and 2d·T precomputed): 4 multiplications.
    @inline(__always)
    static func + (p: EdwardsPoint, q: CachedPoint) -> CompletedPoint {
        let a = p.y.minusUncarried(p.x) * q.yMinusX.loose
        let b = p.y.plusUncarried(p.x) * q.yPlusX.loose
        let c = p.t * q.t2d
        let d = p.z * q.z2
        return CompletedPoint(
            xNum: b.minusUncarried(a), xDen: d.plusUncarried(c), yNum: b.plusUncarried(a), yDen: d.minusUncarried(c))
    }

    /// P - Q = P + (-Q), where -Q swaps Y+X with Y-X and negates T.
    @inline(__always)
    static func - (p: EdwardsPoint, q: CachedPoint) -> CompletedPoint {
        let a = p.y.minusUncarried(p.x) * q.yPlusX.loose
        let b = p.y.plusUncarried(p.x) * q.yMinusX.loose
        let c = p.t * q.t2d
        let d = p.z * q.z2
        return CompletedPoint(
            xNum: b.minusUncarried(a), xDen: d.minusUncarried(c), yNum: b.plusUncarried(a), yDen: d.plusUncarried(c))
    }

    /// P + Q for Q with Z = 1 (RFC 8032 §5.1.4 addition, Z2 = 1): 3 multiplications.
    @inline(__always)
    static func + (p: EdwardsPoint, q: AffineCachedPoint) -> CompletedPoint {
        let a = p.y.minusUncarried(p.x) * q.yMinusX.loose
        let b = p.y.plusUncarried(p.x) * q.yPlusX.loose
        let c = p.t * q.t2d
        let d = p.z + p.z
        return CompletedPoint(
            xNum: b.minusUncarried(a), xDen: d.plusUncarried(c), yNum: b.plusUncarried(a), yDen: d.minusUncarried(c))
    }

    /// P - Q for Q with Z = 1: -Q swaps y+x with y-x and negates 2d·x·y.
    @inline(__always)
    static func - (p: EdwardsPoint, q: AffineCachedPoint) -> CompletedPoint {
        let a = p.y.minusUncarried(p.x) * q.yPlusX.loose
        let b = p.y.plusUncarried(p.x) * q.yMinusX.loose
        let c = p.t * q.t2d
        let d = p.z + p.z
        return CompletedPoint(
            xNum: b.minusUncarried(a), xDen: d.minusUncarried(c), yNum: b.plusUncarried(a), yDen: d.plusUncarried(c))
    }

    /// Whether P equals Q as a curve point (cross-multiplied, so no inversion).
    static func == (p: EdwardsPoint, q: EdwardsPoint) -> Bool {
        p.x * q.z == q.x * p.z && p.y * q.z == q.y * p.z
    }

    /// Whether [8]P is the neutral element, i.e. P lies in the torsion subgroup of order 8.
    var hasSmallOrder: Bool {
        let p8 = projective.doubled().projective.doubled().projective.doubled().projective
        // (0, 1) projectively: X = 0 and Y = Z.
        return p8.x.isZero && p8.y == p8.z
    }
}

/// A point in projective coordinates (X:Y:Z), x = X/Z, y = Y/Z.
struct ProjectivePoint: Sendable {
    var x: Field25519
    var y: Field25519
    var z: Field25519

    static var identity: ProjectivePoint { ProjectivePoint(x: .zero, y: .one, z: .one) }

    /// 2P (RFC 8032 §5.1.4 doubling, which never reads T): 4 squarings, written inline here
    /// (one call per doubling rather than four: doubling is most of a verification's work).
    @inline(never)
    func doubled() -> CompletedPoint { doubledInline() }

    /// The body of `doubled()`, inlined into the verifier's loop steps (`double`, `step`): the
    /// completed point then stays in registers instead of returning through memory (-13 k).
    @inline(__always)
    func doubledInline() -> CompletedPoint {
        let a = x.squaredInline()
        let b = y.squaredInline()
        let zz = z.squaredInline()
        // C = 2·Z², H = A + B, E = H - (X + Y)², G = A - B, F = C + G. E and F only feed
        // products, so they stay uncarried; H and G are carried because E and F are built on them
        // (an uncarried sum of uncarried terms could reach 2^53).
        let h = a + b
        let e = h.minusUncarried(x.plusUncarried(y).squaredInline())
        let g = a - b
        let f = zz.plusUncarried(zz, g)
        // X3 = E·F, Y3 = G·H, Z3 = F·G, T3 = E·H, so x3 = E/G and y3 = H/F.
        return CompletedPoint(xNum: e, xDen: g.loose, yNum: h.loose, yDen: f)
    }

    /// The encoding (RFC 8032 §5.1.2) as four little-endian words: one inversion.
    func encodedWords() -> (UInt64, UInt64, UInt64, UInt64) {
        let zInverse = z.inverse()
        let affineX = x * zInverse
        let w = (y * zInverse).canonicalWords()
        let sign: UInt64 = affineX.isOdd ? 1 << 63 : 0
        return (w.0, w.1, w.2, w.3 | sign)
    }
}

/// The output of an addition or doubling before its last products: x = xNum/xDen, y = yNum/yDen.
/// The coordinates are only ever multiplied, so they are left uncarried (LooseField25519).
struct CompletedPoint: Sendable {
    var xNum: LooseField25519
    var xDen: LooseField25519
    var yNum: LooseField25519
    var yDen: LooseField25519

    /// (X:Y:Z) = (xNum·yDen : yNum·xDen : xDen·yDen): 3 multiplications.
    @inline(__always)
    var projective: ProjectivePoint {
        ProjectivePoint(x: xNum * yDen, y: yNum * xDen, z: xDen * yDen)
    }

    /// As projective, plus T = xNum·yNum: 4 multiplications.
    @inline(__always)
    var extended: EdwardsPoint {
        EdwardsPoint(x: xNum * yDen, y: yNum * xDen, z: xDen * yDen, t: xNum * yNum)
    }
}

/// An addend prepared for `EdwardsPoint + CachedPoint`: (Y+X, Y-X, 2Z, 2d·T).
struct CachedPoint: Sendable {
    var yPlusX: Field25519
    var yMinusX: Field25519
    var z2: Field25519
    var t2d: Field25519
}

/// An affine addend (y+x, y-x, 2d·x·y), i.e. a CachedPoint with Z = 1.
struct AffineCachedPoint: Sendable {
    var yPlusX: Field25519
    var yMinusX: Field25519
    var t2d: Field25519
}

/// The odd multiples P, 3P, 5P, ..., 15P, for width-5 NAF digits.
///
/// Code-generation notes, measured on the -Osize Embedded build under QEMU: reading an
/// InlineArray at a run-time index copied the whole 1280-byte table onto the stack at each
/// read, so `multiple(_:)` reads it only at constant indices; and the per-step work lives in
/// out-of-line functions (`advance`, `step`) so that their temporaries do not pile up in one
/// large frame. Verification then needs about 6 KiB of stack (docs/ed25519.md).
struct OddMultiplesTable {
    var entries: InlineArray<8, CachedPoint>

    init(_ p: EdwardsPoint) {
        entries = InlineArray(repeating: p.cached)
        let twice = p.projective.doubled().extended.cached
        var current = p
        var i = 1
        while i < 8 {
            entries[i] = OddMultiplesTable.advance(&current, by: twice)
            i += 1
        }
    }

    /// current ← current + twice; returns the new current, prepared as an addend.
    @inline(never)
    static func advance(_ current: inout EdwardsPoint, by twice: CachedPoint) -> CachedPoint {
        current = (current + twice).extended
        return current.cached
    }

    /// [m]P for odd m in 1...15 (an even m would give [m+1]P; NAF digits are odd).
    @inline(__always)
    func multiple(_ m: UInt8) -> CachedPoint {
        switch m {
        case 0...1: return entries[0]
        case 2...3: return entries[1]
        case 4...5: return entries[2]
        case 6...7: return entries[3]
        case 8...9: return entries[4]
        case 10...11: return entries[5]
        case 12...13: return entries[6]
        default: return entries[7]
        }
    }

    /// acc + [digit]P for an odd digit in -15...15.
    @inline(__always)
    func add(_ digit: Int8, to acc: EdwardsPoint) -> CompletedPoint {
        let entry = multiple(digit.magnitude)
        return digit > 0 ? acc + entry : acc - entry
    }
}

extension EdwardsPoint {
    /// [s]B - [k]A for scalars below L, by Straus's method: one shared chain of doublings over
    /// both NAFs, adding or subtracting an odd multiple of B or of A at each nonzero digit.
    /// s uses width 7 and the precomputed affine multiples 1B...63B (Ed25519BaseTable.swift);
    /// k uses width 5 and the multiples 1(-A)...15(-A), built here with 7 additions. About 253
    /// doublings, 253/8 additions of B and 253/6 of A.
    static func baseMultipleMinusMultiple(
        s: Scalar25519, k: Scalar25519, a: EdwardsPoint
    ) -> ProjectivePoint {
        let sForm = s.nonAdjacentForm(width: BaseTable.width)
        let kForm = k.nonAdjacentForm(width: 5)
        // Read through spans: as with the tables, a run-time-indexed InlineArray read copied
        // the whole 256-byte array each time.
        let sDigits = sForm.span
        let kDigits = kForm.span
        let negatedATable = OddMultiplesTable(a.negated)

        var top = 255
        while top >= 0 && sDigits[top] == 0 && kDigits[top] == 0 { top -= 1 }

        var acc = ProjectivePoint.identity
        var i = top
        while i >= 0 {
            let sDigit = sDigits[i]
            let kDigit = kDigits[i]
            if sDigit == 0 && kDigit == 0 {
                double(&acc)
            } else {
                step(&acc, sDigit, kDigit, negatedATable)
            }
            i -= 1
        }
        return acc
    }

    /// acc ← 2·acc: a step of the loop above where both digits are zero (most of them).
    @inline(never)
    static func double(_ acc: inout ProjectivePoint) {
        acc = acc.doubledInline().projective
    }

    /// acc ← 2·acc + [sDigit]B + [kDigit](-A): one step of the loop above.
    @inline(never)
    static func step(
        _ acc: inout ProjectivePoint, _ sDigit: Int8, _ kDigit: Int8, _ negatedATable: borrowing OddMultiplesTable
    ) {
        var sum = acc.doubledInline()
        if sDigit != 0 { sum = BaseTable.add(sDigit, to: sum.extended) }
        if kDigit != 0 { sum = negatedATable.add(kDigit, to: sum.extended) }
        acc = sum.projective
    }
}
