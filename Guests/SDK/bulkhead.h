// Bulkhead guest SDK for C: the Bulkhead SBI extension (inter-partition IPC, docs/hypercalls.md; key services, docs/keys.md).
//
// Header only: constants for the extension id, the function ids, every reason code, the
// partition_info layout, the key services' limits and request block, and one static inline
// function per hypercall (an `ecall` in inline asm).
// The numbers are also Core's (Kernel/Core/IPC/IPCABI.swift); Tests/CoreTests/GuestSDKHeaderTests
// checks that every #define below equals Core's value, so keep one #define per line.
//
// Devices (docs/configuration.md "Devices"): no hypercall is involved. A partition's devices are
// nodes of the device tree it gets in a1: each has `compatible`, `reg` <address size> (guest-physical,
// equal to the board's address: map or access it there) and, with interrupts, `interrupts` and
// `interrupt-parent` naming /plic@c000000, a PLIC (compatible "riscv,plic0") whose context i is
// vCPU i's supervisor external interrupt (scause 9, sie.SEIE). Program it as the RISC-V PLIC
// specification says, with 32-bit accesses: priority at base + 4*source, enables at
// base + 0x2000 + 0x80*context, threshold at base + 0x200000 + 0x1000*context, claim/complete at
// that + 4. Only the partition's own sources exist there. The Swift runtime's Device and
// PLICClient (Guests/Runtime/Devices.swift) do this; Guests/rtc is an example.
//
// Guests/guests.mk compiles this header with clang -Werror and -DBULKHEAD_INLINE= (every function
// emitted, so every asm statement is assembled) before any guest is built.
#ifndef BULKHEAD_H
#define BULKHEAD_H

#include <stddef.h>
#include <stdint.h>

#ifndef BULKHEAD_INLINE
#define BULKHEAD_INLINE static inline __attribute__((always_inline))
#endif

// ---- The extension and its functions (a7 = EID, a6 = FID) ------------------------------------

/// The Bulkhead extension id: SBI firmware-specific range 0x0A000000 + implementation id 0x4248.
#define BULKHEAD_EID 0x0A004248

/// The secure monitor's extension (docs/monitor.md): 0x0A, then "BLK". For a plain S-mode OS booted
/// by the monitor it offers derive, seal, unseal, attest and random with the FIDs, arguments and
/// reasons below (the OS is the partition "os"); buffers are physical addresses. Build such an OS
/// with -DBULKHEAD_TARGET_EID=BULKHEAD_MONITOR_EID and the key-service functions below go there.
#define BULKHEAD_MONITOR_EID 0x0A424C4B
#define BULKHEAD_MONITOR_FID_GET_VERSION 0      ///< () -> BULKHEAD_MONITOR_API_VERSION
#define BULKHEAD_MONITOR_FID_GET_MEASUREMENT 1  ///< (word 0..7) -> that word of the OS's SHA-512 measurement
#define BULKHEAD_MONITOR_FID_GET_CDI 2          ///< (word 0..7, in order, once) -> that word of the CDI
#define BULKHEAD_MONITOR_API_VERSION 3

/// Where the wrappers below send their calls: the hypervisor (default) or the secure monitor.
#ifndef BULKHEAD_TARGET_EID
#define BULKHEAD_TARGET_EID BULKHEAD_EID
#endif

