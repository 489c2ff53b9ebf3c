/* bulkhead_monitor.h: the C interface of Bulkhead's secure-monitor library (libbulkhead_monitor.a).
 *
 * The library runs in M-mode inside the platform firmware (e.g. OpenSBI). It verifies and measures
 * the next boot stage against the trust anchors built into it, and derives the next stage's CDI
 * from the device secret (docs/monitor.md). It depends on no firmware header: the firmware glue
 * passes the device tree, a flash reader and a console writer.
 *
 * For a plain OS (no hypervisor) it also performs the key services derive, seal/unseal, attest
 * and random (bulkhead_monitor_key_call) as the partition "os" under that CDI.
 *
 * Threading: call init and verify on one hart (the cold-boot hart) before any other hart runs;
 * verify and the key calls switch to the library's own 32 KiB stack (Ed25519 needs about 8 KiB)
 * and are not re-entrant. The query functions may be called from any hart afterwards (they only
 * read); take_cdi_word and key_call change state: the caller serialises them (one lock for both).
 */
#ifndef BULKHEAD_MONITOR_H
#define BULKHEAD_MONITOR_H

#include <stdint.h>

/* A signed next stage is a 4096-byte header immediately below the image (docs/monitor.md). */
#define BULKHEAD_MONITOR_HEADER_SIZE      4096u
#define BULKHEAD_MONITOR_MEASUREMENT_SIZE 64u
#define BULKHEAD_MONITOR_CDI_SIZE         64u

/* The firmware-specific SBI extension the glue registers (SBI spec: 0x0A000000-0x0AFFFFFF). */
#define BULKHEAD_MONITOR_SBI_EID              0x0A424C4Bu   /* 0x0A followed by "BLK" */
#define BULKHEAD_MONITOR_SBI_GET_VERSION      0             /* a1 = BULKHEAD_MONITOR_API_VERSION */
#define BULKHEAD_MONITOR_SBI_GET_MEASUREMENT  1             /* a0 = word index 0..7; a1 = that little-endian
                                                               64-bit word of the next stage's SHA-512 */
#define BULKHEAD_MONITOR_SBI_GET_CDI          2             /* a0 = word index 0..7, taken in order, once:
                                                               a1 = that little-endian 64-bit word of the
                                                               next stage's CDI; after word 7 the monitor
                                                               wipes it and refuses (SBI_ERR_DENIED) */
#define BULKHEAD_MONITOR_SBI_GET_CERTIFICATE  3             /* a0 = word index 0..23; a1 = that little-endian
                                                               64-bit word of the monitor's 192-byte
                                                               certificate (API version 4; public, may be
                                                               read again; SBI_ERR_DENIED without a CDI) */
/* Key services for a plain OS (API version 3; docs/monitor.md): the Bulkhead extension's functions
 * with the same FIDs, arguments, results and reasons (docs/hypercalls.md, docs/keys.md), for the
 * next stage as the partition "os". Addresses are physical; every buffer must be accessible to the
 * caller's privilege mode in its OpenSBI domain and lie in RAM, else SBI_ERR_INVALID_ADDRESS (-5)
 * with reason 7 (bad_address) in a1. Errors: a0 the SBI error, a1 the Bulkhead reason. The key
 * services and get_cdi exclude each other: the first one used wins (after a key call get_cdi is
 * SBI_ERR_DENIED; after get_cdi's word 0 every key call is SBI_ERR_DENIED, reason 10). */
#define BULKHEAD_MONITOR_SBI_DERIVE           5             /* a0 label, a1 label length 1..64, a2 32-byte output (8-aligned) */
#define BULKHEAD_MONITOR_SBI_SEAL             6             /* a0 binding (1 image, 2 signer), a1 48-byte request block */
#define BULKHEAD_MONITOR_SBI_UNSEAL           7             /* a1 48-byte request block */
#define BULKHEAD_MONITOR_SBI_ATTEST           8             /* a0 32-byte nonce, a1 output (320 bytes), a2 its length */
#define BULKHEAD_MONITOR_SBI_RANDOM           9             /* a0 output, a1 length 1..256 */
#define BULKHEAD_MONITOR_API_VERSION          4

/* Results of bulkhead_monitor_verify_next_stage: 0 accepted, else the first check that failed. */
enum bulkhead_monitor_result {
    BULKHEAD_MONITOR_OK               = 0,
    BULKHEAD_MONITOR_NOT_INITIALISED  = -1,  /* bulkhead_monitor_init was not called */
    BULKHEAD_MONITOR_NO_HEADER        = -2,  /* no "BHNEXT01" magic below the image */
    BULKHEAD_MONITOR_BAD_VERSION      = -3,  /* a header format version other than 2 (1 has no security version) */
    BULKHEAD_MONITOR_WRONG_ADDRESS    = -4,  /* the header names another load address */
    BULKHEAD_MONITOR_BAD_SIZE         = -5,  /* size 0, above the limit, or the image leaves RAM */
    BULKHEAD_MONITOR_REVOKED_KEY      = -6,  /* the key id is revoked */
    BULKHEAD_MONITOR_UNKNOWN_KEY      = -7,  /* the key id is not a trust anchor */
    BULKHEAD_MONITOR_BAD_SIGNATURE    = -8,  /* the Ed25519 signature over the header does not verify */
    BULKHEAD_MONITOR_DIGEST_MISMATCH  = -9,  /* the image does not hash to the header's SHA-512 */
    BULKHEAD_MONITOR_ROLLBACK         = -10, /* verified, but its security version is below the floor */
    BULKHEAD_MONITOR_STATE_UNAVAILABLE = -11, /* the monitor's state record cannot be read or written
                                                (or no flash writer was passed): no floor holds */
};

