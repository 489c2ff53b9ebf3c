"""U-Boot tests: Debian's unmodified U-Boot (qemu-riscv64_smode) as a payload partition with the
virtual UART (`uart = true`), beside heartbeat on -smp 2 (Tests/qemu/configs/uboot.toml): its
prompt appears without a newline (the console's idle flush), typed commands reach it, and its
`reset` restarts only its own partition. Also: console input is taken from the UART on the trap
path, so the focus moves even when no guest reads its console.

u-boot.bin comes from `make uboot-guest` (Guests/uboot/uboot.mk); the tests run it when it is
missing."""
import re

import pytest

from harness import Machine

BANNER = r"^\[uboot\] U-Boot (\d{4}\.\d{2}\S*) \(.*\)$"
PROMPT = r"^\[uboot\] (.*)=> "
TIMEOUT = 120                          # seconds for U-Boot's autoboot to give up and prompt (TCG, busy host)


@pytest.fixture(scope="module", autouse=True)
def _uboot(uboot_guest):
    """Every test here needs Debian's U-Boot (conftest.uboot_guest)."""


def boot(flash_of, bundle_of, config="uboot.toml", smp=2, **kw):
    return Machine(flash_of(bundle_of(config)), smp=smp, **kw)


def heartbeat_keeps_counting(m, after):
    last = m.expect(r"^\[heartbeat\] heartbeat: (\d+)$", start=after)
    m.expect(rf"^\[heartbeat\] heartbeat: {int(last.group(1)) + 3}$", start=last.end())
    counted = [int(n) for n in re.findall(r"^\[heartbeat\] heartbeat: (\d+)$", m.text, re.M)]
    assert counted == list(range(1, len(counted) + 1)), "heartbeat was disturbed"


def never(m, *patterns):
    for pattern in patterns:
        assert m.count(pattern) == 0, f"unexpected /{pattern}/ in the console:\n{m.text[-4000:]}"


def all_lines_tagged(m):
    m.assert_all_lines_tagged("bulkhead", "heartbeat", "uboot")


def test_uboot_prompts_runs_commands_and_resets_only_its_partition(flash_of, bundle_of):
    with boot(flash_of, bundle_of, keyboard=True) as m:
        m.expect(r"^\[bulkhead\] partition uboot: harts 1, memory 0x88000000 \+ 64 MiB, entry 0x80200000, on fault: stop$")
        banner = m.expect(BANNER)
        m.expect(r"^\[uboot\] Model: Bulkhead partition uboot$", start=banner.end())
        m.expect(r"^\[uboot\] DRAM:  64 MiB$", start=banner.end())
        m.expect(r"^\[uboot\] (In|Out|Err): +serial", start=banner.end())
        # Nothing typed: autoboot finds nothing to boot and U-Boot waits at its prompt, which has
        # no newline. The idle flush shows it (before, it waited for the next newline).
        prompt = m.expect(PROMPT, timeout=TIMEOUT, start=banner.end(), partial=True)

        # `version`: its echo and answer; the version line repeats the banner's.
        m.type(b"version\n")
        answer = m.expect(r"^\[uboot\] U-Boot (\d{4}\.\d{2}\S*) \(.*\)$", start=prompt.end())
        assert answer.group(1) == banner.group(1)
        # The echo continues the prompt's line unless another partition printed in between.
        m.expect(r"^\[uboot\] (=> )?version$", start=prompt.start())
        again = m.expect(PROMPT, start=answer.end(), partial=True)

        # `reset`: SBI SRST cold reboot. Only the uboot partition restarts (boot 1) and prompts again.
        m.type(b"reset\n")
        m.expect(r"^\[uboot\] resetting \.\.\.$", start=again.end())
        m.expect(r"^\[bulkhead\] partition uboot asked for a reboot \(SBI SRST\)$", start=again.end())
        restarted = m.expect(r"^\[bulkhead\] partition uboot restarting \(boot 1\)$", start=again.end())
        rebanner = m.expect(BANNER, start=restarted.end())
        assert rebanner.group(1) == banner.group(1)
        m.expect(PROMPT, timeout=TIMEOUT, start=rebanner.end(), partial=True)
        heartbeat_keeps_counting(m, restarted.end())

        assert m.count(BANNER) == 3            # two boots and one `version`
        never(m, r"fault: partition", r"FATAL", r"partition heartbeat (stopped|restarting)",
              r"partition uboot stopped", r"restarting \(boot 2\)", r"Unknown command")
        all_lines_tagged(m)


def test_keys_typed_while_uboot_restarts_wait_for_it(flash_of, bundle_of):
    # U-Boot reads nothing while it restarts; a key typed then waits in its input queue, and its
    # autoboot takes it at once ("Hit any key"): it prompts without scanning for boot devices.
    with boot(flash_of, bundle_of, keyboard=True) as m:
        prompt = m.expect(PROMPT, timeout=TIMEOUT, partial=True)
        m.type(b"reset\n")
        restarted = m.expect(r"^\[bulkhead\] partition uboot restarting \(boot 1\)$", start=prompt.end())
        m.type(b"x")
        rebanner = m.expect(BANNER, start=restarted.end())
        m.expect(r"^\[uboot\] Hit any key to stop autoboot: ", start=rebanner.end(), partial=True)
        again = m.expect(PROMPT, timeout=60, start=rebanner.end(), partial=True)
        m.type(b"echo typed-$bootdelay\n")
        m.expect(r"^\[uboot\] typed-2$", start=again.end())
        after = m.text[rebanner.end():]
        assert "scanning bus" not in after and "unknown device" not in after, \
            f"autoboot ran although a key was waiting:\n{after[-3000:]}"
        never(m, r"fault: partition", r"FATAL", r"Unknown command")


def test_console_focus_moves_while_no_guest_reads(flash_of, bundle_of):
    # heartbeat and intruder never read their console: the keys are taken from the UART on the
    # trap path (every millisecond while a hart traps), so Ctrl-B then a digit is still seen.
    with boot(flash_of, bundle_of, config="stop-policy.toml", smp=4, keyboard=True) as m:
        first = m.expect(r"^\[heartbeat\] heartbeat: 3$")
        m.type(b"\x02" b"1")
        moved = m.expect(r"^\[bulkhead\] console input now goes to partition 1 \(intruder\)$", start=first.end(), timeout=30)
        m.type(b"\x02" b"0")
        m.expect(r"^\[bulkhead\] console input now goes to partition 0 \(heartbeat\)$", start=moved.end(), timeout=30)
        heartbeat_keeps_counting(m, moved.end())
        never(m, r"FATAL")


def test_ctrl_b_s_reports_each_stack_high_water_mark(flash_of, bundle_of):
    # entry.S paints the stacks at boot; the report counts the bytes no longer painted.
    with boot(flash_of, bundle_of, config="stop-policy.toml", smp=4, keyboard=True) as m:
        first = m.expect(r"^\[heartbeat\] heartbeat: 3$")
        m.type(b"\x02" b"s")
        report = m.expect(r"^\[bulkhead\] status: stack high-water marks \(bytes used of 32 KiB per hart\):"
                          r"((?: hart \d \d+){8}); boot (\d+) of 192 KiB$", start=first.end(), timeout=30)
        used = [int(n) for n in re.findall(r"hart \d (\d+)", report.group(1))]
        assert all(0 < u < 32768 for u in used[:4]), used          # the four harts that run
        assert used[4:] == [0, 0, 0, 0], used                       # harts 4-7 do not exist: never used
        assert 0 < int(report.group(2)) < 196608
        heartbeat_keeps_counting(m, report.end())
        never(m, r"FATAL", r"console input now goes to")
