/* The monitor probe: an S-mode next stage that the tests sign and boot under the monitor instead
 * of the hypervisor (Tests/qemu/test_monitor.py). It asks the monitor's SBI extension for its
 * measurement, takes its CDI (once: out of order and a second time it is refused), then reads
 * the firmware's memory and the device secret's flash block, which OpenSBI's PMP must refuse (load
 * access fault), and the flash block above the secret's, which it must not, and powers off through
 * SBI SRST. Output goes through SBI DBCN, one "[probe] " line each. */
#include <stdint.h>
#include "bulkhead_monitor.h"

struct sbiret { long error; unsigned long value; };

/* QEMU virt's bundle flash (pflash bank 1) and the device secret's erase block in it
 * (FlashLayout.qemuVirt, docs/flash-layout.md); the next block up is state copy A. */
#define FLASH_BASE        0x22000000UL
#define SECRET_BLOCK      (FLASH_BASE + 0x1F40000UL)
/* The monitor's state record: copies A and B in the two blocks below the secret's (docs/monitor.md). */
#define RECORD_BLOCKS     (FLASH_BASE + 0x1EC0000UL)
#define STATE_A_BLOCK     (FLASH_BASE + 0x1F80000UL)

/* start.S: a load whose access fault is recorded here and skipped. */
uint64_t probe_try_load(uint64_t address);
extern volatile uint64_t probe_fault_cause, probe_fault_value;

static struct sbiret sbi_call(unsigned long eid, unsigned long fid, unsigned long arg0, unsigned long arg1)
{
	register unsigned long a0 __asm__("a0") = arg0;
	register unsigned long a1 __asm__("a1") = arg1;
	register unsigned long a6 __asm__("a6") = fid;
	register unsigned long a7 __asm__("a7") = eid;
	__asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
	return (struct sbiret){ (long)a0, a1 };
}

static struct sbiret sbi_call3(unsigned long eid, unsigned long fid, unsigned long arg0, unsigned long arg1,
			       unsigned long arg2)
{
	register unsigned long a0 __asm__("a0") = arg0;
	register unsigned long a1 __asm__("a1") = arg1;
	register unsigned long a2 __asm__("a2") = arg2;
	register unsigned long a6 __asm__("a6") = fid;
	register unsigned long a7 __asm__("a7") = eid;
	__asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a6), "r"(a7) : "memory");
	return (struct sbiret){ (long)a0, a1 };
}

static void put(char c) { sbi_call(0x4442434E, 2, (unsigned char)c, 0); }   /* DBCN write_byte */
static void puts_(const char *s) { while (*s) put(*s++); }
static void hex(unsigned long v, int digits)
{
	for (int i = digits - 1; i >= 0; i--) put("0123456789abcdef"[(v >> (4 * i)) & 0xf]);
}
static void dec(long v) { if (v < 0) { put('-'); v = -v; } if (v >= 10) dec(v / 10); put('0' + v % 10); }

/* Reads the doubleword at `address` and prints either its value or the fault it took. */
static void try_read(const char *what, uint64_t address)
{
	probe_fault_cause = 0;
	probe_fault_value = 0;
	uint64_t word = probe_try_load(address);
	puts_("[probe] read "); puts_(what); puts_(" at 0x"); hex(address, 8);
	if (probe_fault_cause) {
		puts_(": fault, scause "); dec((long)probe_fault_cause);
		puts_(", stval 0x"); hex(probe_fault_value, 8); puts_("\n");
	} else {
		puts_(": value "); hex(word, 16); puts_(" (readable)\n");
	}
}

