"""Partition updates on QEMU: Guests/updater applies, is refused and rolls back updates of heartbeat while a ticker beats.

docs/hypercalls.md "Partition updates"; README "Updating one partition while the others run". A good update
is committed while another partition keeps beating; refused updates (tampered, unknown key, older version,
no policy) change nothing; a trial that never commits or that faults is rolled back; a committed update
survives a reboot. Config: configs/update.toml."""
import os
import re
import subprocess

import pytest

from harness import CLI, DEV_KEY, ROOT, Machine, flash, pack

CONFIG = os.path.join(os.path.dirname(__file__), "configs", "update.toml")
GUESTS = os.path.join(ROOT, "build", "guests")
PERIOD_MS = 50                          # heartbeat's period (Guests/heartbeat)
IMAGE_OFFSET = 352                      # where an update's image starts (docs/bundle-format.md)
TIMEOUT = 120
# Never expected in any boot here (a fault of the faulting trial image is checked on its own).
TROUBLE = r"FATAL|BREACH|unexpected trap|Halting|partition ticker (stopped|restarting)|fault: partition (?!heartbeat)"


def config_copy(tmp, name, initrd, updater_args="", rogue_args=""):
    """configs/update.toml in `tmp` as `name`: image paths absolute, both updaters' initrd `initrd`,
    their bootargs set."""
    text = open(CONFIG).read()
    text = re.sub(r'^image = "\.\./\.\./\.\./build/guests/([\w-]+\.bin)"$',
                  lambda m: f'image = "{os.path.join(GUESTS, m.group(1))}"', text, flags=re.M)
    text, n = re.subn(r'^initrd = "updates\.img"$', f'initrd = "{initrd}"', text, flags=re.M)
    assert n == 2
    for who, args in (("updater", updater_args), ("rogue", rogue_args)):
        if args:
            text, n = re.subn(rf'^name = "{who}"$', f'name = "{who}"\nbootargs = "{args}"', text, flags=re.M)
            assert n == 1
    path = tmp / name
    path.write_text(text)
    return str(path)


def pack_update(config, image, version, out, key=DEV_KEY):
    """`bulkhead pack-update` of heartbeat with build/guests/IMAGE.bin at security version `version`."""
    result = subprocess.run([CLI, "pack-update", config, "--partition", "heartbeat", "--image",
                             os.path.join(GUESTS, image + ".bin"), "--security-version", str(version),
                             "--key", key + ".key", "-o", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, f"bulkhead pack-update failed:\n{result.stdout}{result.stderr}"
    return open(out, "rb").read()


def update_list(path, updates):
    """The updater's initrd: the updates end to end, each starting 8-byte aligned (Guests/updater)."""
    data = b""
    for u in updates:
        data += u + bytes(-len(u) % 8)
    path.write_bytes(data)


@pytest.fixture(scope="module")
def updates(tmp_path_factory):
    """Every update the tests deliver, packed from configs/update.toml: {name: bytes}."""
    tmp = tmp_path_factory.mktemp("updates")
    # pack-update loads the whole configuration, the updaters' initrd included, which is what we
    # are making: a stand-in list does, since heartbeat's policy digest leaves other partitions' initrds out.
    standin = tmp / "standin.img"
    standin.write_bytes(bytes(8))
    config = config_copy(tmp, "update.toml", standin)
    other = tmp / "other"
    subprocess.run([CLI, "keygen", "-o", str(other)], check=True, capture_output=True, cwd=ROOT)
    made = {
        "v2": pack_update(config, "heartbeat-v2", 2, tmp / "v2.update"),
        "v1": pack_update(config, "heartbeat", 1, tmp / "v1.update"),
        "unknown-key": pack_update(config, "heartbeat-v2", 3, tmp / "unknown.update", key=str(other)),
        "nocommit": pack_update(config, "heartbeat-nocommit", 5, tmp / "nocommit.update"),
        "fault": pack_update(config, "heartbeat-fault", 6, tmp / "fault.update"),
    }
    tampered = bytearray(pack_update(config, "heartbeat-v2", 3, tmp / "v3.update"))
    tampered[IMAGE_OFFSET + 100] ^= 0x01                # one bit of the image: its digest no longer matches
    made["tampered"] = bytes(tampered)
    return made


# The boots run with `-icount shift=0,sleep=off`: the guests' clocks (and so the ticker's stamps and
# the trial deadlines) follow the instructions executed, and skip ahead over idle time instead of
# waiting for the host's wall clock (sleep=off; a clean-clone run with sleep on still saw one
# 116 ms gap on the loaded machine), so what the ticker
# measures is what the hypervisor does to it, not how busy the host machine is (CI shares two cores).
ICOUNT = ("-icount", "shift=0,sleep=off")


def boot_until(image, *patterns, smp=4):
    """Boots the flash `image`, waits until every pattern has appeared (in any order), and returns the console text."""
    with Machine(image, smp=smp, extra=ICOUNT) as m:
        for pattern in patterns:
            m.expect(pattern, timeout=TIMEOUT)
        return m.text


def bundle_flash(tmp, config, name):
    bundle = str(tmp / (name + ".bin"))
    result = pack(config, bundle)
    assert result.returncode == 0, f"bulkhead pack failed:\n{result.stdout}{result.stderr}"
    image = tmp / (name + ".img")
    flash(image, "--reset-state")
    flash(image, bundle, "--slot", "a")
    return image


@pytest.fixture(scope="module")
def boots(updates, tmp_path_factory):
    """One flash image booted twice: the updater waits 500 ms (heartbeat's bundle image beats), applies v2, then a tampered v3, a v3 from an unknown key
    and v1; the rogue (no update policy) tries the same list. Then QEMU restarts on the same flash.
    Returns (first console, second console)."""
    tmp = tmp_path_factory.mktemp("boots")
    initrd = tmp / "updates.img"
    update_list(initrd, [updates["v2"], updates["tampered"], updates["unknown-key"], updates["v1"]])
    image = bundle_flash(tmp, config_copy(tmp, "update.toml", initrd, updater_args="wait=500"), "update")
    done = r"^\[updater\] updater: done: "
    first = boot_until(image, done, r"^\[rogue\] updater: done: ", r"^\[heartbeat\] heartbeat v2: 20$")
    second = boot_until(image, done, r"^\[heartbeat\] heartbeat v2: 10$")
    return first, second


@pytest.fixture(scope="module")
def trials(updates, tmp_path_factory):
    """The updater applies an image that never commits (trial deadline 1500 ms), then one that faults."""
    tmp = tmp_path_factory.mktemp("trials")
    initrd = tmp / "updates.img"
    update_list(initrd, [updates["nocommit"], updates["fault"]])
    image = bundle_flash(tmp, config_copy(tmp, "update.toml", initrd, updater_args="deadline=1500"), "trials")
    with Machine(image, smp=4) as m:
        m.expect(r"^\[rogue\] updater: done: ", timeout=TIMEOUT)
        m.expect(r"^\[updater\] updater: done: ", timeout=TIMEOUT)
        # The bundle's heartbeat beats again after the last rollback (the updater may finish first).
        rolled = m.expect(r"^\[bulkhead\] update: partition heartbeat: trial failed \(faulted\)", timeout=TIMEOUT)
        m.expect(r"^\[heartbeat\] heartbeat: 3$", timeout=TIMEOUT, start=rolled.end())
        return m.text


def summary(text):
    """The console without the beat lines of heartbeat and the ticker (for failure messages)."""
    return re.sub(r"^\[(?:ticker|heartbeat)\] heartbeat[ \w]*: \d+( at \d+ ms)?\n", "", text, flags=re.M)[-5000:]


def lines(text, pattern):
    return re.findall(pattern, text, re.M)


def position(text, pattern):
    m = re.search(pattern, text, re.M)
    assert m, f"no /{pattern}/ in the console:\n{summary(text)}"
    return m.start()


def assert_in_order(text, *patterns):
    at = 0
    for pattern in patterns:
        m = re.compile(pattern, re.M).search(text, at)
        assert m, f"no /{pattern}/ after offset {at}; console without the beats:\n{summary(text)}"
        at = m.end()


def assert_no_trouble(text):
    bad = lines(text, rf"^.*(?:{TROUBLE}).*$")
    assert not bad, "unexpected lines:\n" + "\n".join(bad)


def assert_consecutive(numbers, what):
    assert numbers and numbers == list(range(1, len(numbers) + 1)), f"{what} was disturbed: {numbers}"


def ticker_beats(text):
    """The ticker's (beat, time in ms, console offset), in console order."""
    return [(int(m.group(1)), int(m.group(2)), m.start())
            for m in re.finditer(r"^\[ticker\] heartbeat: (\d+) at (\d+) ms$", text, re.M)]


# The hypervisor writes flash during an update (update_apply's "writing version N to update image
# slot S" until "on trial", update_commit's "recording the commit ..." until "committed"); the
# window checked must hold one. (Without -icount, in wall-clock time, QEMU 7.2's pflash model holds
# QEMU's global lock while it writes its file, and other vCPUs' timers come late then; the CFI
# driver's buffered programs made that 200-500 ms stall a few ms, but on a loaded host it remains.)
FLASH_WRITES = r"^\[bulkhead\] update: partition \w+: (?:writing version \d+ to update image slot|recording the commit)"


def assert_ticker_kept_beating(text, start, end):
    """The ticker's beats are consecutive, and between console offsets `start` and `end` (the update's
    window, and the first beat after it) no two beats are further apart than two periods: it never
    paused for more than a period, flash writes included (the window must hold one)."""
    beats = ticker_beats(text)
    assert_consecutive([b for b, _, _ in beats], "the ticker")
    inside = [i for i, (_, _, at) in enumerate(beats) if start <= at <= end]
    assert len(inside) >= 3, f"the ticker printed only {len(inside)} beats during the update:\n{summary(text)}"
    assert re.compile(FLASH_WRITES, re.M).search(text, start, end), f"no flash write in the window:\n{summary(text)}"
    gaps = [beats[i][1] - beats[i - 1][1] for i in range(max(inside[0], 1), min(inside[-1] + 1, len(beats) - 1) + 1)]
    assert gaps and max(gaps) <= 2 * PERIOD_MS, f"the ticker paused {max(gaps)} ms during the update (gaps {gaps})"


def test_a_good_update_is_applied_while_another_partition_keeps_beating(boots):
    text, _ = boots
    assert_in_order(text,
                    r"^\[heartbeat\] heartbeat: 1$",
                    r"^\[updater\] updater: update 0: heartbeat version 2, \d+ bytes, for partition #1$",
                    r"^\[bulkhead\] update: partition heartbeat: version 2 on trial \(deadline 10000 ms\)$",
                    r"^\[heartbeat\] heartbeat v2: 1$",
                    r"^\[heartbeat\] heartbeat v2: 3$",
                    r"^\[bulkhead\] update: partition heartbeat: version 2 committed$")
    # Then heartbeat and the updater (at its next poll) say so, in either order.
    committed = position(text, r"^\[bulkhead\] update: partition heartbeat: version 2 committed$")
    assert_in_order(text[committed:], r"^\[heartbeat\] heartbeat v2: committed$")
    assert_in_order(text[committed:], r"^\[updater\] updater: heartbeat: committed, version 2$")
    assert len(lines(text, r"^\[updater\] updater: heartbeat v2 applied, on trial$")) == 1
    # heartbeat ran its bundle image, then v2 from its first beat on, each counting without a gap.
    assert_consecutive([int(n) for n in lines(text, r"^\[heartbeat\] heartbeat: (\d+)$")], "heartbeat v1")
    assert_consecutive([int(n) for n in lines(text, r"^\[heartbeat\] heartbeat v2: (\d+)$")], "heartbeat v2")
    assert position(text, r"^\[heartbeat\] heartbeat v2: 1$") > position(text, r"^\[heartbeat\] heartbeat: \d+$")
    start = position(text, r"^\[updater\] updater: update 0: ")
    end = position(text, r"^\[updater\] updater: done: ")       # the refusals' staging and checks too
    assert_ticker_kept_beating(text, start, end)
    for never in (r"trial failed", r"rolled back:", r"partition heartbeat (stopped|restarting)", r"fault: partition"):
        assert not lines(text, rf"^.*{never}.*$"), f"unexpected /{never}/:\n{text[-4000:]}"
    assert_no_trouble(text)


def test_tampered_unknown_key_and_older_updates_are_refused_and_change_nothing(boots):
    text, _ = boots
    refusals = lines(text, r"^\[updater\] updater: heartbeat (v\d+): refused: reason (\d+ \(\w+\))$")
    assert refusals == [("v3", "34 (update_mismatch)"), ("v3", "32 (update_untrusted)"), ("v1", "33 (update_rollback)")], refusals
    assert lines(text, r"^\[updater\] updater: heartbeat: still runs version (\d+)$") == ["2", "2", "2"]
    assert len(lines(text, r"^\[bulkhead\] update: partition heartbeat: refused: .+$")) == 3
    assert lines(text, r"^\[updater\] updater: done: (.*)$") == ["1 committed, 0 rolled back, 3 refused"]
    # Nothing changed: one trial only (v2), and v2 kept beating without a restart until the end.
    assert len(lines(text, r"^\[bulkhead\] update: partition heartbeat: version \d+ on trial")) == 1
    assert not lines(text, r"^\[bulkhead\] update: partition heartbeat: version [13] ")
    done = position(text, r"^\[updater\] updater: done: ")
    assert re.search(r"^\[heartbeat\] heartbeat v2: \d+$", text[done:], re.M), "heartbeat v2 stopped beating"
    assert_consecutive([int(n) for n in lines(text, r"^\[heartbeat\] heartbeat v2: (\d+)$")], "heartbeat v2")
    assert_no_trouble(text)


def test_a_partition_without_the_update_policy_is_refused(boots):
    text, _ = boots
    assert lines(text, r"^\[rogue\] updater: heartbeat v\d+: refused: reason (.*)$") == ["10 (policy_denied)"] * 4
    assert lines(text, r"^\[rogue\] updater: done: (.*)$") == ["0 committed, 0 rolled back, 4 refused"]
    # Not even update_status about heartbeat: the rogue cannot learn what it runs.
    assert not lines(text, r"^\[rogue\] updater: (?!done: ).*(?:still runs|applied|committed,|rolled back:).*$")


def test_after_a_reboot_the_committed_update_runs_and_older_versions_are_refused(boots):
    _, text = boots
    assert_in_order(text,
                    r"^\[bulkhead\] slot A: bundle verified",
                    r"^\[bulkhead\] update: partition heartbeat runs its committed update, version 2$",
                    r"^\[heartbeat\] heartbeat v2: 1$")
    # v2 is not on trial any more: its commit is refused, and the bundle's image never runs.
    assert lines(text, r"^\[heartbeat\] heartbeat v2: update_commit: (.*)$") == ["-4/not_on_trial"]
    assert not lines(text, r"^\[heartbeat\] heartbeat: \d+$")
    refusals = lines(text, r"^\[updater\] updater: heartbeat (v\d+): refused: reason (\d+ \(\w+\))$")
    assert refusals == [("v2", "33 (update_rollback)"), ("v3", "34 (update_mismatch)"), ("v3", "32 (update_untrusted)"),
                        ("v1", "33 (update_rollback)")], refusals
    assert lines(text, r"^\[updater\] updater: heartbeat: still runs version (\d+)$") == ["2"] * 4
    assert not lines(text, r"^.*(on trial|trial failed|committed$).*$")
    assert_consecutive([int(n) for n in lines(text, r"^\[heartbeat\] heartbeat v2: (\d+)$")], "heartbeat v2")
    assert_no_trouble(text)


def test_an_image_that_never_commits_is_rolled_back_after_its_deadline(trials):
    text = trials
    assert_in_order(text,
                    r"^\[bulkhead\] update: partition heartbeat: version 5 on trial \(deadline 1500 ms\)$",
                    r"^\[updater\] updater: heartbeat v5 applied, on trial$",
                    r"^\[heartbeat\] heartbeat nocommit: 1$",
                    r"^\[bulkhead\] update: partition heartbeat: trial failed \(missed its deadline\); back to version 0$",
                    r"^\[updater\] updater: heartbeat rolled back: reason 38 \(trial_deadline\), back to version 0$")
    # It ran for about its deadline (1500 ms at 50 ms a beat), no more than the updater's 100 ms poll later.
    beats = [int(n) for n in lines(text, r"^\[heartbeat\] heartbeat nocommit: (\d+)$")]
    assert_consecutive(beats, "the trial image")
    assert 10 <= len(beats) <= (1500 + 400) // PERIOD_MS, beats
    # Back on the bundle's image: heartbeat counts from 1 again after the rollback.
    rolled = position(text, r"^\[bulkhead\] update: partition heartbeat: trial failed \(missed its deadline\)")
    assert re.search(r"^\[heartbeat\] heartbeat: 1$", text[rolled:], re.M), text[-4000:]
    assert not lines(text, r"^.*version 5 committed.*$")
    assert_ticker_kept_beating(text, position(text, r"^\[updater\] updater: update 0: "),
                               position(text, r"^\[updater\] updater: heartbeat rolled back: reason 38"))
    assert_no_trouble(text)


def test_an_image_that_faults_on_trial_is_rolled_back(trials):
    text = trials
    assert_in_order(text,
                    r"^\[updater\] updater: update 1: heartbeat version 6, \d+ bytes, for partition #1$",
                    r"^\[bulkhead\] update: partition heartbeat: version 6 on trial \(deadline 1500 ms\)$",
                    r"^\[heartbeat\] heartbeat fault: 2$",
                    r"^\[heartbeat\] heartbeat fault: storing at 0x80200000$",
                    r"^\[bulkhead\] update: partition heartbeat: trial failed \(faulted\); back to version 0$",
                    r"^\[updater\] updater: heartbeat rolled back: reason 36 \(trial_faulted\), back to version 0$",
                    r"^\[updater\] updater: done: 0 committed, 2 rolled back, 0 refused$")
    faulted = position(text, r"^\[bulkhead\] update: partition heartbeat: trial failed \(faulted\)")
    assert re.search(r"^\[heartbeat\] heartbeat: 1$", text[faulted:], re.M), text[-4000:]
    assert not lines(text, r"^\[heartbeat\] heartbeat fault: 3$")
    assert not lines(text, r"^.*version 6 committed.*$")
    assert lines(text, r"^\[rogue\] updater: heartbeat v\d+: refused: reason (.*)$") == ["10 (policy_denied)"] * 2
    assert_no_trouble(text)