#define BULKHEAD_FID_PARTITION_INFO 0   ///< (buffer, length) -> bytes written
#define BULKHEAD_FID_SEND 1             ///< (channel, message, length) -> 0
#define BULKHEAD_FID_RECEIVE 2          ///< (channel, buffer, length) -> length | sender << 32
#define BULKHEAD_FID_NOTIFY 3           ///< (channel) -> 0
#define BULKHEAD_FID_DOORBELLS 4        ///< () -> mask of channel ids rung since the last call
// Key services (docs/keys.md); each needs its service in the partition's `keys` policy.
#define BULKHEAD_FID_DERIVE 5           ///< (label, label length, output[32]) -> 32
#define BULKHEAD_FID_SEAL 6             ///< (binding, request) -> blob length
#define BULKHEAD_FID_UNSEAL 7           ///< (0, request) -> plaintext length
#define BULKHEAD_FID_ATTEST 8           ///< (nonce[32], output, output length) -> report length
#define BULKHEAD_FID_RANDOM 9           ///< (output, length) -> length
// Keystore (docs/keys.md); each needs `keystore` in the partition's `keys` policy.
#define BULKHEAD_FID_KEY_GENERATE 10    ///< (usage) -> handle
#define BULKHEAD_FID_KEY_IMPORT 11      ///< (usage, material, length) -> handle
#define BULKHEAD_FID_KEY_SIGN 12        ///< (handle, message, length, output[64]) -> 64
#define BULKHEAD_FID_KEY_MAC 13         ///< (handle, message, length, output[64]) -> 64
#define BULKHEAD_FID_KEY_PUBLIC 14      ///< (handle, output[32]) -> 32
#define BULKHEAD_FID_KEY_DESTROY 15     ///< (handle) -> 0
// Partition updates (docs/hypercalls.md, "Partition updates"); target = a partition index the
// caller's `update` policy names (update_status: also the caller itself). Not offered by this
// kernel build yet: each returns NOT_SUPPORTED / BULKHEAD_REASON_UNKNOWN_FUNCTION.
#define BULKHEAD_FID_UPDATE_STAGE 16    ///< (target, offset, chunk, length) -> bytes staged so far
#define BULKHEAD_FID_UPDATE_APPLY 17    ///< (target, total length) -> 0: verified, target restarted on trial
#define BULKHEAD_FID_UPDATE_STATUS 18   ///< (target) -> state | last reason << 8 | security version << 16
#define BULKHEAD_FID_UPDATE_COMMIT 19   ///< () -> 0: the caller's trial image is committed
// The system report (docs/keys.md); needs `attest_system` in the partition's `keys` policy.
#define BULKHEAD_FID_ATTEST_SYSTEM 23   ///< (nonce[32], output, output length) -> report length

// ---- Standard SBI error codes (a0) -----------------------------------------------------------

#define BULKHEAD_SBI_SUCCESS 0
#define BULKHEAD_SBI_ERR_FAILED (-1)
#define BULKHEAD_SBI_ERR_NOT_SUPPORTED (-2)
#define BULKHEAD_SBI_ERR_INVALID_PARAM (-3)
#define BULKHEAD_SBI_ERR_DENIED (-4)
#define BULKHEAD_SBI_ERR_INVALID_ADDRESS (-5)

// ---- Reason codes (a1 when a0 != 0) ----------------------------------------------------------