void probe_main(void)
{
	struct sbiret r = sbi_call(0x10, 3, BULKHEAD_MONITOR_SBI_EID, 0);       /* base: probe_extension */
	struct sbiret v = sbi_call(BULKHEAD_MONITOR_SBI_EID, BULKHEAD_MONITOR_SBI_GET_VERSION, 0, 0);
	puts_("[probe] monitor extension: probe "); dec((long)r.value);
	puts_(", version "); dec((long)v.value); puts_("\n");
	puts_("[probe] measurement: ");
	for (unsigned long w = 0; w < 8; w++) {
		struct sbiret m = sbi_call(BULKHEAD_MONITOR_SBI_EID, BULKHEAD_MONITOR_SBI_GET_MEASUREMENT, w, 0);
		if (m.error) { puts_("error "); dec(m.error); break; }
		for (int b = 0; b < 8; b++) hex((m.value >> (8 * b)) & 0xff, 2);   /* bytes in order */
	}
	puts_("\n");
	struct sbiret bad = sbi_call(BULKHEAD_MONITOR_SBI_EID, BULKHEAD_MONITOR_SBI_GET_MEASUREMENT, 8, 0);
	puts_("[probe] measurement word 8: error "); dec(bad.error); puts_("\n");
	/* get_cdi: word 1 before word 0 is refused; words 0..7 in order (when the monitor derived a
	 * CDI); then word 0 again is refused, as the monitor has wiped its copy. The CDI is not printed:
	 * only how many words came. */
	struct sbiret early = sbi_call(BULKHEAD_MONITOR_SBI_EID, BULKHEAD_MONITOR_SBI_GET_CDI, 1, 0);
	puts_("[probe] cdi word 1 first: error "); dec(early.error); puts_("\n");
	unsigned long words = 0, mix = 0;
	for (unsigned long w = 0; w < 8; w++) {
		struct sbiret c = sbi_call(BULKHEAD_MONITOR_SBI_EID, BULKHEAD_MONITOR_SBI_GET_CDI, w, 0);
		if (c.error) { puts_("[probe] cdi word "); dec((long)w); puts_(": error "); dec(c.error); puts_("\n"); break; }
		mix |= c.value;
		words++;
	}
	puts_("[probe] cdi: "); dec((long)words); puts_(mix ? " words, not all zero\n" : " words\n");
	struct sbiret again = sbi_call(BULKHEAD_MONITOR_SBI_EID, BULKHEAD_MONITOR_SBI_GET_CDI, 0, 0);
	puts_("[probe] cdi again: error "); dec(again.error); puts_("\n");
	/* get_cdi came first, so the key services are gone (they exclude each other): derive of a
	 * 3-byte label into a valid buffer is refused with SBI_ERR_DENIED, reason 10 (policy_denied). */
	static const char label[8] = "key";
	static uint64_t key[4];
	struct sbiret derive = sbi_call3(BULKHEAD_MONITOR_SBI_EID, BULKHEAD_MONITOR_SBI_DERIVE,
					 (unsigned long)label, 3, (unsigned long)key);
	puts_("[probe] derive after get_cdi: error "); dec(derive.error); puts_(", reason "); dec((long)derive.value); puts_("\n");
	try_read("the firmware", 0x80000000UL);
	try_read("the device secret's flash block", SECRET_BLOCK);
	try_read("the device secret's flash block, last word", SECRET_BLOCK + 0x40000UL - 8);
	try_read("the monitor's record, copy A", RECORD_BLOCKS);
	try_read("the monitor's record, copy B, last word", RECORD_BLOCKS + 0x80000UL - 8);
	try_read("state copy A's flash block", STATE_A_BLOCK);
	sbi_call(0x53525354, 0, 0, 0);                                          /* SRST: shutdown */
}

void probe_trap(void)
{
	unsigned long scause, stval;
	__asm__ volatile("csrr %0, scause" : "=r"(scause));
	__asm__ volatile("csrr %0, stval" : "=r"(stval));
	puts_("[probe] trap: scause "); dec((long)scause); puts_(", stval 0x"); hex(stval, 8); puts_("\n");
	sbi_call(0x53525354, 0, 0, 0);                                          /* SRST: shutdown */
}
