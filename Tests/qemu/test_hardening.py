"""The hypervisor protects itself (README "Threat model"): it runs on its own Sv39 page table, so a
stack overflow, a write to its code, a stray access, a write to any partition's RAM (harts run on a
table without partition RAM; guest memory is reached with HLV/HSV) and a jump into its data each end in one FATAL
line naming the cause and the machine stopping with a failure, instead of silent corruption.
The faults are provoked by a test kernel (make kernel-faults, Kernel/Boot/FaultInjection.swift) on
the request of Guests/hvfault; the product kernel does not know the request. The same test kernel
checks the lock order on every lock it takes (Kernel/Boot/SpinLock.swift): a lock taken out of
order stops the machine too, and `make test` runs the IPC, keys, devices and foundation tests
under it."""
import os
import re

import pytest

from harness import BUILD, KERNEL, Machine

FAULTS_KERNEL = os.path.join(BUILD, "bulkhead-faults.elf")
GUESTS = os.path.join(BUILD, "guests")

FAULTS = [
    ("overflow", "0xf", r"stack overflow: hart 0's stack ran into its guard page"),
    ("write-code", "0xf", r"a write to the hypervisor's read-only code or data"),
    ("unmapped", "0xf", r"an access to memory the hypervisor's page table does not map"),
    ("execute-data", "0xc", r"an instruction fetch from memory that is not the hypervisor's code"),
    # hvfault's hart may reach only hvfault's RAM: heartbeat's is not in its page table.
    ("other-ram", "0xf", r"an access to partition heartbeat's RAM, which this hart's page table does not map"),
    # Nor its own: the hypervisor reaches it only with HLV/HSV, through hvfault's G-stage table.
    ("own-ram", "0xf", r"an access to partition hvfault's RAM, which this hart's page table does not map"),
]


def faults_config(tmp_path, fault):
    path = tmp_path / f"faults-{fault}.toml"
    path.write_text(f"""
[[partition]]
name = "hvfault"
image = "{GUESTS}/hvfault.bin"
harts = [0]
memory_base = 0x84000000
memory_size = "2M"
bootargs = "{fault}"

[[partition]]
name = "heartbeat"
image = "{GUESTS}/heartbeat.bin"
harts = [1]
memory_base = 0x84400000
memory_size = "4M"
""")
    return str(path)


def test_the_boot_log_says_the_page_table_is_on(bundle_of, flash_of, tmp_path):
    with Machine(flash_of(bundle_of(faults_config(tmp_path, "none")))) as m:
        m.expect(r"^\[bulkhead\] hypervisor page table: code read-only, data never executable, guard pages below 9 stacks, "
                 r"\d+ device windows \(\d+ KiB of tables\)$")
        # The product kernel does not know the fault-injection call: the guest gets "not supported".
        m.expect(r"^\[hvfault\] hvfault: the hypervisor returned error -2$")
        m.expect(r"^\[heartbeat\] heartbeat: 3$")
        assert m.count(r"FATAL|fault injection") == 0


@pytest.mark.parametrize("fault,scause,cause", FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_in_the_hypervisor_is_named_and_stops_the_machine(bundle_of, flash_of, tmp_path, fault, scause, cause):
    assert os.path.exists(FAULTS_KERNEL), "run `make kernel-faults` (make test-qemu does)"
    with Machine(flash_of(bundle_of(faults_config(tmp_path, fault))), kernel=FAULTS_KERNEL) as m:
        m.expect(rf"^\[hvfault\] hvfault: asking the hypervisor for fault {fault}$")
        m.expect(r"^\[bulkhead\] fault injection: provoking fault \d$")
        line = m.expect(rf"^\[bulkhead\] FATAL: trap in the hypervisor: scause {scause}, sepc 0x[0-9a-f]+, "
                        rf"stval 0x[0-9a-f]+ \({cause}\)$", timeout=30)
        m.wait_exit(timeout=30)
        assert m.proc.returncode != 0, "the machine must stop with a failure"
        # Exactly one report, and the guest never got an answer.
        assert m.count(r"FATAL") == 1, m.text[line.start():]
        assert m.count(r"hvfault: the hypervisor returned") == 0


def test_a_lock_taken_out_of_order_stops_the_test_kernel(bundle_of, flash_of, tmp_path):
    """The DRBG lock (rank 5) taken while the console lock (rank 9) is held."""
    with Machine(flash_of(bundle_of(faults_config(tmp_path, "lock-order"))), kernel=FAULTS_KERNEL) as m:
        m.expect(r"^\[hvfault\] hvfault: asking the hypervisor for fault lock-order$")
        m.expect(r"^\[bulkhead\] FATAL: lock order: taking rank 5 while holding ranks mask 0x200$", timeout=30)
        m.wait_exit(timeout=30)
        assert m.proc.returncode != 0
        assert m.count(r"FATAL") == 1
        assert m.count(r"hvfault: the hypervisor returned") == 0
