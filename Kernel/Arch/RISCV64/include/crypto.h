// SHA-512 compression functions built for the hart's optional instructions (sha512_compress.c).
#pragma once
#include <stdint.h>
#include <stddef.h>

#pragma clang assume_nonnull begin
/* FIPS 180-4, 6.4.2 over `count` 128-byte blocks with the constants `k`: rotations with Zbb's rori. */
void sha512_compress_zbb(uint64_t state[_Nonnull 8], const void *blocks, size_t count, const uint64_t k[_Nonnull 80]);
/* The same with Zknh's sha512sum0/sum1/sig0/sig1 (and Zbb). */
void sha512_compress_zknh(uint64_t state[_Nonnull 8], const void *blocks, size_t count, const uint64_t k[_Nonnull 80]);
#pragma clang assume_nonnull end
