"""QEMU integration-test harness: boot from a bundle flash image (or any QEMU command line, e.g. Linux
on bare QEMU), wait for console lines with timeouts (never fixed sleeps); the Linux guest's virtio
network and disk arguments and a local HTTP server for it."""
import http.server
import json
import os
import re
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
KERNEL = os.environ.get("BULKHEAD_KERNEL", os.path.join(BUILD, "bulkhead.elf"))
CLI = os.environ.get("BULKHEAD_CLI", os.path.join(ROOT, ".build", "debug", "bulkhead"))
DEV_KEY = os.environ.get("BULKHEAD_KEY", os.path.join(BUILD, "keys", "dev"))   # the Makefile's DEV_KEY
UBOOT = os.path.join(BUILD, "u-boot", "u-boot.bin")    # Debian's S-mode U-Boot (make uboot-guest)


def pack(config, out, *extra):
    """Runs `bulkhead pack`, signing with the development key (made on first use) and security
    version 0 unless `extra` gives --key/--version; returns the CompletedProcess (check returncode)."""
    if "--key" not in extra:
        if not os.path.exists(DEV_KEY + ".key"):
            subprocess.run([CLI, "keygen", "-o", DEV_KEY], capture_output=True, check=True, cwd=ROOT)
        extra += ("--key", DEV_KEY + ".key")
    if "--version" not in extra:
        extra += ("--version", "0")
    return subprocess.run([CLI, "pack", config, "-o", out, *extra], capture_output=True, text=True, cwd=ROOT)


def flash(image, *args):
    """Runs `bulkhead flash IMAGE ARGS...` (with --create when IMAGE is missing, so it is created
    blank); fails the test on an error."""
    create = () if os.path.lexists(str(image)) else ("--create",)
    result = subprocess.run([CLI, "flash", str(image), *map(str, args), *create], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, f"bulkhead flash failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def flash_info(image):
    """`bulkhead flash-info IMAGE --json`'s result (docs/cli-json.md): slots, stateCopies, state, ..."""
    result = subprocess.run([CLI, "flash-info", str(image), "--json"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, f"bulkhead flash-info failed:\n{result.stdout}{result.stderr}"
    return json.loads(result.stdout)["result"]


# Where a bundle handed over in RAM goes on QEMU virt: the staging area MemoryMap places (Kernel/Core/Board/MemoryMap.swift; Kernel/Core/Bundle/PreloadedBundle.swift).
STAGING_ADDRESS = 0x8100_0000


def preloaded(bundle):
    """QEMU arguments that place `bundle` in the hypervisor's staging area before it starts (a
    bundle larger than a flash slot, e.g. one holding a Linux Image)."""
    return ("-device", f"loader,file={bundle},addr={STAGING_ADDRESS:#x},force-raw=on")


def bulkhead_cmd(image, smp=4, cpu="rv64", memory="1G", extra=(), kernel=KERNEL, machine="virt", load_address=None):
    """The QEMU command line of Bulkhead on QEMU virt from the bundle flash `image` (pflash bank 1),
    the hypervisor ELF placed by QEMU's loader, with `extra` arguments (preloaded(bundle), devices).
    `machine` may add options, e.g. "virt,aclint=on" (an ACLINT with the SSWI device). With
    `load_address`, `kernel` is a raw image placed there instead (U-Boot, a trampoline): the
    flash's entry stub jumps to 0x80200000."""
    loader = f"loader,file={kernel}" if load_address is None else f"loader,file={kernel},addr={load_address:#x},force-raw=on"
    return [os.environ.get("QEMU", "qemu-system-riscv64"), "-M", machine, "-cpu", cpu, "-smp", str(smp), "-m", memory,
            "-nographic", "-bios", "default", "-device", loader,
            "-drive", f"if=pflash,unit=1,format=raw,file={image}", *extra]


class Machine:
    """One QEMU virt machine running Bulkhead from the bundle flash `image` (QEMU's pflash bank 1,
    docs/flash-layout.md); collects its console output as it arrives. The hypervisor ELF is placed
    by QEMU's loader device: with bank 1 attached, QEMU 7.2 enters S-mode at the flash's entry stub."""

    def __init__(self, image, smp=4, cpu="rv64", memory="1G", extra=(), kernel=KERNEL, keyboard=False, machine="virt"):
        self._start(bulkhead_cmd(image, smp, cpu, memory, extra, kernel, machine), keyboard)

    @classmethod
    def command(cls, cmd, keyboard=False):
        """A Machine running the QEMU command line `cmd` (a list of strings) instead of Bulkhead from
        flash, e.g. bare_linux_cmd(...): the same console helpers (expect, type, wait_exit)."""
        machine = cls.__new__(cls)
        machine._start(cmd, keyboard)
        return machine

    def _start(self, cmd, keyboard):
        self.cmd = list(cmd)
        # keyboard=True: the console's input is a pipe that type() writes to.
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if keyboard else subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.text = ""
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for chunk in iter(lambda: self.proc.stdout.read1(4096), b""):
            with self.cond:
                self.text += chunk.decode("utf-8", "replace").replace("\r", "")
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def expect(self, pattern, timeout=60, start=0, partial=False):
        """Waits until `pattern` (a regex) appears in a complete line after offset `start`; with
        `partial`, also in the last line while it has no newline yet (a prompt waiting for input)."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                # Only complete lines: a line still arriving must not match half-way.
                m = rx.search(self.text, start, len(self.text) if partial else self.text.rfind("\n") + 1)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    raise AssertionError(f"timed out after {timeout}s waiting for /{pattern}/; console:\n{self.text[-4000:]}")
                self.cond.wait(min(left, 1.0))

    def type(self, data):
        """Types `data` (bytes) on the console (needs keyboard=True)."""
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait_exit(self, timeout=60):
        """Waits for QEMU to exit by itself (the hypervisor shut the machine down)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"QEMU did not exit within {timeout}s; console:\n{self.text[-4000:]}")
        self.reader.join(5)
        return self.text

    def count(self, pattern):
        with self.cond:
            return len(re.findall(pattern, self.text, re.M))

    def complete_lines(self):
        """The console's complete lines so far (a line still arriving is left out)."""
        with self.cond:
            return self.text[:self.text.rfind("\n") + 1].split("\n")[:-1]

    def assert_all_lines_tagged(self, *names):
        """Every complete console line that starts with "[" carries one of the tags `names`
        (`[name] `): untagged guest output would mean a guest reached the UART directly."""
        tag = re.compile(r"^\[(?:%s)\] " % "|".join(map(re.escape, names)))
        for line in self.complete_lines():
            if line.startswith("[") and not tag.match(line):
                raise AssertionError(f"unexpected console line: {line!r}; console:\n{self.text[-4000:]}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- The Linux guest's devices ------------------------------------------------------------------
# Where the guest finds the test's HTTP server: QEMU's user network forwards this address, port 80,
# to a port on 127.0.0.1 (guestfwd). With restrict=on the guest reaches nothing else.
LINUX_SERVER_ADDRESS = "10.0.2.100"


def linux_net_devices(port, disk, net_id="net0", disk_id="disk0"):
    """The QEMU arguments that give a Linux guest a virtio-net on QEMU's user network, restricted to
    this machine (restrict=on: no route out; DHCP from QEMU's own server), whose 10.0.2.100:80 is
    forwarded to 127.0.0.1:`port` (no forward when `port` is None), and the raw image `disk` as a
    virtio-blk (/dev/vda). Both are virtio-mmio devices of QEMU virt; Guests/linux/init loads their
    drivers. The same arguments serve Linux on bare QEMU and under Bulkhead, where the Linux
    partition owns both devices (as Guests/linux/linux.mk's LINUX_DEVICES)."""
    netdev = f"user,id={net_id},restrict=on"
    if port is not None:
        netdev += f",guestfwd=tcp:{LINUX_SERVER_ADDRESS}:80-tcp:127.0.0.1:{int(port)}"
    return ("-netdev", netdev, "-device", f"virtio-net-device,netdev={net_id}",
            "-drive", f"if=none,id={disk_id},format=raw,file={disk}",
            "-device", f"virtio-blk-device,drive={disk_id}")


def bare_linux_cmd(image, initrd, append, smp=2, memory="256M", extra=()):
    """The QEMU command line of a Linux Image directly on QEMU virt under OpenSBI (no hypervisor)."""
    return ["qemu-system-riscv64", "-M", "virt", "-cpu", "rv64", "-smp", str(smp), "-m", memory,
            "-nographic", "-bios", "default", "-kernel", str(image), "-initrd", str(initrd),
            "-append", append, *extra]


class FileServer:
    """An HTTP server on 127.0.0.1 (an ephemeral port) serving the files of `directory` from a thread,
    as a context manager: `port` is its port, `requests` the paths asked for, `timings` each
    answered request's (path, time.monotonic() at its arrival, at its last byte sent). QEMU's
    guestfwd connects to it when QEMU starts: start the server first."""

    def __init__(self, directory):
        server = self
        self.requests = []
        self.timings = []
        self.arrived = threading.Event()

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kw):
                super().__init__(*args, directory=str(directory), **kw)

            def do_GET(self):
                start = time.monotonic()
                server.requests.append(self.path)
                server.arrived.set()
                super().do_GET()
                self.wfile.flush()
                server.timings.append((self.path, start, time.monotonic()))

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def shell_command(m, command, answer, start):
    """Types `command` into the Linux shell until `answer` (a regex) appears: keys typed before
    the shell has switched its terminal to raw mode are flushed by it (no fixed sleep: retry)."""
    for _ in range(12):
        m.type(command)
        try:
            return m.expect(answer, timeout=10, start=start)
        except AssertionError:
            continue
    raise AssertionError(f"no /{answer}/ after typing {command!r}; console:\n{m.text[-4000:]}")
