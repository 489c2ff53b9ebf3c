// memset/memcpy/memmove/memcmp for freestanding guests (LLVM lowers loops and copies to calls to them).
#include <stddef.h>
#include <stdint.h>

void *memset(void *dst, int c, size_t n) {
    uint8_t *d = dst;
    while (n && ((uintptr_t)d & 7)) { *d++ = (uint8_t)c; n--; }
    uint64_t pattern = (uint8_t)c * 0x0101010101010101ull;
    for (; n >= 8; n -= 8, d += 8) *(uint64_t *)d = pattern;
    while (n--) *d++ = (uint8_t)c;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
        for (; n >= 8; n -= 8, d += 8, s += 8) *(uint64_t *)d = *(const uint64_t *)s;
    }
    while (n--) *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d <= s || d >= s + n) return memcpy(dst, src, n);   // forward copy is safe
    while (n--) d[n] = s[n];                                 // overlapping, dst above src: backwards
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}
