"""Foundation integration tests: the demo boots, faults are contained, SRST, no-H, invalid plans."""
import os
import re

from harness import Machine, flash, pack

CONFIGS = os.path.join(os.path.dirname(__file__), "configs")


def test_demo_boots_each_partition_on_its_harts(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("demo.toml"))) as m:
        # MemoryMap from where OpenSBI loaded the hypervisor: the addresses the tests preload at.
        placed = m.expect(r"^\[bulkhead\] memory: hypervisor 0x80200000-(0x[0-9a-f]{8}), shared pool 0x80400000 \+ 8 MiB, "
                          r"staging 0x81000000 \+ 48 MiB; firmware reserves 0x80000000 \+ \d+ KiB$")
        assert 0x80200000 < int(placed.group(1), 16) <= 0x80400000     # the image ends before the pool
        m.expect(r"^\[bulkhead\] partition hello: harts 0 1, memory 0x84000000 \+ 4 MiB")
        m.expect(r"^\[bulkhead\] partition heartbeat: harts 2,")
        m.expect(r"^\[bulkhead\] partition intruder: harts 3,")
        m.expect(r"^\[hello\] hello: vCPU 0 up")
        m.expect(r"^\[hello\] hello: timer tick 3")
        m.expect(r"^\[hello\] hello: vCPU 1 up")
        m.expect(r"^\[hello\] hello: vCPU 1 stopped")
        m.expect(r"^\[hello\] hello: done, shutting down")
        m.expect(r"^\[bulkhead\] partition hello shut down by its guest \(SBI SRST\)")
        m.expect(r"^\[bulkhead\] partition hello stopped")
        m.expect(r"^\[heartbeat\] heartbeat: 5$")
        m.expect(r"^\[intruder\] intruder: all attempts were contained", timeout=90)
        assert m.count(r"BREACH|FATAL") == 0
        m.expect(r"^\[bulkhead\] console: 16550-compatible UART at 0x10000000$")
        # Untagged guest output would mean a guest reached the UART directly.
        m.assert_all_lines_tagged("bulkhead", "hello", "heartbeat", "intruder")


def test_intruder_violations_are_reported_and_heartbeat_keeps_counting(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("demo.toml"))) as m:
        m.expect(r"fault: partition intruder vCPU 0: load guest-page fault at guest address 0x80200000, pc 0x8")
        m.expect(r"partition intruder restarting \(boot 1\)")
        m.expect(r"fault: partition intruder vCPU 0: store/AMO guest-page fault at guest address 0x80200000")
        m.expect(r"fault: partition intruder vCPU 0: store/AMO guest-page fault at guest address 0x10000000")
        m.expect(r"fault: partition intruder vCPU 0: load guest-page fault at guest virtual address 0x0,")
        done = m.expect(r"^\[intruder\] intruder: all attempts were contained", timeout=90)
        after = m.expect(r"^\[heartbeat\] heartbeat: (\d+)$", start=done.end())
        m.expect(rf"^\[heartbeat\] heartbeat: {int(after.group(1)) + 3}$", start=after.end())
        assert m.count(r"BREACH") == 0
        assert m.count(r"partition heartbeat (stopped|restarting)") == 0
        counted = [int(n) for n in re.findall(r"^\[heartbeat\] heartbeat: (\d+)$", m.text, re.M)]
        assert counted == list(range(1, len(counted) + 1)), "heartbeat was disturbed"


def test_srst_reboot_restarts_only_that_partition(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("reboot.toml"))) as m:
        m.expect(r"^\[hello\] hello: rebooting")
        m.expect(r"^\[bulkhead\] partition hello asked for a reboot \(SBI SRST\)")
        m.expect(r"^\[bulkhead\] partition hello restarting \(boot 1\)")
        m.expect(r"^\[hello\] hello: boot 1")
        m.expect(r"^\[hello\] hello: done, shutting down")
        stopped = m.expect(r"^\[bulkhead\] partition hello stopped")
        last = m.expect(r"^\[heartbeat\] heartbeat: (\d+)$", start=stopped.end())
        m.expect(rf"^\[heartbeat\] heartbeat: {int(last.group(1)) + 2}$")
        assert m.count(r"^\[heartbeat\] heartbeat: 1$") == 1, "heartbeat must not restart"
        assert m.count(r"^\[hello\] hello: vCPU 0 up") == 2
        assert m.count(r"partition heartbeat (stopped|restarting)") == 0


def test_fault_policy_stop(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("stop-policy.toml")), smp=3) as m:
        m.expect(r"fault: partition intruder vCPU 0: load guest-page fault .*; policy: stop")
        stopped = m.expect(r"^\[bulkhead\] partition intruder stopped")
        m.expect(r"^\[heartbeat\] heartbeat: \d+$", start=stopped.end())
        m.expect(r"^\[heartbeat\] heartbeat: 8$")
        assert m.count(r"intruder: attempt 1") == 0
        assert m.count(r"partition intruder restarting") == 0


def test_machine_without_h_extension_gets_clear_message(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("demo.toml")), cpu="rv64,h=false") as m:
        text = m.wait_exit(timeout=60)
        assert re.search(r"^\[bulkhead\] error: the harts lack the RISC-V H extension \(riscv,isa = \"rv64imafdc", text, re.M)
        assert "Halting" in text
        assert m.proc.returncode == 1, "a halt makes QEMU exit with the test device's failure code"
        assert not re.search(r"^\[(hello|heartbeat|intruder)\]", text, re.M)


def test_invalid_config_is_refused_by_the_packer(tmp_path):
    out = tmp_path / "overlap.bin"
    result = pack(os.path.join(CONFIGS, "overlap.toml"), str(out))
    assert result.returncode != 0
    assert re.search(r'overlap\.toml:13: partition #1 "hello", field memory_base: the memory overlaps partition #0 "heartbeat"',
                     result.stdout + result.stderr)
    assert not out.exists()


def test_plan_invalid_for_the_board_is_refused_before_anything_boots(bundle_of, flash_of):
    bundle = bundle_of("beyond-ram.toml", "--ram-size", "2G")
    with Machine(flash_of(bundle)) as m:
        text = m.wait_exit(timeout=60)
        assert re.search(r'^\[bulkhead\] slot A rejected: invalid partition plan: partition #0 "heartbeat", field memory_base: '
                         r"the memory \[0xc0000000, 0xc0400000\) lies outside the board's RAM", text, re.M)
        assert re.search(r"^\[bulkhead\] error: no slot holds a bundle that verifies$", text, re.M)
        assert "no partition will run. Halting." in text
        assert m.proc.returncode == 1
        assert not re.search(r"^\[heartbeat\]", text, re.M)


def test_corrupt_bundle_is_refused(bundle_of, flash_of, tmp_path):
    good = open(bundle_of("demo.toml"), "rb").read()
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"XXXX" + good[4:])
    image = flash_of()
    flash(image, bad, "--slot", "a", "--unchecked")
    with Machine(image) as m:
        text = m.wait_exit(timeout=60)
        assert re.search(r'^\[bulkhead\] slot A rejected: not a Bulkhead bundle \(the first 8 bytes are not "BULKHEAD"\)', text, re.M), text[-2000:]
        assert not re.search(r"^\[(hello|heartbeat|intruder)\]", text, re.M)
