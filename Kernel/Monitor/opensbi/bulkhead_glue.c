/* OpenSBI glue of Bulkhead's secure monitor (docs/monitor.md), built inside OpenSBI's generic
 * platform as platform/generic/bulkhead/ (Kernel/Monitor/monitor.mk copies it there):
 *   - a platform override for QEMU virt ("riscv-virtio") whose early_init, on the cold-boot hart,
 *     adds M-only regions over the device secret's flash block and the monitor's state record
 *     blocks to OpenSBI's root domain (so
 *     every hart's PMP denies S- and U-mode any access to it), and whose final_init, on the cold-boot hart,
 *     hands libbulkhead_monitor.a the device tree, a reader and an M-mode writer of the bundle
 *     flash (CFI) and the console,
 *     then verifies the next stage at scratch->next_addr; a stage that does not verify is never
 *     entered: the hart hangs after the monitor's line saying why (the other harts stay parked
 *     in HSM, as nobody starts them);
 *   - the firmware-specific SBI extension BULKHEAD_MONITOR_SBI_EID (get_version, get_measurement,
 *     get_cdi: the next stage's CDI, handed out once, then wiped; derive, seal, unseal, attest,
 *     random: the key services for a plain OS, whose buffers are checked here against the caller's
 *     OpenSBI domain before the library touches them).
 * A vendor firmware calls the same two library functions from its own platform's final_init. */
#include <sbi/sbi_console.h>
#include <sbi/sbi_domain.h>
#include <sbi/sbi_ecall.h>
#include <sbi/sbi_error.h>
#include <sbi/sbi_hart.h>
#include <sbi/sbi_scratch.h>
#include <sbi/sbi_string.h>
#include <sbi/sbi_timer.h>
#include <sbi/sbi_trap.h>
#include <sbi/riscv_asm.h>
#include <sbi/riscv_locks.h>
#include <sbi_utils/fdt/fdt_helper.h>
#include <platform_override.h>

#include "bulkhead_monitor.h"

/* QEMU virt's pflash bank 1 (memory-mapped in read-array mode): the bundle flash whose layout
 * (docs/flash-layout.md) holds the device secret's block. */
#define BULKHEAD_FLASH_BASE   0x22000000UL
#define BULKHEAD_FLASH_SIZE   0x02000000UL
/* The largest next stage the monitor hashes (the hypervisor image is well under 2 MiB). */
#define BULKHEAD_NEXT_STAGE_MAX (64UL << 20)

/* Serialises get_cdi and the key calls: the library's take-once state, its DRBG and its stack are
 * not re-entrant and harts may call at once. */
static spinlock_t bulkhead_state_lock = SPIN_LOCK_INITIALIZER;

/* The key services' limits (docs/keys.md): label, random output, sealed data, additional data, the
 * request block, the blob overhead and the nonce. */
#define BULKHEAD_MAX_LABEL    64UL
#define BULKHEAD_MAX_RANDOM   256UL
#define BULKHEAD_MAX_DATA     4096UL
#define BULKHEAD_MAX_AAD      256UL
#define BULKHEAD_REQUEST_SIZE 48UL
#define BULKHEAD_SEAL_OVERHEAD 48UL
#define BULKHEAD_NONCE_SIZE   32UL
/* The Bulkhead reason for an address refused here (BulkheadReason.badAddress, docs/hypercalls.md). */
#define BULKHEAD_REASON_BAD_ADDRESS 7UL
/* The reason for a FID the extension does not have (BulkheadReason.unknownFunction). */
#define BULKHEAD_REASON_UNKNOWN_FUNCTION 13UL

static int bulkhead_flash_read(void *ctx, uint64_t offset, void *buf, uint64_t len)
{
	(void)ctx;
	if (offset > BULKHEAD_FLASH_SIZE || len > BULKHEAD_FLASH_SIZE - offset)
		return -1;
	sbi_memcpy(buf, (const void *)(BULKHEAD_FLASH_BASE + offset), len);
	return 0;
}

