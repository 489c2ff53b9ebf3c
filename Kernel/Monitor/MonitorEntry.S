/* The monitor's stack switch: bulkhead_monitor_verify_next_stage and bulkhead_monitor_key_call run
 * their Swift code on the library's own 32 KiB stack (Ed25519 needs about 8 KiB, sealing about
 * 9 KiB of buffers; firmware hart stacks are often 8 KiB). The arguments (a0..a5) pass through
 * untouched. Not re-entrant: verify runs on one hart before the others; the glue serialises the
 * key calls with a lock (include/bulkhead_monitor.h). */

/* ON_LIBRARY_STACK name, target: `name` calls `target` on the library's stack and returns its a0. */
.macro ON_LIBRARY_STACK name, target
	.section .text.\name, "ax", %progbits
	.globl \name
	.type \name, %function
	.balign 4
\name:
	mv	t1, sp
	lla	t0, bulkhead_monitor_stack_top
	mv	sp, t0
	addi	sp, sp, -16
	sd	ra, 8(sp)
	sd	t1, 0(sp)
	call	\target
	ld	ra, 8(sp)
	ld	t1, 0(sp)
	mv	sp, t1
	ret
	.size \name, . - \name
.endm

	ON_LIBRARY_STACK bulkhead_monitor_verify_next_stage, bulkhead_monitor_verify_next_stage_on_stack
	ON_LIBRARY_STACK bulkhead_monitor_key_call, bulkhead_monitor_key_call_on_stack

	.section .bss.bulkhead_monitor_stack, "aw", %nobits
	.balign 16
bulkhead_monitor_stack:
	.space 32768
bulkhead_monitor_stack_top:
