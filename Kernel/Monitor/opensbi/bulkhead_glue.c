/* OpenSBI glue of Bulkhead's secure monitor (docs/monitor.md), built inside OpenSBI's generic
 * platform as platform/generic/bulkhead/ (Kernel/Monitor/monitor.mk copies it there):
 *   - a platform override for QEMU virt ("riscv-virtio") whose early_init, on the cold-boot hart,
 *     adds an M-only region over the device secret's flash block to OpenSBI's root domain (so
 *     every hart's PMP denies S- and U-mode any access to it), and whose final_init, on the cold-boot hart,
 *     hands libbulkhead_monitor.a the device tree, a reader of the bundle flash and the console,
 *     then verifies the next stage at scratch->next_addr; a stage that does not verify is never
 *     entered: the hart hangs after the monitor's line saying why (the other harts stay parked
 *     in HSM, as nobody starts them);
 *   - the firmware-specific SBI extension BULKHEAD_MONITOR_SBI_EID (get_version, get_measurement,
 *     get_cdi: the next stage's CDI, handed out once, then wiped).
 * A vendor firmware calls the same two library functions from its own platform's final_init. */
#include <sbi/sbi_console.h>
#include <sbi/sbi_domain.h>
#include <sbi/sbi_ecall.h>
#include <sbi/sbi_error.h>
#include <sbi/sbi_hart.h>
#include <sbi/sbi_scratch.h>
#include <sbi/sbi_string.h>
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

/* Serialises get_cdi: the library's take-once state is not re-entrant and harts may call at once. */
static spinlock_t bulkhead_cdi_lock = SPIN_LOCK_INITIALIZER;

static int bulkhead_flash_read(void *ctx, uint64_t offset, void *buf, uint64_t len)
{
	(void)ctx;
	if (offset > BULKHEAD_FLASH_SIZE || len > BULKHEAD_FLASH_SIZE - offset)
		return -1;
	sbi_memcpy(buf, (const void *)(BULKHEAD_FLASH_BASE + offset), len);
	return 0;
}

static void bulkhead_putc(char c)
{
	sbi_putc(c);
}

/* Puts the device secret's flash block behind PMP: an M-readable, M-writable region of the root
 * domain with no S/U permission (RISC-V privileged spec, "Physical Memory Protection": an entry
 * without R/W/X and without L denies S- and U-mode and leaves M-mode unrestricted). OpenSBI turns
 * every root-domain region into one PMP entry on each hart (sbi_hart_pmp_configure, before the
 * jump to the next stage); the region must be added before the domains are finalised, hence
 * early_init. A failure halts: booting with the secret readable would be a silent downgrade. */
static int bulkhead_early_init(bool cold_boot, const void *fdt, const struct fdt_match *match)
{
	uint64_t offset = 0, size = 0;
	int rc;

	(void)fdt;
	(void)match;
	if (!cold_boot)
		return 0;
	if (bulkhead_monitor_secret_range(&offset, &size) != 0 || size == 0 ||
	    offset > BULKHEAD_FLASH_SIZE || size > BULKHEAD_FLASH_SIZE - offset)
		return SBI_EINVAL;
	rc = sbi_domain_root_add_memrange(BULKHEAD_FLASH_BASE + offset, size, size,
					  SBI_DOMAIN_MEMREGION_MMIO |
					  SBI_DOMAIN_MEMREGION_M_READABLE |
					  SBI_DOMAIN_MEMREGION_M_WRITABLE);
	if (rc)
		sbi_printf("[monitor] cannot protect the device secret's flash block (error %d)\n", rc);
	return rc;
}

static int bulkhead_final_init(bool cold_boot, void *fdt, const struct fdt_match *match)
{
	struct sbi_scratch *scratch;
	int rc;

	(void)match;
	if (!cold_boot)
		return 0;
	scratch = sbi_scratch_thishart_ptr();
	rc = bulkhead_monitor_init(fdt, bulkhead_flash_read, NULL, bulkhead_putc);
	if (rc == 0)
		rc = bulkhead_monitor_verify_next_stage(scratch->next_addr, BULKHEAD_NEXT_STAGE_MAX);
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
		spin_lock(&bulkhead_cdi_lock);
		rc = bulkhead_monitor_take_cdi_word((uint32_t)word, &cdi_word);
		spin_unlock(&bulkhead_cdi_lock);
		if (rc != 0)
			return SBI_EDENIED;
		out->value = cdi_word;
		cdi_word = 0;
		return 0;
	default:
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
