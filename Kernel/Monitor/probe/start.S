/* Entry of the monitor probe (an S-mode next stage for the tests): a stack, a trap vector, C, and
 * probe_try_load, a load whose access fault is recorded and skipped instead of ending the probe. */
	.section .text.start, "ax", %progbits
	.globl _start
_start:
	lla	sp, probe_stack_top
	lla	t0, probe_trap_entry
	csrw	stvec, t0
	call	probe_main
1:	wfi
	j	1b

/* uint64_t probe_try_load(uint64_t address): the doubleword at `address`, or 0 with the trap's
 * scause and stval in probe_fault_cause/probe_fault_value when the load traps (only t0/t1, which
 * the caller does not keep across the call, are used by the trap path). */
	.globl probe_try_load
probe_try_load:
	ld	a0, 0(a0)
probe_try_load_end:
	ret

	.balign 4
probe_trap_entry:
	csrr	t0, sepc
	lla	t1, probe_try_load
	bne	t0, t1, 3f
	csrr	t0, scause
	lla	t1, probe_fault_cause
	sd	t0, 0(t1)
	csrr	t0, stval
	lla	t1, probe_fault_value
	sd	t0, 0(t1)
	lla	t0, probe_try_load_end
	csrw	sepc, t0
	li	a0, 0
	sret
3:	lla	sp, probe_stack_top
	call	probe_trap
2:	wfi
	j	2b

	.section .bss.probe_stack, "aw", %nobits
	.balign 16
	.globl probe_fault_cause, probe_fault_value
probe_fault_cause:
	.space 8
probe_fault_value:
	.space 8
	.space 8192
probe_stack_top:
