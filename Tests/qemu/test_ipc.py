"""IPC integration tests (docs/hypercalls.md): ping-pong over a queue and shared memory, a partition with no
channel, every hostile argument's specific error, a full queue, 100,000 fuzzed hypercalls beside a victim and a
heartbeat, and the demo with ping and pong. Guests: Guests/{ping,pong,ipccheck,ipcfuzz,ipcvictim}."""
import os
import re
import subprocess

import pytest

from harness import CLI, ROOT, Machine

# Lines that mean something went wrong anywhere: the hypervisor's fatal path, a guest fault the
# hypervisor contained, a guest's unexpected trap, or a guest reporting a broken expectation.
TROUBLE = r"FATAL|fault: partition|unexpected trap|BAD|TIMEOUT|MISMATCH|UNEXPECTED|CORRUPTED|BREACH|failed: "


def assert_no_trouble(m):
    bad = re.findall(rf"^.*(?:{TROUBLE}).*$", m.text, re.M)
    assert not bad, "unexpected lines:\n" + "\n".join(bad)


def heartbeat_undisturbed(m, name="heartbeat"):
    counted = [int(n) for n in re.findall(rf"^\[{name}\] heartbeat: (\d+)$", m.text, re.M)]
    assert counted == list(range(1, len(counted) + 1)), f"heartbeat was disturbed: {counted}"
    assert m.count(rf"partition {name} (stopped|restarting)") == 0


def test_ping_pong_over_queue_and_shared_memory(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("ipc-pingpong.toml")), smp=3) as m:
        m.expect(r"^\[bulkhead\] channel ping-queue: queue ping <-> pong, 4 x 64 bytes, doorbell")
        m.expect(r"^\[bulkhead\] channel ping-shm: shared memory ping <-> pong, 4 KiB at guest address 0x40000000, doorbell")
        m.expect(r"^\[pong\] pong: partition 1, queue channel 0, shared memory channel 1 at 0x40000000, waiting for doorbells")
        at = 0
        for n in range(1, 6):
            at = m.expect(rf"^\[ping\] ping: round {n} ok via queue \(64 bytes from partition 1\)$", start=at).end()
        for n in range(1, 6):
            at = m.expect(rf"^\[ping\] ping: round {n} ok via shared memory \(value 0x[0-9a-f]+ at 0x40000000\)$", start=at).end()
        m.expect(r"^\[ping\] ping: done, 5 rounds via queue and via shared memory$", start=at)
        m.expect(r"^\[bulkhead\] partition ping shut down by its guest \(SBI SRST\)")
        # pong answered each round once, and knew the queued messages came from ping (partition 0).
        assert m.count(r"^\[pong\] pong: round \d answered via shared memory") == 5
        # Every queued message's doorbell reached pong: it read the queue's bit once per message.
        assert m.count(r"^\[pong\] pong: round \d echoed via queue \(from partition 0, doorbell rang\)$") == 5
        assert m.count(r"partition pong (stopped|restarting)") == 0
        assert_no_trouble(m)


def test_partition_without_channels_is_refused_every_call_and_keeps_running(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("ipc-pingpong.toml")), smp=3) as m:
        m.expect(r"^\[outsider\] outsider: partition 2, 0 channels$")
        m.expect(r"^\[outsider\] outsider: channel 0: send, receive, notify refused -4/not_endpoint$")
        m.expect(r"^\[outsider\] outsider: channel 1: send, receive, notify refused -4/not_endpoint$")
        m.expect(r"^\[outsider\] outsider: channels 2 to 19 refused -3/unknown_channel$")
        m.expect(r"^\[outsider\] outsider: doorbells 0/0x0, function 24 -2/13$")
        m.expect(r"^\[outsider\] outsider: every call refused as expected$")
        done = m.expect(r"^\[ping\] ping: done").end()
        # Still running after ping and pong are through, and ping-pong was not disturbed.
        first = m.expect(r"^\[outsider\] outsider: still running (\d+)$", start=done)
        m.expect(rf"^\[outsider\] outsider: still running {int(first.group(1)) + 2}$", start=first.end())
        assert m.count(r"^\[outsider\] outsider: channel [2-9]") == 0
        assert m.count(r"partition outsider (stopped|restarting)") == 0
        assert_no_trouble(m)


