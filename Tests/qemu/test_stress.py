"""Stress (issue 16): every hart busy at once for 60 s of guest time, and nothing gives. Fuzzed
hypercalls (Guests/ipcfuzz) beside their victim, which re-checks its memory and shared window every
50 ms (Guests/ipcvictim); a message storm whose every reply is checked for loss, duplication and
order (Guests/stress, "sender" and "echo"); HSM start/stop, remote fences, console floods and six
partition reboots (Guests/stress, "churn"); a heartbeat. The hypervisor must take no fault, every
check must hold, and only churn restarts. Configuration: configs/stress.toml."""
import re

from harness import Machine
from test_ipc import assert_no_trouble, heartbeat_undisturbed


def expect_or_explain(m, pattern, timeout):
    """m.expect, failing with the run's telling lines (not just the console's tail, which is floods)."""
    try:
        return m.expect(pattern, timeout=timeout)
    except AssertionError:
        telling = [line for line in m.text.splitlines()
                   if re.search(r"BAD|FATAL|fault|inconsistent|stopped|restarting|HSM rounds|done|shut down", line)]
        raise AssertionError(f"no /{pattern}/ within {timeout}s; the run's telling lines:\n" + "\n".join(telling[-60:]))


def test_every_hart_at_once_for_a_minute(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("stress.toml")), smp=7) as m:
        m.expect(r"^\[ipcfuzz\] ipcfuzz: 60 s of random calls, RAM 0x80000000 to 0x80200000, scratch at 0x[0-9a-f]+, 3 channels$")
        m.expect(r"^\[sender\] stress: sender: storming for 60 s of guest time$")
        # Generous timeouts: guest time is host time, and a loaded 2-core host runs seven vCPUs.
        storm = expect_or_explain(m, r"^\[sender\] stress: sender: done, (\d+) round trips in (\d+) s of guest time, "
                                     r"0 lost, duplicated or reordered$", timeout=400)
        fuzz = expect_or_explain(m, r"^\[ipcfuzz\] ipcfuzz: done, (\d+) calls: (\d+) ok \(\d+ messages received\), "
                                    r"0 inconsistent$", timeout=300)
        churn = expect_or_explain(m, r"^\[churn\] stress: churn: (\d+) HSM rounds in boot 6$", timeout=300)
        # After all that: the victim's memory is still intact, the heartbeat still beats.
        intact = m.expect(r"^\[ipcvictim\] ipcvictim: intact (\d+) ", start=churn.end())
        m.expect(rf"^\[ipcvictim\] ipcvictim: intact {int(intact.group(1)) + 2} ", start=intact.end())
        beat = m.expect(r"^\[heartbeat\] heartbeat: (\d+)$", start=churn.end())
        m.expect(rf"^\[heartbeat\] heartbeat: {int(beat.group(1)) + 2}$", start=beat.end())

        round_trips, seconds = int(storm.group(1)), int(storm.group(2))
        calls = int(fuzz.group(1))
        print(f"\nstress: {calls} fuzzed hypercalls, {round_trips} storm round trips in {seconds} s, "
              f"{int(churn.group(1))} HSM rounds in the last churn boot, 6 churn reboots")
        assert seconds >= 60 and round_trips > 0 and calls > 0
        # A beat every 50 ms of guest time: after 60 s the heartbeat is past 1,000 (it catches up
        # after a delay, so a stall would show as a gap in its numbering, which is checked too).
        assert int(beat.group(1)) >= 1000
        heartbeat_undisturbed(m)
        # Only churn restarted, exactly six times, each reboot its own; nobody else stopped.
        assert m.count(r"^\[bulkhead\] partition churn restarting \(boot \d\)$") == 6
        assert m.count(r"^\[churn\] stress: churn: \d+ HSM rounds in boot [0-5]$") == 6
        assert m.count(r"partition (ipcfuzz|ipcvictim|sender|echo|heartbeat) (stopped|restarting|shut down)") == 0
        assert m.count(r"stress: churn: flood") > 100
        assert_no_trouble(m)
