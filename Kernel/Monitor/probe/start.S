/* Entry of the monitor probe (an S-mode next stage for the tests): a stack, a trap vector, C. */
	.section .text.start, "ax", %progbits
	.globl _start
_start:
	lla	sp, probe_stack_top
	lla	t0, probe_trap_entry
	csrw	stvec, t0
	call	probe_main
1:	wfi
	j	1b

	.balign 4
probe_trap_entry:
	lla	sp, probe_stack_top
	call	probe_trap
2:	wfi
	j	2b

	.section .bss.probe_stack, "aw", %nobits
	.balign 16
	.space 8192
probe_stack_top:
