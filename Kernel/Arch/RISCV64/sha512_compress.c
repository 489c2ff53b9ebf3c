// The SHA-512 compression function (FIPS 180-4, 6.4.2) with the bit-manipulation or crypto instructions the hart may have.
//
// Core's SHA512 (Kernel/Core/Crypto/SHA512.swift) is portable RV64I code; rotations there take
// three instructions. This file is compiled twice (Makefile): with Zbb, where a rotation is one
// `rori` (sha512_compress_zbb), and with Zknh as well, where each of the four sigma functions is one
// instruction (sha512_compress_zknh: sha512sum0/sum1/sig0/sig1, RISC-V scalar cryptography spec
// v1.0.1, RV64 forms). The boot picks one when the device tree's ISA lists the extension and
// installs it in Core as SHA512.compressFunction. Same algorithm, same digests: the host tests
// and the FIPS 180-4 vectors hold for Core's version, and a QEMU test boots with each variant.
#include <stdint.h>
#include <stddef.h>

#ifndef SHA512_COMPRESS_NAME
#error "compile with -DSHA512_COMPRESS_NAME=..."
#endif

static inline uint64_t rotr(uint64_t x, unsigned n) { return (x >> n) | (x << (64 - n)); }

#if defined(__riscv_zknh)
#define BIG_SIGMA0(x)   __builtin_riscv_sha512sum0(x)
#define BIG_SIGMA1(x)   __builtin_riscv_sha512sum1(x)
#define SMALL_SIGMA0(x) __builtin_riscv_sha512sig0(x)
#define SMALL_SIGMA1(x) __builtin_riscv_sha512sig1(x)
#else
/* FIPS 180-4, 4.1.3 */
#define BIG_SIGMA0(x)   (rotr(x, 28) ^ rotr(x, 34) ^ rotr(x, 39))
#define BIG_SIGMA1(x)   (rotr(x, 14) ^ rotr(x, 18) ^ rotr(x, 41))
#define SMALL_SIGMA0(x) (rotr(x, 1) ^ rotr(x, 8) ^ ((x) >> 7))
#define SMALL_SIGMA1(x) (rotr(x, 19) ^ rotr(x, 61) ^ ((x) >> 6))
#endif


/* The big-endian word at p. Bundle images are 8-byte aligned (docs/bundle-format.md), so the
   aligned case is one load and Zbb's rev8; otherwise bytes, most significant first. */
static inline uint64_t load_be64(const uint8_t *p, int aligned) {
    if (aligned) return __builtin_bswap64(*(const uint64_t *)p);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

/* One round of 6.4.2 step 3 with the variables' roles rotated by the caller: only d and h change. */
#define ROUND(a, b, c, d, e, f, g, h, kw) do {                                   \
        uint64_t t1 = (h) + BIG_SIGMA1(e) + ((g) ^ ((e) & ((f) ^ (g)))) + (kw);  \
        uint64_t t2 = BIG_SIGMA0(a) + (((a) & (b)) | ((c) & ((a) | (b))));       \
        (d) += t1;                                                               \
        (h) = t1 + t2;                                                           \
    } while (0)

/* Eight rounds from W index j (a constant), K(t + j) onwards. */
#define ROUNDS8(t, j) do {                                                        \
        ROUND(a, b, c, d, e, f, g, h, K[(t) + (j) + 0] + w##j##_0);               \
        ROUND(h, a, b, c, d, e, f, g, K[(t) + (j) + 1] + w##j##_1);               \
        ROUND(g, h, a, b, c, d, e, f, K[(t) + (j) + 2] + w##j##_2);               \
        ROUND(f, g, h, a, b, c, d, e, K[(t) + (j) + 3] + w##j##_3);               \
        ROUND(e, f, g, h, a, b, c, d, K[(t) + (j) + 4] + w##j##_4);               \
        ROUND(d, e, f, g, h, a, b, c, K[(t) + (j) + 5] + w##j##_5);               \
        ROUND(c, d, e, f, g, h, a, b, K[(t) + (j) + 6] + w##j##_6);               \
        ROUND(b, c, d, e, f, g, h, a, K[(t) + (j) + 7] + w##j##_7);               \
    } while (0)

/* W(t) = σ1(W(t-2)) + W(t-7) + σ0(W(t-15)) + W(t-16), in place in the 16-word window. */
#define SCHEDULE(x, x14, x9, x1) x += SMALL_SIGMA1(x14) + x9 + SMALL_SIGMA0(x1)

/* Updates state[0..7] (H0..H7) with `count` 128-byte blocks at `data`; K holds the eighty
   constants of FIPS 180-4, 4.2.3 (Core's SHA512.roundConstants: one table for every variant).
   The window's sixteen words are named variables, so the compiler may keep them in registers. */
void SHA512_COMPRESS_NAME(uint64_t state[8], const void *data, size_t count, const uint64_t K[80]) {
    const uint8_t *blocks = data;
    const int aligned = ((uintptr_t)blocks & 7) == 0;
    uint64_t h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3];
    uint64_t h4 = state[4], h5 = state[5], h6 = state[6], h7 = state[7];
    for (; count > 0; count--, blocks += 128) {
        uint64_t w0_0 = load_be64(blocks + 0, aligned), w0_1 = load_be64(blocks + 8, aligned);
        uint64_t w0_2 = load_be64(blocks + 16, aligned), w0_3 = load_be64(blocks + 24, aligned);
        uint64_t w0_4 = load_be64(blocks + 32, aligned), w0_5 = load_be64(blocks + 40, aligned);
        uint64_t w0_6 = load_be64(blocks + 48, aligned), w0_7 = load_be64(blocks + 56, aligned);
        uint64_t w8_0 = load_be64(blocks + 64, aligned), w8_1 = load_be64(blocks + 72, aligned);
        uint64_t w8_2 = load_be64(blocks + 80, aligned), w8_3 = load_be64(blocks + 88, aligned);
        uint64_t w8_4 = load_be64(blocks + 96, aligned), w8_5 = load_be64(blocks + 104, aligned);
        uint64_t w8_6 = load_be64(blocks + 112, aligned), w8_7 = load_be64(blocks + 120, aligned);
        uint64_t a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
        for (int t = 0; t < 80; t += 16) {
            if (t > 0) {
                SCHEDULE(w0_0, w8_6, w8_1, w0_1); SCHEDULE(w0_1, w8_7, w8_2, w0_2);
                SCHEDULE(w0_2, w0_0, w8_3, w0_3); SCHEDULE(w0_3, w0_1, w8_4, w0_4);
                SCHEDULE(w0_4, w0_2, w8_5, w0_5); SCHEDULE(w0_5, w0_3, w8_6, w0_6);
                SCHEDULE(w0_6, w0_4, w8_7, w0_7); SCHEDULE(w0_7, w0_5, w0_0, w8_0);
                SCHEDULE(w8_0, w0_6, w0_1, w8_1); SCHEDULE(w8_1, w0_7, w0_2, w8_2);
                SCHEDULE(w8_2, w8_0, w0_3, w8_3); SCHEDULE(w8_3, w8_1, w0_4, w8_4);
                SCHEDULE(w8_4, w8_2, w0_5, w8_5); SCHEDULE(w8_5, w8_3, w0_6, w8_6);
                SCHEDULE(w8_6, w8_4, w0_7, w8_7); SCHEDULE(w8_7, w8_5, w8_0, w0_0);
            }
            ROUNDS8(t, 0);
            ROUNDS8(t, 8);
        }
        h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
    }
    state[0] = h0; state[1] = h1; state[2] = h2; state[3] = h3;
    state[4] = h4; state[5] = h5; state[6] = h6; state[7] = h7;
}