# Each hostile call and its specific error (Guests/ipccheck; channels in configs/ipc-checks.toml).
HOSTILE = [
    ("unknown channel 16", "-3/unknown_channel"),
    ("unknown channel 2^32 + q-both", "-3/unknown_channel"),
    ("unknown channel max", "-3/unknown_channel"),
    ("unknown channel notify", "-3/unknown_channel"),
    ("not an endpoint send", "-4/not_endpoint"),
    ("not an endpoint receive", "-4/not_endpoint"),
    ("not an endpoint notify", "-4/not_endpoint"),
    ("wrong kind send on shared memory", "-3/wrong_kind"),
    ("wrong kind receive on shared memory", "-3/wrong_kind"),
    ("wrong direction send on forward channel", "-4/wrong_direction"),
    ("misaligned send", "-3/misaligned"),
    ("misaligned receive", "-3/misaligned"),
    ("too long", "-3/too_long"),
    ("too long 2^32", "-3/too_long"),
    ("buffer outside RAM at 0x0", "-5/bad_address"),
    ("buffer just below RAM", "-5/bad_address"),
    ("buffer across the end of RAM", "-5/bad_address"),
    ("buffer in hypervisor memory 0x80200000", "-5/bad_address"),
    ("buffer in another partition 0x84200000", "-5/bad_address"),
    ("buffer wrapping past 2^64", "-5/bad_address"),
    ("receive into hypervisor memory", "-5/bad_address"),
    ("receive into another partition", "-5/bad_address"),
    ("partition_info misaligned", "-3/misaligned"),
    ("partition_info buffer too small", "-3/buffer_too_small"),
    ("partition_info outside RAM", "-5/bad_address"),
    ("partition_info across the end of RAM", "-5/bad_address"),
    ("no doorbell on shm", "-3/no_doorbell"),
    ("no doorbell on q-help", "-3/no_doorbell"),
    ("unknown function 24", "-2/unknown_function"),
    ("unknown function 31", "-2/unknown_function"),
    ("unknown function 2^63", "-2/unknown_function"),
    ("empty queue", "-1/empty"),
    ("partition_info", "0/ok"),
    ("doorbells", "0/ok"),
    ("notify with doorbell", "0/ok"),
    ("receive buffer too small", "-3/buffer_too_small"),
    ("receive the helper's message", "0/ok"),
    ("receive after the message", "-1/empty"),
]


def test_hostile_arguments_each_get_their_specific_error(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("ipc-checks.toml")), smp=4) as m:
        m.expect(r"^\[ipccheck\] ipccheck: partition 0, channels q-both=0 q-help=1 shm=2 foreign=3$")
        at = 0
        for label, result in HOSTILE:
            at = m.expect(rf"^\[ipccheck\] ipccheck: check {re.escape(label)}: {re.escape(result)} ok$", start=at).end()
        # The message the helper sent: its length, and the sender id the hypervisor stamped (helper = 3).
        m.expect(r"^\[ipccheck\] ipccheck: check helper's message: length 64, sender 3, word 0 0x504c4548 ok$")
        m.expect(r"^\[ipccheck\] ipccheck: check shared memory at 0x40000000 size 4096: write/read ok$")
        m.expect(r"^\[helper\] helper: send on q-help: 0; receive on q-help: -4/wrong_direction ok$")
        summary = m.expect(r"^\[ipccheck\] ipccheck: (\d+) checks passed, 0 failed$")
        assert int(summary.group(1)) == len(HOSTILE) + 2 + 6   # + message and shm checks + the full-queue sends
        # The hypervisor, the caller and the others keep running.
        m.expect(r"^\[ipccheck\] ipccheck: still running 3$", start=summary.end())
        beat = m.expect(r"^\[heartbeat\] heartbeat: (\d+)$", start=summary.end())
        m.expect(rf"^\[heartbeat\] heartbeat: {int(beat.group(1)) + 3}$", start=beat.end())
        m.expect(r"^\[helper\] helper: still running 3$")
        m.expect(r"^\[outsider\] outsider: channels 4 to 19 refused -3/unknown_channel$")
        m.expect(r"^\[outsider\] outsider: every call refused as expected$")
        heartbeat_undisturbed(m)
        assert m.count(r"partition (ipccheck|helper|outsider) (stopped|restarting)") == 0
        assert_no_trouble(m)


def test_full_queue_is_reported(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("ipc-checks.toml")), smp=4) as m:
        at = m.expect(r"^\[ipccheck\] ipccheck: check receive after the message").end()
        for _ in range(4):
            at = m.expect(r"^\[ipccheck\] ipccheck: check send while room: 0/ok ok$", start=at).end()
        at = m.expect(r"^\[ipccheck\] ipccheck: check send to a full queue: -1/full ok$", start=at).end()
        m.expect(r"^\[ipccheck\] ipccheck: check send to a full queue again: -1/full ok$", start=at)
        m.expect(r"^\[ipccheck\] ipccheck: queue q-both full after 4 messages \(depth 4\)$")
        m.expect(r"^\[ipccheck\] ipccheck: still running 2$")
        assert m.count(r"^\[ipccheck\] ipccheck: check send while room") == 4
        assert_no_trouble(m)


def test_fuzzed_hypercalls_leave_hypervisor_victim_and_heartbeat_intact(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("ipc-fuzz.toml")), smp=3) as m:
        start = m.expect(r"^\[ipcvictim\] ipcvictim: 64 KiB at 0x[0-9a-f]+ checksum (0x[0-9a-f]+), shared 4096 bytes "
                         r"at 0x40000000 checksum 0x[0-9a-f]+$")
        m.expect(r"^\[ipcfuzz\] ipcfuzz: 100000 random calls, RAM 0x80000000 to 0x80200000, scratch at 0x[0-9a-f]+, 3 channels$")
        done = m.expect(r"^\[ipcfuzz\] ipcfuzz: done, 100000 calls: (\d+) ok \((\d+) messages received\), 0 inconsistent$",
                        timeout=300)
        m.expect(r"^\[ipcfuzz\] ipcfuzz: errors -1:\d+ -2:\d+ -3:\d+ -4:\d+ -5:\d+ -6:0$")
        reasons = m.expect(r"^\[ipcfuzz\] ipcfuzz: reasons (1:.*)$").group(1) + " " + \
            m.expect(r"^\[ipcfuzz\] ipcfuzz: reasons (14:.*)$").group(1)
        counts = {int(k): int(v) for k, v in re.findall(r"(\d+):(\d+)", reasons)}
        assert counts[26] == 0, "a reason outside the documented codes"
        # The fuzzer reached every check the channels allow, and its empty key policy refused
        # every key call (10); the key services' own errors (14-25) never come before the policy.
        for reason in range(14, 26):
            assert counts[reason] == 0, f"reason {reason} returned past an empty policy: {reasons}"
        for reason in (1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13):
            assert counts[reason] > 0, f"reason {reason} never returned: {reasons}"
        assert int(done.group(1)) > 0
        # The victim re-checks every 50 ms: its data is unchanged after the fuzzer is through.
        first = m.expect(r"^\[ipcvictim\] ipcvictim: intact (\d+) ", start=done.end())
        m.expect(rf"^\[ipcvictim\] ipcvictim: intact {int(first.group(1)) + 3} ", start=first.end())
        assert m.count(r"^\[ipcvictim\] ipcvictim: intact 1 ") == 1
        # The heartbeat kept counting through the fuzzing and after it.
        beat = m.expect(r"^\[heartbeat\] heartbeat: (\d+)$", start=done.end())
        m.expect(rf"^\[heartbeat\] heartbeat: {int(beat.group(1)) + 3}$", start=beat.end())
        heartbeat_undisturbed(m)
        assert m.count(r"partition (ipcfuzz|ipcvictim) (stopped|restarting|shut down)") == 0
        assert start.group(1)
        assert_no_trouble(m)


# `make run`'s machine has an ACLINT with the SSWI device: harts wake each other with one store;
# plain virt has none: through SBI IPIs (Kernel/Boot/Mailbox.swift). Both carry the whole demo.
@pytest.mark.parametrize("machine, wake, other", [("virt,aclint=on", "ACLINT SSWI at 0x2f00000", "SBI IPI"),
                                                  ("virt", "SBI IPI", "ACLINT SSWI")])
def test_demo_runs_ping_and_pong_beside_the_others(bundle_of, flash_of, tmp_path, machine, wake, other):
    image = flash_of(bundle_of(os.path.join(ROOT, "Guests", "demo.toml"), "--harts", "8"))
    secret = tmp_path / "secret.hex"
    secret.write_text("5a" * 32 + "\n")
    result = subprocess.run([CLI, "provision", image, "--secret-file", str(secret)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    with Machine(image, smp=8, machine=machine) as m:
        m.expect(rf"^\[bulkhead\] cross-hart wake-ups: {wake}$")
        m.expect(r"^\[bulkhead\] partition ping: harts 4, memory 0x84a00000 \+ 2 MiB")
        m.expect(r"^\[bulkhead\] partition pong: harts 5, memory 0x84c00000 \+ 2 MiB")
        m.expect(r"^\[ping\] ping: round 5 ok via queue")
        m.expect(r"^\[ping\] ping: round 5 ok via shared memory")
        m.expect(r"^\[ping\] ping: done, 5 rounds via queue and via shared memory$")
        m.expect(r"^\[hello\] hello: done, shutting down")
        m.expect(r"^\[heartbeat\] heartbeat: 5$")
        m.expect(r"^\[intruder\] intruder: all attempts were contained", timeout=90)
        # vault and tenant: keys of their own; the tenant cannot open the vault's blobs.
        m.expect(r"^\[vault\] vault: derive fingerprint [0-9a-f]{16}$")
        m.expect(r"^\[vault\] vault: attest report 320 bytes$")
        m.expect(r"^\[tenant\] tenant: unseal vault's image blob \(from partition 5\): -1/not_authentic$")
        m.expect(r"^\[tenant\] tenant: unseal vault's signer blob \(from partition 5\): -1/not_authentic$")
        # The updater moves heartbeat to v2 while the others run (README "Updating one partition
        # while the others run"); v2 counts from 1 and commits itself.
        m.expect(r"^\[bulkhead\] update: partition heartbeat: version 2 on trial \(deadline 10000 ms\)$", timeout=60)
        m.expect(r"^\[updater\] updater: heartbeat: committed, version 2$", timeout=60)
        m.expect(r"^\[updater\] updater: done: 1 committed, 0 rolled back, 0 refused$")
        v2 = [int(n) for n in re.findall(r"^\[heartbeat\] heartbeat v2: (\d+)$", m.text, re.M)]
        assert v2 == list(range(1, len(v2) + 1)) and len(v2) >= 3, f"heartbeat v2 was disturbed: {v2}"
        assert m.count(r"update: partition \w+: (refused|trial failed)|updater: .*(refused: |rolled back: )") == 0
        heartbeat_undisturbed(m)
        # The intruder's faults are expected; nothing else may appear.
        bad = [line for line in re.findall(rf"^.*(?:{TROUBLE}).*$", m.text, re.M) if "partition intruder" not in line]
        assert not bad, "unexpected lines:\n" + "\n".join(bad)
        m.assert_all_lines_tagged("bulkhead", "hello", "heartbeat", "intruder", "ping", "pong", "vault", "tenant", "updater")
        assert m.count(rf"cross-hart wake-ups: {other}") == 0


def test_a_read_only_endpoint_cannot_write_shared_memory(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("ipc-readonly.toml")), smp=2) as m:
        m.expect(r"^\[bulkhead\] channel ro-window: shared memory writer <-> reader, 4 KiB at guest address 0x40000000$")
        m.expect(r"^\[reader\] roprobe: reader read 0x5afec0de00000001, now writing$")
        fault = m.expect(r"^\[bulkhead\] fault: partition reader vCPU 0: store/AMO guest-page fault at guest address "
                         r"0x40000000, pc 0x[0-9a-f]+; policy: stop$")
        m.expect(r"^\[bulkhead\] partition reader stopped$", start=fault.end())
        seen = m.expect(r"^\[writer\] roprobe: writer (\d+) sees (0x[0-9a-f]+)$", start=fault.end())
        assert seen.group(2) == "0x5afec0de00000001"
        m.expect(rf"^\[writer\] roprobe: writer {int(seen.group(1)) + 2} sees 0x5afec0de00000001$", start=seen.end())
        assert m.count(r"BREACH") == 0
        assert m.count(r"^\[writer\] roprobe: writer \d+ sees 0xbad$") == 0
        assert m.count(r"partition writer (stopped|restarting)") == 0