#define BULKHEAD_REASON_UNKNOWN_CHANNEL 1    ///< INVALID_PARAM: no channel has this id
#define BULKHEAD_REASON_NOT_ENDPOINT 2       ///< DENIED: the caller is not one of its endpoints
#define BULKHEAD_REASON_WRONG_KIND 3         ///< INVALID_PARAM: send/receive on shared memory
#define BULKHEAD_REASON_WRONG_DIRECTION 4    ///< DENIED: this end may not send / be sent to
#define BULKHEAD_REASON_MISALIGNED 5         ///< INVALID_PARAM: buffer not 8-byte aligned
#define BULKHEAD_REASON_TOO_LONG 6           ///< INVALID_PARAM: send longer than the message size
#define BULKHEAD_REASON_BAD_ADDRESS 7        ///< INVALID_ADDRESS: buffer not wholly in the caller's RAM
#define BULKHEAD_REASON_FULL 8               ///< FAILED: the ring has no room (nothing changed)
#define BULKHEAD_REASON_EMPTY 9              ///< FAILED: no message waiting
#define BULKHEAD_REASON_POLICY_DENIED 10     ///< DENIED: the caller's policy refuses the call
#define BULKHEAD_REASON_NO_DOORBELL 11       ///< INVALID_PARAM: notify on a channel without doorbell
#define BULKHEAD_REASON_BUFFER_TOO_SMALL 12  ///< INVALID_PARAM: buffer smaller than the data
#define BULKHEAD_REASON_UNKNOWN_FUNCTION 13  ///< NOT_SUPPORTED: no such function id
#define BULKHEAD_REASON_NO_DEVICE_SECRET 14  ///< FAILED: the device has no (valid) secret: no key service works
#define BULKHEAD_REASON_BAD_BLOB 15          ///< INVALID_PARAM: not a sealed blob (magic, version, binding, lengths)
#define BULKHEAD_REASON_NOT_AUTHENTIC 16     ///< FAILED: the blob does not open with this partition's key
#define BULKHEAD_REASON_VERSION_TOO_LOW 17   ///< DENIED: signer-bound blob sealed by a newer security version
#define BULKHEAD_REASON_BAD_BINDING 18       ///< INVALID_PARAM: seal with a binding other than image or signer
#define BULKHEAD_REASON_UNKNOWN_HANDLE 19    ///< INVALID_PARAM: no key of the caller's has this handle (destroyed, never made)
#define BULKHEAD_REASON_NOT_OWNER 20         ///< DENIED: the handle belongs to another partition
#define BULKHEAD_REASON_KEYSTORE_FULL 21     ///< FAILED: every slot of the caller's keystore is taken
#define BULKHEAD_REASON_WRONG_USAGE 22       ///< INVALID_PARAM: a sign key used for mac, or the reverse
#define BULKHEAD_REASON_BAD_USAGE 23         ///< INVALID_PARAM: usage is neither sign nor mac
#define BULKHEAD_REASON_BAD_KEY_LENGTH 24    ///< INVALID_PARAM: imported material of the wrong length
#define BULKHEAD_REASON_STORAGE_FAILED 25    ///< FAILED: the keystore could not be written to flash (nothing changed)
#define BULKHEAD_REASON_BUSY 26              ///< FAILED: another partition's keystore change is being written, or the update staging buffer / target is taken; try again
#define BULKHEAD_REASON_UPDATE_TOO_LARGE 30  ///< INVALID_PARAM: the update does not fit the 1 MiB staging buffer
#define BULKHEAD_REASON_UPDATE_MALFORMED 31  ///< INVALID_PARAM: a chunk leaves a gap, the length differs from what was staged, or not a well-formed update
#define BULKHEAD_REASON_UPDATE_UNTRUSTED 32  ///< DENIED: signer revoked or not a trust anchor, or bad signature
#define BULKHEAD_REASON_UPDATE_ROLLBACK 33   ///< DENIED: security version not above the target's floor
#define BULKHEAD_REASON_UPDATE_MISMATCH 34   ///< INVALID_PARAM: another partition or policy, does not fit the memory, or a digest differs
#define BULKHEAD_REASON_NOT_ON_TRIAL 35      ///< DENIED: update_commit while not running an image on trial
#define BULKHEAD_REASON_TRIAL_FAULTED 36     ///< FAILED (update_status only): the trial image faulted and was rolled back
#define BULKHEAD_REASON_TRIAL_RESET 37       ///< FAILED (update_status only): the trial image rebooted or powered off and was rolled back
#define BULKHEAD_REASON_TRIAL_DEADLINE 38    ///< FAILED (update_status only): the trial image did not commit in time and was rolled back

// update_status states (bits 0-7 of its value).
#define BULKHEAD_UPDATE_NONE 0          ///< running its bundle's image
#define BULKHEAD_UPDATE_TRIAL 1         ///< running a new image on trial
#define BULKHEAD_UPDATE_COMMITTED 2     ///< the last update committed
#define BULKHEAD_UPDATE_ROLLED_BACK 3   ///< the last trial failed (reason in bits 8-15)
#define BULKHEAD_UPDATE_REFUSED 4       ///< the last update was refused (reason in bits 8-15)

// ---- partition_info layout (little-endian) ---------------------------------------------------

#define BULKHEAD_INFO_VERSION 1
#define BULKHEAD_INFO_HEADER_SIZE 24
#define BULKHEAD_INFO_ENTRY_SIZE 48
#define BULKHEAD_MAX_CHANNELS 16
/// A buffer this large always suffices: 24 + 48 * 16.
#define BULKHEAD_INFO_MAX_SIZE 792

// Header offsets.
#define BULKHEAD_INFO_VERSION_OFFSET 0         // u16
#define BULKHEAD_INFO_PARTITION_ID_OFFSET 2    // u16
#define BULKHEAD_INFO_CHANNEL_COUNT_OFFSET 4   // u16
#define BULKHEAD_INFO_ENTRY_SIZE_OFFSET 6      // u16
#define BULKHEAD_INFO_NAME_OFFSET 8            // 16 bytes, zero padded
// Entry offsets.
#define BULKHEAD_ENTRY_NAME_OFFSET 0           // 16 bytes, zero padded
#define BULKHEAD_ENTRY_ID_OFFSET 16            // u16
#define BULKHEAD_ENTRY_KIND_OFFSET 18          // u8
#define BULKHEAD_ENTRY_FLAGS_OFFSET 19         // u8
#define BULKHEAD_ENTRY_ENDPOINT_OFFSET 20      // u8
#define BULKHEAD_ENTRY_PEER_OFFSET 21          // u8
#define BULKHEAD_ENTRY_DEPTH_OFFSET 24         // u32
#define BULKHEAD_ENTRY_MESSAGE_SIZE_OFFSET 28  // u32
#define BULKHEAD_ENTRY_SHARED_ADDRESS_OFFSET 32  // u64
#define BULKHEAD_ENTRY_SHARED_SIZE_OFFSET 40   // u64

// Entry kinds.
#define BULKHEAD_KIND_QUEUE 1
#define BULKHEAD_KIND_SHARED_MEMORY 2

// Entry flags.
#define BULKHEAD_FLAG_MAY_SEND 1       ///< queue: may send; shared memory: may write
#define BULKHEAD_FLAG_MAY_RECEIVE 2    ///< queue: the peer may send to the caller
#define BULKHEAD_FLAG_DOORBELL 4       ///< notify rings the peer

/// The partition_info header (offset 0).
struct bulkhead_info_header {
    uint16_t version;        ///< BULKHEAD_INFO_VERSION
    uint16_t partition_id;   ///< the caller's index in the manifest (the sender id receive reports)
    uint16_t channel_count;  ///< entries that follow, in channel id order
    uint16_t entry_size;     ///< BULKHEAD_INFO_ENTRY_SIZE
    char name[16];           ///< the caller's partition name, zero padded (not NUL-terminated at 16)
};

/// One channel the caller is an endpoint of.
struct bulkhead_channel_entry {
    char name[16];            ///< channel name, zero padded
    uint16_t id;              ///< the channel id to pass to send/receive/notify
    uint8_t kind;             ///< BULKHEAD_KIND_*
    uint8_t flags;            ///< BULKHEAD_FLAG_*
    uint8_t endpoint;         ///< the caller's end, 0 or 1
    uint8_t peer;             ///< the other endpoint's partition id
    uint16_t reserved;
    uint32_t depth;           ///< queue: messages per direction (0 for shared memory)
    uint32_t message_size;    ///< queue: largest message in bytes (0 for shared memory)
    uint64_t shared_address;  ///< shared memory: guest-physical address (0 for a queue)
    uint64_t shared_size;     ///< shared memory: bytes (0 for a queue)
};

/// The whole block partition_info writes: header, then `channel_count` entries.
struct bulkhead_partition_info {
    struct bulkhead_info_header header;
    struct bulkhead_channel_entry channels[BULKHEAD_MAX_CHANNELS];
};

_Static_assert(sizeof(struct bulkhead_info_header) == BULKHEAD_INFO_HEADER_SIZE, "header size");
_Static_assert(sizeof(struct bulkhead_channel_entry) == BULKHEAD_INFO_ENTRY_SIZE, "entry size");
_Static_assert(sizeof(struct bulkhead_partition_info) == BULKHEAD_INFO_MAX_SIZE, "info size");
_Static_assert(offsetof(struct bulkhead_info_header, partition_id) == BULKHEAD_INFO_PARTITION_ID_OFFSET, "partition_id");
_Static_assert(offsetof(struct bulkhead_info_header, channel_count) == BULKHEAD_INFO_CHANNEL_COUNT_OFFSET, "channel_count");
_Static_assert(offsetof(struct bulkhead_info_header, entry_size) == BULKHEAD_INFO_ENTRY_SIZE_OFFSET, "entry_size");
_Static_assert(offsetof(struct bulkhead_info_header, name) == BULKHEAD_INFO_NAME_OFFSET, "name");
_Static_assert(offsetof(struct bulkhead_channel_entry, id) == BULKHEAD_ENTRY_ID_OFFSET, "id");
_Static_assert(offsetof(struct bulkhead_channel_entry, kind) == BULKHEAD_ENTRY_KIND_OFFSET, "kind");
_Static_assert(offsetof(struct bulkhead_channel_entry, flags) == BULKHEAD_ENTRY_FLAGS_OFFSET, "flags");
_Static_assert(offsetof(struct bulkhead_channel_entry, endpoint) == BULKHEAD_ENTRY_ENDPOINT_OFFSET, "endpoint");
_Static_assert(offsetof(struct bulkhead_channel_entry, peer) == BULKHEAD_ENTRY_PEER_OFFSET, "peer");
_Static_assert(offsetof(struct bulkhead_channel_entry, depth) == BULKHEAD_ENTRY_DEPTH_OFFSET, "depth");
_Static_assert(offsetof(struct bulkhead_channel_entry, message_size) == BULKHEAD_ENTRY_MESSAGE_SIZE_OFFSET, "message_size");
_Static_assert(offsetof(struct bulkhead_channel_entry, shared_address) == BULKHEAD_ENTRY_SHARED_ADDRESS_OFFSET, "shared_address");
_Static_assert(offsetof(struct bulkhead_channel_entry, shared_size) == BULKHEAD_ENTRY_SHARED_SIZE_OFFSET, "shared_size");

// ---- Key services (docs/keys.md) ------------------------------------------------------------

#define BULKHEAD_KEY_SIZE 32              ///< bytes derive writes
#define BULKHEAD_DERIVE_MAX_LABEL 64      ///< derive's label: 1 to 64 bytes
#define BULKHEAD_RANDOM_MAX 256           ///< random: 1 to 256 bytes per call
#define BULKHEAD_ATTEST_NONCE_SIZE 32     ///< attest's nonce (8-byte aligned)
/// attest_system's report: 192 + 224 per partition + 40 per channel + 64 (signature) bytes; a
/// buffer this large always suffices (8 partitions, 16 channels).
#define BULKHEAD_SYSTEM_REPORT_MAX 2688

// Bindings of seal (a0).
#define BULKHEAD_SEAL_IMAGE 1             ///< opens only for the same partition name, image and policy
#define BULKHEAD_SEAL_SIGNER 2            ///< opens for the same name under the same signing key, same or newer security version

#define BULKHEAD_SEAL_REQUEST_SIZE 48     ///< the request block of seal/unseal (8-byte aligned)
#define BULKHEAD_SEAL_MAX_DATA 4096       ///< seal's plaintext; unseal's blob is at most this + overhead
#define BULKHEAD_SEAL_MAX_AAD 256         ///< the caller's additional data
#define BULKHEAD_SEAL_HEADER_SIZE 32      ///< blob header: magic "BHSL", version, binding, security version, nonce, length
#define BULKHEAD_SEAL_TAG_SIZE 16         ///< Poly1305 tag at the end of the blob
#define BULKHEAD_SEAL_OVERHEAD 48         ///< a blob is the plaintext length + 48 bytes
#define BULKHEAD_SEAL_BLOB_VERSION 1      ///< the blob format's version (offset 4, u16)

// Keystore (docs/keys.md): keys used by handle, persisted sealed in flash.
#define BULKHEAD_KEY_USAGE_SIGN 1         ///< an Ed25519 key (RFC 8032): key_sign, key_public
#define BULKHEAD_KEY_USAGE_MAC 2          ///< an HMAC-SHA512 key: key_mac
#define BULKHEAD_KEYSTORE_SLOTS 8         ///< keys a partition may hold
#define BULKHEAD_KEY_MAX_MESSAGE 4096     ///< key_sign / key_mac message length
#define BULKHEAD_KEY_SIGNATURE_SIZE 64    ///< key_sign's output (8-byte aligned)
#define BULKHEAD_KEY_MAC_SIZE 64          ///< key_mac's output (8-byte aligned)
#define BULKHEAD_KEY_PUBLIC_SIZE 32       ///< key_public's output (8-byte aligned)
#define BULKHEAD_KEY_MAC_MIN_MATERIAL 16  ///< key_import of a mac key: 16 to 64 bytes; a sign key: its 32-byte seed
#define BULKHEAD_KEY_MAX_MATERIAL 64

/// The request block seal and unseal read (copied in once; all fields little-endian u64).
/// seal: data = plaintext, out = the blob; unseal: data = the blob, out = the plaintext.
struct bulkhead_seal_request {
    uint64_t data;           ///< guest-physical address of the input
    uint64_t data_length;    ///< its length
    uint64_t aad;            ///< additional authenticated data (may be 0 with length 0)
    uint64_t aad_length;     ///< at most BULKHEAD_SEAL_MAX_AAD
    uint64_t out;            ///< where the result goes
    uint64_t out_capacity;   ///< how many bytes fit there
};

_Static_assert(sizeof(struct bulkhead_seal_request) == BULKHEAD_SEAL_REQUEST_SIZE, "seal request size");

// ---- Calls -------------------------------------------------------------------------------------

/// What a Bulkhead call returns: `error` (a0) is 0 on success, else a BULKHEAD_SBI_ERR_* code and
/// `value` (a1) the BULKHEAD_REASON_* code; on success `value` is the function's result.
struct bulkhead_ret {
    int64_t error;
    uint64_t value;
};

/// Any function of extension `eid`: a7 = eid, a6 = fid, arguments in a0..a3.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_ecall4(uint64_t eid, uint64_t fid, uint64_t arg0, uint64_t arg1, uint64_t arg2,
                                                    uint64_t arg3) {
    register uint64_t a0 __asm__("a0") = arg0;
    register uint64_t a1 __asm__("a1") = arg1;
    register uint64_t a2 __asm__("a2") = arg2;
    register uint64_t a3 __asm__("a3") = arg3;
    register uint64_t a6 __asm__("a6") = fid;
    register uint64_t a7 __asm__("a7") = eid;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a3), "r"(a6), "r"(a7) : "memory");
    struct bulkhead_ret ret = { (int64_t)a0, a1 };
    return ret;
}

/// Any Bulkhead function: a7 = BULKHEAD_TARGET_EID, a6 = fid, arguments in a0..a3 (for tests and
/// fuzzers; the wrappers below are the API).
BULKHEAD_INLINE struct bulkhead_ret bulkhead_call4(uint64_t fid, uint64_t arg0, uint64_t arg1, uint64_t arg2, uint64_t arg3) {
    return bulkhead_ecall4(BULKHEAD_TARGET_EID, fid, arg0, arg1, arg2, arg3);
}

/// A secure-monitor function (BULKHEAD_MONITOR_FID_*) with one argument, e.g. its API version.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_monitor_call(uint64_t fid, uint64_t arg0) {
    return bulkhead_ecall4(BULKHEAD_MONITOR_EID, fid, arg0, 0, 0, 0);
}

/// bulkhead_call4 for the functions of at most three arguments.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_call(uint64_t fid, uint64_t arg0, uint64_t arg1, uint64_t arg2) {
    return bulkhead_call4(fid, arg0, arg1, arg2, 0);
}

/// Writes the caller's partition id, name and channels into `info` (8-byte aligned, `length`
/// bytes; BULKHEAD_INFO_MAX_SIZE always suffices). Returns the bytes written in `value`.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_partition_info(struct bulkhead_partition_info *info, uint64_t length) {
    return bulkhead_call(BULKHEAD_FID_PARTITION_INFO, (uint64_t)(uintptr_t)info, length, 0);
}

/// Queues `length` bytes (at most the channel's message size) from `message` (8-byte aligned)
/// for the peer; rings the peer's doorbell when the channel has one. FAILED/FULL when the ring is full.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_send(uint64_t channel, const void *message, uint64_t length) {
    return bulkhead_call(BULKHEAD_FID_SEND, channel, (uint64_t)(uintptr_t)message, length);
}

/// Copies the oldest message for the caller into `buffer` (8-byte aligned, `length` bytes).
/// On success `value` = message length | sender partition id << 32 (see the two helpers below);
/// FAILED/EMPTY when none waits; INVALID_PARAM/BUFFER_TOO_SMALL leaves the message queued.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_receive(uint64_t channel, void *buffer, uint64_t length) {
    return bulkhead_call(BULKHEAD_FID_RECEIVE, channel, (uint64_t)(uintptr_t)buffer, length);
}

/// The length of a message `bulkhead_receive` returned.
BULKHEAD_INLINE uint32_t bulkhead_received_length(struct bulkhead_ret r) { return (uint32_t)r.value; }
/// The sender partition id of a message `bulkhead_receive` returned (stamped by the hypervisor).
BULKHEAD_INLINE uint8_t bulkhead_received_sender(struct bulkhead_ret r) { return (uint8_t)(r.value >> 32); }

/// Rings the peer's doorbell on `channel` (a virtual supervisor software interrupt on its vCPU 0).
BULKHEAD_INLINE struct bulkhead_ret bulkhead_notify(uint64_t channel) {
    return bulkhead_call(BULKHEAD_FID_NOTIFY, channel, 0, 0);
}