/* The M-mode writer of the monitor's state record: QEMU virt's pflash_cfi01, Intel/Sharp command
 * set (CFI publication 100; Boards/Common/CFIFlash.swift is the hypervisor's S-mode driver): 0x50
 * clear status, 0x20 + 0xD0 block erase, 0x40 + word program, 0x70 read status (bit 7 ready;
 * bits 5, 4, 3, 1 errors), 0xFF read array. Two 16-bit devices on a 4-byte bus: each command once
 * per lane. Runs on the cold-boot hart in final_init, before any other hart or the next stage. */
#define CFI_CMD(c)        (((uint32_t)(c) << 16) | (uint32_t)(c))
#define CFI_READY         CFI_CMD(0x80)
#define CFI_ERRORS        CFI_CMD(0x3A)
#define CFI_POLL_LIMIT    50000000UL
#define BULKHEAD_ERASE_BLOCK 0x40000UL

static int bulkhead_cfi_finish(volatile uint32_t *target)
{
	uint32_t status = 0;
	unsigned long polls;
	int ok;

	*target = CFI_CMD(0x70);
	for (polls = 0; polls < CFI_POLL_LIMIT; polls++) {
		status = *target;
		if ((status & CFI_READY) == CFI_READY)
			break;
	}
	ok = (status & CFI_READY) == CFI_READY && (status & CFI_ERRORS) == 0;
	if (!ok)
		*target = CFI_CMD(0x50);
	*target = CFI_CMD(0xFF);
	return ok ? 0 : -1;
}

static int bulkhead_flash_erase(void *ctx, uint64_t offset)
{
	volatile uint32_t *target = (volatile uint32_t *)(BULKHEAD_FLASH_BASE + offset);

	(void)ctx;
	if (offset >= BULKHEAD_FLASH_SIZE || offset % BULKHEAD_ERASE_BLOCK)
		return -1;
	*target = CFI_CMD(0x50);
	*target = CFI_CMD(0x20);
	*target = CFI_CMD(0xD0);
	return bulkhead_cfi_finish(target);
}

static int bulkhead_flash_program(void *ctx, uint64_t offset, const void *buf, uint64_t len)
{
	const uint8_t *bytes = buf;
	uint64_t i;

	(void)ctx;
	if (offset > BULKHEAD_FLASH_SIZE || len > BULKHEAD_FLASH_SIZE - offset || offset % 4 || len % 4)
		return -1;
	for (i = 0; i < len; i += 4) {
		volatile uint32_t *target = (volatile uint32_t *)(BULKHEAD_FLASH_BASE + offset + i);
		uint32_t value = (uint32_t)bytes[i] | (uint32_t)bytes[i + 1] << 8 |
				 (uint32_t)bytes[i + 2] << 16 | (uint32_t)bytes[i + 3] << 24;
		uint32_t current = *target;

		if ((current & value) != value)
			return -1;              /* would need a 0 -> 1 change */
		if (current == value)
			continue;
		*target = CFI_CMD(0x50);
		*target = CFI_CMD(0x40);
		*target = value;
		if (bulkhead_cfi_finish(target) != 0 || *target != value)
			return -1;
	}
	return 0;
}

static void bulkhead_putc(char c)
{
	sbi_putc(c);
}

/* Puts [offset, offset + size) of the secure flash behind PMP: an M-readable, M-writable region
 * of the root domain with no S/U permission (RISC-V privileged spec, "Physical Memory Protection":
 * an entry without R/W/X and without L denies S- and U-mode and leaves M-mode unrestricted),
 * in NAPOT pieces of `order_size` bytes. OpenSBI turns every root-domain region into PMP entries
 * on each hart (sbi_hart_pmp_configure, before the jump to the next stage). */
