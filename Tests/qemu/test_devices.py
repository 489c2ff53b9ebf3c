"""Devices: a partition owns QEMU virt's goldfish RTC and takes its alarm interrupts through its
virtual PLIC; no other partition reaches the device or the PLIC; a device given twice is refused
by `bulkhead pack` and, in a hand-made bundle, by the kernel."""
import re

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harness import BUILD, DEV_KEY, Machine, pack

HEADER, RECORD, DEVICE_RECORD, SIGNATURE = 64, 320, 192, 64


def test_the_rtc_guest_takes_its_alarm_interrupts_and_no_other_partition_reaches_the_rtc_or_the_plic(bundle_of, flash_of):
    with Machine(flash_of(bundle_of("rtc.toml"))) as m:
        m.expect(r"^\[bulkhead\] partition rtc: device /soc/rtc@101000 at 0x101000, interrupts 11$")
        m.expect(r"^\[rtc\] rtc: device at 0x101000, PLIC source 11; time \d+ s since 1970$")
        for alarm in (1, 2, 3):
            m.expect(rf"^\[rtc\] rtc: alarm {alarm} interrupt, source 11, latency \d+ instructions$", timeout=30)
        done = m.expect(r"^\[rtc\] rtc: done$").end()
        # The probe's reads of the RTC's registers and of the PLIC (it owns no interrupt) each fault.
        m.expect(r"^\[bulkhead\] fault: partition devprobe vCPU 0: load guest-page fault at guest address 0x101000, "
                 r"pc 0x[0-9a-f]+; policy: restart$")
        m.expect(r"^\[bulkhead\] fault: partition devprobe vCPU 0: load guest-page fault at guest address 0xc00002c, "
                 r"pc 0x[0-9a-f]+; policy: restart$")
        m.expect(r"^\[devprobe\] devprobe: all 2 attempts were contained$")
        # heartbeat keeps its pace after all of it.
        beat = int(m.expect(r"^\[heartbeat\] heartbeat: (\d+)$", start=done).group(1))
        m.expect(rf"^\[heartbeat\] heartbeat: {beat + 3}$", start=done)
        text = m.text
    assert "BREACH" not in text
    assert not re.search(r"^\[bulkhead\] fault: partition (rtc|heartbeat)", text, re.M)
    assert "unexpected" not in text and "FATAL" not in text


def test_pack_refuses_a_device_given_twice_and_a_reserved_one(tmp_path):
    config = tmp_path / "twice.toml"
    config.write_text(_twice_config('["/soc/rtc@101000"]'))
    result = pack(str(config), str(tmp_path / "b.bin"))
    assert result.returncode != 0
    assert ('partition #1 "probe", field devices: device /soc/rtc@101000 is already given (device #0 of partition #0 '
            '"rtc"); a device belongs to one partition only') in result.stderr
    config.write_text(_twice_config('["/soc/serial@10000000"]'))
    result = pack(str(config), str(tmp_path / "b.bin"))
    assert result.returncode != 0
    assert ('partition #1 "probe", field devices: device /soc/serial@10000000 is reserved: it is the hypervisor\'s '
            'console UART') in result.stderr


def _twice_config(probe_devices):
    """Two partitions: rtc owns the RTC, probe owns `probe_devices` (a TOML array)."""
    image = f"{BUILD}/guests/heartbeat.bin"
    return (f'[[partition]]\nname = "rtc"\nimage = "{image}"\nharts = [0]\nmemory_base = 0x84000000\nmemory_size = "2M"\n'
            f'devices = ["/soc/rtc@101000"]\n\n'
            f'[[partition]]\nname = "probe"\nimage = "{image}"\nharts = [1]\nmemory_base = 0x84200000\nmemory_size = "2M"\n'
            f'devices = {probe_devices}\n')


def _with_device_twice(bundle, owner):
    """A copy of a bundle with one device record, with that record repeated for partition `owner`
    (images moved down 192 bytes) and the manifest signed again with the development key: what
    a vendor's own tool could produce, bypassing `bulkhead pack`'s check."""
    b = bytearray(bundle)
    partitions = int.from_bytes(b[14:16], "little")
    channels = int.from_bytes(b[40:42], "little")
    initrds = int.from_bytes(b[44:46], "little")
    assert int.from_bytes(b[48:50], "little") == 1 and initrds == 0
    devices_at = HEADER + RECORD * partitions + 64 * channels
    record = bytearray(b[devices_at:devices_at + DEVICE_RECORD])
    record[0] = owner
    manifest_end = devices_at + DEVICE_RECORD
    b[manifest_end:manifest_end] = record
    b[48:50] = (2).to_bytes(2, "little")
    b[16:24] = (len(b)).to_bytes(8, "little")
    for p in range(partitions):
        at = HEADER + RECORD * p + 80
        b[at:at + 8] = (int.from_bytes(b[at:at + 8], "little") + DEVICE_RECORD).to_bytes(8, "little")
    manifest_end += DEVICE_RECORD
    seed = bytes.fromhex(open(DEV_KEY + ".key").read().split()[-1])
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(bytes(b[:manifest_end]))
    b[manifest_end:manifest_end + SIGNATURE] = signature
    return bytes(b)


def test_a_hand_made_bundle_giving_a_device_twice_is_refused_by_the_kernel(bundle_of, flash_of, tmp_path):
    good = bundle_of("rtc.toml")
    bad = tmp_path / "twice.bin"
    bad.write_bytes(_with_device_twice(open(good, "rb").read(), owner=2))
    fallback = bundle_of("fallback.toml")
    with Machine(flash_of(str(bad), fallback)) as m:
        m.expect(r'^\[bulkhead\] slot A rejected: .*partition #2 "devprobe", field devices: device /soc/rtc@101000 is '
                 r'already given \(device #0 of partition #0 "rtc"\); a device belongs to one partition only$')
        m.expect(r"^\[bulkhead\] slot B: bundle verified")
        m.expect(r"^\[fallback\] ")
        text = m.text
    assert not re.search(r"^\[(rtc|devprobe)\] ", text, re.M), "a partition of the refused bundle ran"
