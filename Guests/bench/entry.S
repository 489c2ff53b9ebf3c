// bench's first instruction: record instret before anything else runs (the linker script puts
// .text.entry.first at the very start of the image), then continue into crt0's _start.

    .section .text.entry.first, "ax"
    .globl bench_entry
bench_entry:
    csrr    t0, instret
    la      t1, guest_first_instret
    sd      t0, 0(t1)
    j       _start
