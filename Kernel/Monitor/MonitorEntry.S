/* The monitor's stack switch: bulkhead_monitor_verify_next_stage runs the Swift verifier on the
 * library's own 32 KiB stack (Ed25519 needs about 8 KiB; firmware hart stacks are often 8 KiB).
 * Not re-entrant: one hart, before the others run (include/bulkhead_monitor.h). */
	.section .text.bulkhead_monitor_verify_next_stage, "ax", %progbits
	.globl bulkhead_monitor_verify_next_stage
	.type bulkhead_monitor_verify_next_stage, %function
	.balign 4
bulkhead_monitor_verify_next_stage:
	mv	t1, sp
	lla	t0, bulkhead_monitor_stack_top
	mv	sp, t0
	addi	sp, sp, -16
	sd	ra, 8(sp)
	sd	t1, 0(sp)
	call	bulkhead_monitor_verify_next_stage_on_stack
	ld	ra, 8(sp)
	ld	t1, 0(sp)
	mv	sp, t1
	ret
	.size bulkhead_monitor_verify_next_stage, . - bulkhead_monitor_verify_next_stage

	.section .bss.bulkhead_monitor_stack, "aw", %nobits
	.balign 16
bulkhead_monitor_stack:
	.space 32768
bulkhead_monitor_stack_top:
