// memset/memcpy/memmove/memcmp for the freestanding kernel and guests (LLVM lowers loops and copies to them).
#include <stddef.h>
#include <stdint.h>

void *memset(void *dst, int c, size_t n) {
    uint8_t *d = dst;
    uint64_t pattern = (uint8_t)c * 0x0101010101010101ull;
    while (n && ((uintptr_t)d & 7)) { *d++ = (uint8_t)c; n--; }
    for (; n >= 64; n -= 64, d += 64) {          // unrolled: guest RAM is scrubbed with this
        uint64_t *w = (uint64_t *)d;
        w[0] = pattern; w[1] = pattern; w[2] = pattern; w[3] = pattern;
        w[4] = pattern; w[5] = pattern; w[6] = pattern; w[7] = pattern;
    }
    for (; n >= 8; n -= 8, d += 8) *(uint64_t *)d = pattern;
    while (n--) *d++ = (uint8_t)c;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
        for (; n >= 32; n -= 32, d += 32, s += 32) {
            const uint64_t *r = (const uint64_t *)s;
            uint64_t *w = (uint64_t *)d;
            uint64_t a = r[0], b = r[1], e = r[2], f = r[3];
            w[0] = a; w[1] = b; w[2] = e; w[3] = f;
        }
        for (; n >= 8; n -= 8, d += 8, s += 8) *(uint64_t *)d = *(const uint64_t *)s;
    }
    while (n--) *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d <= s || d >= s + n) return memcpy(dst, src, n);
    while (n--) d[n] = s[n];
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}