/// The mask (bit n = channel id n) of doorbells rung for the caller since the last call; clears it.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_doorbells(void) {
    return bulkhead_call(BULKHEAD_FID_DOORBELLS, 0, 0, 0);
}

/// Writes the 32-byte key derive(label) into `key` (8-byte aligned): bound to this partition's
/// name, image and policy, this device and this hypervisor. `length` is 1 to BULKHEAD_DERIVE_MAX_LABEL.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_derive(const void *label, uint64_t length, void *key) {
    return bulkhead_call(BULKHEAD_FID_DERIVE, (uint64_t)(uintptr_t)label, length, (uint64_t)(uintptr_t)key);
}

/// Seals `data_length` bytes at `data` (with `aad`, which is authenticated but not stored) into a
/// blob of data_length + BULKHEAD_SEAL_OVERHEAD bytes at `out` (capacity `out_capacity`).
/// `binding` is BULKHEAD_SEAL_IMAGE or BULKHEAD_SEAL_SIGNER. Returns the blob length in `value`.
/// Every address is checked, even of an empty buffer: for no aad pass any buffer of yours with
/// length 0, not NULL (NULL is outside the caller's RAM: INVALID_ADDRESS/BAD_ADDRESS).
BULKHEAD_INLINE struct bulkhead_ret bulkhead_seal(uint64_t binding, const void *data, uint64_t data_length,
                                                  const void *aad, uint64_t aad_length,
                                                  void *out, uint64_t out_capacity) {
    struct bulkhead_seal_request request = {
        (uint64_t)(uintptr_t)data, data_length, (uint64_t)(uintptr_t)aad, aad_length,
        (uint64_t)(uintptr_t)out, out_capacity };
    return bulkhead_call(BULKHEAD_FID_SEAL, binding, (uint64_t)(uintptr_t)&request, 0);
}

/// Opens the blob (`blob_length` bytes) with the same `aad` it was sealed with into `out`; returns
/// the plaintext length in `value`. FAILED/NOT_AUTHENTIC when it is not this partition's (or was
/// changed), DENIED/VERSION_TOO_LOW for a signer-bound blob of a newer security version.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_unseal(const void *blob, uint64_t blob_length,
                                                    const void *aad, uint64_t aad_length,
                                                    void *out, uint64_t out_capacity) {
    struct bulkhead_seal_request request = {
        (uint64_t)(uintptr_t)blob, blob_length, (uint64_t)(uintptr_t)aad, aad_length,
        (uint64_t)(uintptr_t)out, out_capacity };
    return bulkhead_call(BULKHEAD_FID_UNSEAL, 0, (uint64_t)(uintptr_t)&request, 0);
}

/// Writes an attestation report over `nonce` (BULKHEAD_ATTEST_NONCE_SIZE bytes; both buffers 8-byte
/// aligned) into `out`; returns the report length in `value`.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_attest(const void *nonce, void *out, uint64_t length) {
    return bulkhead_call(BULKHEAD_FID_ATTEST, (uint64_t)(uintptr_t)nonce, (uint64_t)(uintptr_t)out, length);
}

/// Writes the system report over `nonce` (BULKHEAD_ATTEST_NONCE_SIZE bytes; both buffers 8-byte
/// aligned) into `out` (BULKHEAD_SYSTEM_REPORT_MAX bytes always suffice); returns its length in `value`.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_attest_system(const void *nonce, void *out, uint64_t length) {
    return bulkhead_call(BULKHEAD_FID_ATTEST_SYSTEM, (uint64_t)(uintptr_t)nonce, (uint64_t)(uintptr_t)out, length);
}

/// Copies `length` bytes at `chunk` to offset `offset` of the update staged for partition
/// `target` (offset 0 starts a new update; otherwise where the last chunk ended).
BULKHEAD_INLINE struct bulkhead_ret bulkhead_update_stage(uint64_t target, uint64_t offset, const void *chunk, uint64_t length) {
    register uint64_t a0 __asm__("a0") = target;
    register uint64_t a1 __asm__("a1") = offset;
    register uint64_t a2 __asm__("a2") = (uint64_t)(uintptr_t)chunk;
    register uint64_t a3 __asm__("a3") = length;
    register uint64_t a6 __asm__("a6") = BULKHEAD_FID_UPDATE_STAGE;
    register uint64_t a7 __asm__("a7") = BULKHEAD_EID;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a3), "r"(a6), "r"(a7) : "memory");
    return (struct bulkhead_ret){ (int64_t)a0, a1 };
}

/// Verifies the `length` staged bytes as an update of `target` and restarts it on the new image,
/// on trial: it must call bulkhead_update_commit within `deadline_ms` milliseconds (0: 10 000).
BULKHEAD_INLINE struct bulkhead_ret bulkhead_update_apply(uint64_t target, uint64_t length, uint64_t deadline_ms) {
    return bulkhead_call(BULKHEAD_FID_UPDATE_APPLY, target, length, deadline_ms);
}

/// The update state of `target` (or of the caller itself).
BULKHEAD_INLINE struct bulkhead_ret bulkhead_update_status(uint64_t target) {
    return bulkhead_call(BULKHEAD_FID_UPDATE_STATUS, target, 0, 0);
}

/// Commits the image the caller runs on trial.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_update_commit(void) {
    return bulkhead_call(BULKHEAD_FID_UPDATE_COMMIT, 0, 0, 0);
}

/// Fills `length` (1 to BULKHEAD_RANDOM_MAX) bytes at `out` from the hypervisor's DRBG.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_random(void *out, uint64_t length) {
    return bulkhead_call(BULKHEAD_FID_RANDOM, (uint64_t)(uintptr_t)out, length, 0);
}

/// Makes a new key for `usage` (BULKHEAD_KEY_USAGE_*) in the caller's keystore; its handle in `value`.
/// FAILED/KEYSTORE_FULL when all BULKHEAD_KEYSTORE_SLOTS are taken. The key persists across reboots.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_key_generate(uint64_t usage) {
    return bulkhead_call(BULKHEAD_FID_KEY_GENERATE, usage, 0, 0);
}

/// Stores `length` bytes of key `material` for `usage` (a sign key: its 32-byte Ed25519 seed; a
/// mac key: 16 to 64 bytes); the handle in `value`.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_key_import(uint64_t usage, const void *material, uint64_t length) {
    return bulkhead_call(BULKHEAD_FID_KEY_IMPORT, usage, (uint64_t)(uintptr_t)material, length);
}

/// Ed25519-signs `length` (at most BULKHEAD_KEY_MAX_MESSAGE) bytes at `message` with the sign key
/// `handle` into `signature` (64 bytes, 8-byte aligned).
BULKHEAD_INLINE struct bulkhead_ret bulkhead_key_sign(uint64_t handle, const void *message, uint64_t length, void *signature) {
    return bulkhead_call4(BULKHEAD_FID_KEY_SIGN, handle, (uint64_t)(uintptr_t)message, length, (uint64_t)(uintptr_t)signature);
}

/// HMAC-SHA512 of `length` (at most BULKHEAD_KEY_MAX_MESSAGE) bytes at `message` with the mac key
/// `handle` into `tag` (64 bytes, 8-byte aligned).
BULKHEAD_INLINE struct bulkhead_ret bulkhead_key_mac(uint64_t handle, const void *message, uint64_t length, void *tag) {
    return bulkhead_call4(BULKHEAD_FID_KEY_MAC, handle, (uint64_t)(uintptr_t)message, length, (uint64_t)(uintptr_t)tag);
}

/// The 32-byte Ed25519 public key of the sign key `handle` into `out` (8-byte aligned).
BULKHEAD_INLINE struct bulkhead_ret bulkhead_key_public(uint64_t handle, void *out) {
    return bulkhead_call(BULKHEAD_FID_KEY_PUBLIC, handle, (uint64_t)(uintptr_t)out, 0);
}

/// Destroys the key `handle` (wiped in memory and in flash); its handle is never valid again.
BULKHEAD_INLINE struct bulkhead_ret bulkhead_key_destroy(uint64_t handle) {
    return bulkhead_call(BULKHEAD_FID_KEY_DESTROY, handle, 0, 0);
}

/// Clears a taken doorbell interrupt: sip.SSIP (CSR 0x144, bit 1). Call it after the supervisor
/// software interrupt was taken (sie.SSIE, bit 1), then call bulkhead_doorbells. Do not poll sip:
/// QEMU 7.2 reads it as 0 in VS-mode.
BULKHEAD_INLINE void bulkhead_clear_doorbell_interrupt(void) {
    __asm__ volatile("csrc 0x144, %0" :: "r"((uint64_t)2) : "memory");
}

#endif