/* Reads `len` bytes at `offset` of the board's secure flash (the bundle flash on QEMU virt) into
 * `buf`; returns 0 on success. */
typedef int (*bulkhead_monitor_flash_read_fn)(void *ctx, uint64_t offset, void *buf, uint64_t len);
/* Erases the erase block at `offset` of the secure flash (to 0xFF); 0 on success. */
typedef int (*bulkhead_monitor_flash_erase_fn)(void *ctx, uint64_t offset);
/* Programs `len` bytes at `offset` (clearing bits only); 0 on success. */
typedef int (*bulkhead_monitor_flash_program_fn)(void *ctx, uint64_t offset, const void *buf, uint64_t len);
/* Writes one console byte (the firmware's console). */
typedef void (*bulkhead_monitor_putc_fn)(char c);

/* The device secret's block in the secure flash: its offset and size (a power of two, aligned to
 * its size), for the firmware to make M-only with PMP before anything below M-mode runs. May be
 * called before init. Returns 0, or -1 when a pointer is null. */
int bulkhead_monitor_secret_range(uint64_t *offset, uint64_t *size);

/* The monitor's state record's two erase blocks (adjacent; the pair is aligned to its size), for
 * the firmware to make M-only with PMP like the secret's block. Returns 0, or -1 for a null pointer. */
int bulkhead_monitor_record_range(uint64_t *offset, uint64_t *size);

/* Keeps the device tree (flattened, as passed to the firmware), the flash reader and the console
 * writer. Returns 0, or BULKHEAD_MONITOR_NOT_INITIALISED when `fdt` or `putc` is null. */
int bulkhead_monitor_init(const void *fdt, bulkhead_monitor_flash_read_fn flash_read, void *flash_ctx,
                          bulkhead_monitor_putc_fn putc);

/* Keeps the M-mode flash writer the monitor's state record needs (call after init, before verify;
 * init forgets it). Returns 0, or -1 when either pointer is null (then verify refuses every stage
 * with BULKHEAD_MONITOR_STATE_UNAVAILABLE). */
int bulkhead_monitor_set_flash_writer(bulkhead_monitor_flash_erase_fn erase, bulkhead_monitor_flash_program_fn program);

/* Verifies the signed next stage whose image starts at `image_addr` (its header is the 4096 bytes
 * below), at most `max_size` bytes long and inside the device tree's RAM. Prints one line
 * "[monitor] next stage at 0x...: verified ..." or "[monitor] next stage at 0x...: refused: ..."
 * and returns a bulkhead_monitor_result. A stage that verifies is then held to the floor in the
 * monitor's state record: below it, BULKHEAD_MONITOR_ROLLBACK; otherwise one record write raises
 * the floor to its security version (when higher) and counts the boot (a line "[monitor] state:
 * boot N, minimum next-stage security version ..."). On success the measurement (SHA-512 of the
 * image) is kept, and the next stage's CDI is derived from the device secret when the flash holds one. */
int bulkhead_monitor_verify_next_stage(uint64_t image_addr, uint64_t max_size);

/* Copies the accepted next stage's measurement (64 bytes); 0, or -1 when nothing was accepted. */
int bulkhead_monitor_measurement(uint8_t out[BULKHEAD_MONITOR_MEASUREMENT_SIZE]);

/* Whether a CDI was derived for the accepted next stage (1) or not (0: no stage accepted, or no
 * valid device secret, or the next stage has taken it). */
int bulkhead_monitor_has_cdi(void);

/* Performs key call `fid` (BULKHEAD_MONITOR_SBI_DERIVE..RANDOM) for the next stage with its
 * arguments a0..a2, on the library's own stack. The caller must have checked every buffer the call
 * names against the caller's access rights (the glue uses OpenSBI's domain checks; for seal and
 * unseal it passes the address of its own copy of the request block); the library still refuses
 * buffers outside the device tree's RAM. `boot_value` is a per-boot value (the glue's timer and
 * cycle counter) mixed into the DRBG's seed at the first call, beside the boot counter from the
 * monitor's state record. Returns the SBI error (0 or
 * negative) and stores a1 (the result or the reason) in *value. Not re-entrant: the caller
 * serialises calls, and with bulkhead_monitor_take_cdi_word. */
long bulkhead_monitor_key_call(uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t boot_value, uint64_t *value);

/* Hands the CDI to the next stage once: stores its word `index` (little-endian 64 bits, bytes
 * 8*index ..< 8*index+8) in *out and returns 0 only when `index` is the next word not yet taken
 * (0, 1, ..., 7 in that order); after word 7 the library wipes its copy. Returns -1 (nothing
 * stored) when there is no CDI, it was taken already, `index` is out of order, or a key call came
 * first. Taking word 0 wipes the key services' keys. Not re-entrant:
 * the caller serialises calls (the OpenSBI glue holds a spinlock). */
int bulkhead_monitor_take_cdi_word(uint32_t index, uint64_t *out);

/* Word `index` (0..23, little-endian 64 bits) of the certificate the monitor signed with its
 * device key for the accepted next stage (its measurement and attestation public key,
 * docs/monitor.md) into *out: 0, or -1 (no certificate: nothing accepted or no device secret). */
int bulkhead_monitor_certificate_word(uint32_t index, uint64_t *out);

#endif