static int bulkhead_protect_flash(uint64_t offset, uint64_t size, uint64_t order_size, const char *what)
{
	int rc;

	if (size == 0 || offset > BULKHEAD_FLASH_SIZE || size > BULKHEAD_FLASH_SIZE - offset)
		return SBI_EINVAL;
	rc = sbi_domain_root_add_memrange(BULKHEAD_FLASH_BASE + offset, size, order_size,
					  SBI_DOMAIN_MEMREGION_MMIO |
					  SBI_DOMAIN_MEMREGION_M_READABLE |
					  SBI_DOMAIN_MEMREGION_M_WRITABLE);
	if (rc)
		sbi_printf("[monitor] cannot protect %s (error %d)\n", what, rc);
	return rc;
}

/* The device secret's flash block, then the monitor's state record (its next-stage floor and boot
 * counter, one NAPOT entry per 256 KiB block). The regions must be added before the domains are
 * finalised, hence early_init. A failure halts: booting with either readable from S-mode would
 * be a silent downgrade. */
static int bulkhead_early_init(bool cold_boot, const void *fdt, const struct fdt_match *match)
{
	uint64_t offset = 0, size = 0;
	int rc;

	(void)fdt;
	(void)match;
	if (!cold_boot)
		return 0;
	if (bulkhead_monitor_secret_range(&offset, &size) != 0)
		return SBI_EINVAL;
	rc = bulkhead_protect_flash(offset, size, size, "the device secret's flash block");
	if (rc)
		return rc;
	if (bulkhead_monitor_record_range(&offset, &size) != 0)
		return SBI_EINVAL;
	return bulkhead_protect_flash(offset, size, BULKHEAD_ERASE_BLOCK, "the monitor's state record blocks");
}

static int bulkhead_final_init(bool cold_boot, void *fdt, const struct fdt_match *match)
{
	struct sbi_scratch *scratch;
	unsigned long started;
	int rc;

	(void)match;
	if (!cold_boot)
		return 0;
	scratch = sbi_scratch_thishart_ptr();
	rc = bulkhead_monitor_init(fdt, bulkhead_flash_read, NULL, bulkhead_putc);
	if (rc == 0)
		rc = bulkhead_monitor_set_flash_writer(bulkhead_flash_erase, bulkhead_flash_program);
	if (rc == 0) {
		/* minstret around the verify: instructions under QEMU -icount (make bench). */
		started = csr_read(CSR_MINSTRET);
		rc = bulkhead_monitor_verify_next_stage(scratch->next_addr, BULKHEAD_NEXT_STAGE_MAX);
		if (rc == 0)
			sbi_printf("[monitor] next stage verified and measured in %lu instructions\n",
				   csr_read(CSR_MINSTRET) - started);
	}
	if (rc != 0) {
		sbi_printf("[monitor] halting: the next stage at 0x%lx is not entered (result %d)\n",
			   scratch->next_addr, rc);
		sbi_hart_hang();
	}
	return 0;
}

static const struct fdt_match bulkhead_qemu_virt_match[] = {
	{ .compatible = "riscv-virtio" },
	{ },
};

const struct platform_override bulkhead_qemu_virt = {
	.match_table = bulkhead_qemu_virt_match,
	.early_init  = bulkhead_early_init,
	.final_init  = bulkhead_final_init,
};

/* Whether the caller may access [addr, addr + size) as `access` (SBI_DOMAIN_READ/WRITE) in its
 * own privilege mode under its OpenSBI domain: no wrap-around, and every byte in a region that
 * grants it (so not the firmware, not the device secret's block). An empty range names nothing. */
static bool bulkhead_caller_may(const struct sbi_trap_regs *regs, unsigned long addr, unsigned long size,
				unsigned long access)
{
	if (size == 0)
		return true;
	if (addr + size < addr)
		return false;
	return sbi_domain_check_addr_range(sbi_domain_thishart_ptr(), addr, size,
					   sbi_mstatus_prev_mode(regs->mstatus), access);
}

/* A key call: checks every buffer it names with bulkhead_caller_may, then lets the library do it
 * on its own stack under the lock. A range is checked only when its length is within the service's
 * limits: beyond them the library refuses the length before it touches any memory. For seal and
 * unseal the request block is read once into this function's copy, its buffers are checked, and
 * the library gets the copy (so the caller cannot change it after the check). A caller running
 * virtualised (V=1) would pass guest-physical addresses: refused. */
static int bulkhead_key_call(unsigned long fid, struct sbi_trap_regs *regs, struct sbi_ecall_return *out)
{
	unsigned long a0 = regs->a0, a1 = regs->a1, a2 = regs->a2;
	uint64_t request[BULKHEAD_REQUEST_SIZE / 8];
	uint64_t value = 0;
	bool ok = true;
	long rc;

	if (sbi_regs_from_virt(regs))
		return SBI_EDENIED;
	switch (fid) {
	case BULKHEAD_MONITOR_SBI_DERIVE:       /* a0 label, a1 length, a2 32-byte output */
		if (a1 >= 1 && a1 <= BULKHEAD_MAX_LABEL)
			ok = bulkhead_caller_may(regs, a0, a1, SBI_DOMAIN_READ) &&
			     bulkhead_caller_may(regs, a2, 32, SBI_DOMAIN_WRITE);
		break;
	case BULKHEAD_MONITOR_SBI_RANDOM:       /* a0 output, a1 length */
		if (a1 >= 1 && a1 <= BULKHEAD_MAX_RANDOM)
			ok = bulkhead_caller_may(regs, a0, a1, SBI_DOMAIN_WRITE);
		break;
	case BULKHEAD_MONITOR_SBI_ATTEST:       /* a0 nonce, a1 output, a2 its length */
		ok = bulkhead_caller_may(regs, a0, BULKHEAD_NONCE_SIZE, SBI_DOMAIN_READ) &&
		     bulkhead_caller_may(regs, a1, a2, SBI_DOMAIN_WRITE);
		break;
	case BULKHEAD_MONITOR_SBI_SEAL:         /* a0 binding, a1 request: data, aad, out */
	case BULKHEAD_MONITOR_SBI_UNSEAL:       /* a1 request: blob, aad, out */
		if (a1 & 7)
			break;                  /* misaligned: the library refuses it untouched */
		if (!bulkhead_caller_may(regs, a1, BULKHEAD_REQUEST_SIZE, SBI_DOMAIN_READ)) {
			ok = false;
			break;
		}
		sbi_memcpy(request, (const void *)a1, BULKHEAD_REQUEST_SIZE);
		a1 = (unsigned long)request;
		if (request[3] <= BULKHEAD_MAX_AAD)
			ok = bulkhead_caller_may(regs, request[2], request[3], SBI_DOMAIN_READ);
		if (fid == BULKHEAD_MONITOR_SBI_SEAL && request[1] <= BULKHEAD_MAX_DATA) {
			/* The blob written: data + 48 bytes, when the output is long enough for it. */
			ok = ok && bulkhead_caller_may(regs, request[0], request[1], SBI_DOMAIN_READ);
			if (request[5] >= request[1] + BULKHEAD_SEAL_OVERHEAD)
				ok = ok && bulkhead_caller_may(regs, request[4], request[1] + BULKHEAD_SEAL_OVERHEAD,
							       SBI_DOMAIN_WRITE);
		} else if (fid == BULKHEAD_MONITOR_SBI_UNSEAL && request[1] >= BULKHEAD_SEAL_OVERHEAD &&
			   request[1] <= BULKHEAD_MAX_DATA + BULKHEAD_SEAL_OVERHEAD) {
			/* The plaintext written: at most blob - 48 bytes, and never beyond the output. */
			unsigned long plain = request[1] - BULKHEAD_SEAL_OVERHEAD;
			ok = ok && bulkhead_caller_may(regs, request[0], request[1], SBI_DOMAIN_READ) &&
			     bulkhead_caller_may(regs, request[4], plain < request[5] ? plain : request[5],
						 SBI_DOMAIN_WRITE);
		}
		break;
	}
	if (!ok) {
		sbi_memset(request, 0, sizeof(request));
		out->value = BULKHEAD_REASON_BAD_ADDRESS;
		return SBI_EINVALID_ADDR;
	}
	spin_lock(&bulkhead_state_lock);
	rc = bulkhead_monitor_key_call(fid, a0, a1, a2, sbi_timer_value() ^ (csr_read(CSR_MCYCLE) << 32), &value);
	spin_unlock(&bulkhead_state_lock);
	sbi_memset(request, 0, sizeof(request));
	out->value = value;
	return (int)rc;
}

static int bulkhead_ecall_handler(unsigned long extid, unsigned long funcid,
				  struct sbi_trap_regs *regs, struct sbi_ecall_return *out)
{
	uint8_t measurement[BULKHEAD_MONITOR_MEASUREMENT_SIZE];
	unsigned long word, value = 0;
	uint64_t cdi_word = 0;
	int i, rc;

	(void)extid;
	switch (funcid) {
	case BULKHEAD_MONITOR_SBI_GET_VERSION:
		out->value = BULKHEAD_MONITOR_API_VERSION;
		return 0;
	case BULKHEAD_MONITOR_SBI_GET_MEASUREMENT:
		word = regs->a0;
		if (word >= BULKHEAD_MONITOR_MEASUREMENT_SIZE / 8)
			return SBI_EINVAL;
		if (bulkhead_monitor_measurement(measurement) != 0)
			return SBI_EDENIED;
		for (i = 7; i >= 0; i--)
			value = (value << 8) | measurement[word * 8 + i];
		out->value = value;
		return 0;
	case BULKHEAD_MONITOR_SBI_GET_CDI:
		word = regs->a0;
		if (word >= BULKHEAD_MONITOR_CDI_SIZE / 8)
			return SBI_EINVAL;
		spin_lock(&bulkhead_state_lock);
		rc = bulkhead_monitor_take_cdi_word((uint32_t)word, &cdi_word);
		spin_unlock(&bulkhead_state_lock);
		if (rc != 0)
			return SBI_EDENIED;
		out->value = cdi_word;
		cdi_word = 0;
		return 0;
	case BULKHEAD_MONITOR_SBI_GET_CERTIFICATE:
		word = regs->a0;
		if (word >= 24)
			return SBI_EINVAL;
		if (bulkhead_monitor_certificate_word((uint32_t)word, &cdi_word) != 0)
			return SBI_EDENIED;
		out->value = cdi_word;
		return 0;
	case BULKHEAD_MONITOR_SBI_DERIVE:
	case BULKHEAD_MONITOR_SBI_SEAL:
	case BULKHEAD_MONITOR_SBI_UNSEAL:
	case BULKHEAD_MONITOR_SBI_ATTEST:
	case BULKHEAD_MONITOR_SBI_RANDOM:
		return bulkhead_key_call(funcid, regs, out);
	default:                        /* e.g. the keystore's FIDs 10..15: not offered */
		out->value = BULKHEAD_REASON_UNKNOWN_FUNCTION;
		return SBI_ENOTSUPP;
	}
}

struct sbi_ecall_extension ecall_bulkhead_monitor;

static int bulkhead_ecall_register(void)
{
	return sbi_ecall_register_extension(&ecall_bulkhead_monitor);
}

struct sbi_ecall_extension ecall_bulkhead_monitor = {
	.name                = "bulkhd",
	.extid_start         = BULKHEAD_MONITOR_SBI_EID,
	.extid_end           = BULKHEAD_MONITOR_SBI_EID,
	.register_extensions = bulkhead_ecall_register,
	.handle              = bulkhead_ecall_handler,
};
