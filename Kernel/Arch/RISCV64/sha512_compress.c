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

/* FIPS 180-4, 4.2.3: the first 64 bits of the fractional parts of the cube roots of the first
   eighty primes. */
static const uint64_t K[80] = {
    0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc,
    0x3956c25bf348b538, 0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118,
    0xd807aa98a3030242, 0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
    0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235, 0xc19bf174cf692694,
    0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
    0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5,
    0x983e5152ee66dfab, 0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4,
    0xc6e00bf33da88fc2, 0xd5a79147930aa725, 0x06ca6351e003826f, 0x142929670a0e6e70,
    0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed, 0x53380d139d95b3df,
    0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
    0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30,
    0xd192e819d6ef5218, 0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8,
    0x19a4c116b8d2d0c8, 0x1e376c085141ab53, 0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8,
    0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373, 0x682e6ff3d6b2b8a3,
    0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
    0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b,
    0xca273eceea26619c, 0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178,
    0x06f067aa72176fba, 0x0a637dc5a2c898a6, 0x113f9804bef90dae, 0x1b710b35131c471b,
    0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc, 0x431d67c49c100d4c,
    0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
};

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

/* Updates state[0..7] (H0..H7) with `count` 128-byte blocks at `blocks`. The window's sixteen
   words are named variables, so the compiler may keep them in registers. */
void SHA512_COMPRESS_NAME(uint64_t state[8], const void *data, size_t count) {
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
