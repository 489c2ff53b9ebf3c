# An unmodified Debian 13 (trixie) riscv64 Linux kernel and a busybox initramfs, as a guest.
#   make linux-guest   fetch the kernel, its modules (Guests/linux/modules.list and what they need)
#                      and busybox into $(LINUX_CACHE) (once; no network when the cache is complete),
#                      build $(BUILD)/linux/initramfs.cpio and the virtio disk $(BUILD)/linux/disk.img
#   make linux-bare    boot them on bare QEMU virt (OpenSBI, no hypervisor) with a virtio-net (QEMU
#                      user network, restrict=on) and the disk; bulkhead.action=poweroff ends QEMU
#                      (LINUX_APPEND=... for other actions, e.g. bulkhead.action=shell; LINUX_DEVICES=
#                      for no devices; LINUX_HTTP_PORT=N forwards http://10.0.2.100/ to 127.0.0.1:N)
#   make linux-bench   median wall time from QEMU start to the init's marker line (5 boots)
#   make linux-net-bench  wall time of a 64 MiB download into the guest (Tests/bench/linux_net.py)
#   make linux-test    host tests of the cpio writer and the module picker (Tests/tools/)
# Included by the top-level Makefile, which defines BUILD, QEMU and deps. Guests/linux/README.md has more.

LINUX_CACHE     ?= $(HOME)/.cache/bulkhead/linux
LINUX_IMAGE     := $(LINUX_CACHE)/Image
LINUX_BUSYBOX   := $(LINUX_CACHE)/busybox
LINUX_VERSION   := $(LINUX_CACHE)/kernel-version
LINUX_MODULES   := $(LINUX_CACHE)/modules
LINUX_MODLOAD   := $(LINUX_MODULES)/modules.load
LINUX_MODLIST   := Guests/linux/modules.list
LINUX_DIR       := $(BUILD)/linux
LINUX_LIST      := $(LINUX_DIR)/initramfs.list
LINUX_INITRAMFS := $(LINUX_DIR)/initramfs.cpio
LINUX_DISK      := $(LINUX_DIR)/disk.img
LINUX_DISK_SIZE ?= 16M
LINUX_SMP       ?= 2
LINUX_MEM       ?= 256M
LINUX_APPEND    ?= console=ttyS0 earlycon=sbi
LINUX_HTTP_PORT ?=
# The same devices as Tests/qemu/harness.py's linux_net_devices(): a virtio-net on QEMU's user
# network, restricted to the machine (restrict=on; with LINUX_HTTP_PORT, the guest's
# http://10.0.2.100/ is forwarded to 127.0.0.1:LINUX_HTTP_PORT), and the disk as a virtio-blk.
comma := ,
LINUX_DEVICES   ?= -netdev user,id=net0,restrict=on$(if $(LINUX_HTTP_PORT),$(comma)guestfwd=tcp:10.0.2.100:80-tcp:127.0.0.1:$(LINUX_HTTP_PORT)) \
                   -device virtio-net-device,netdev=net0 \
                   -drive if=none,id=disk0,format=raw,file=$(LINUX_DISK) -device virtio-blk-device,drive=disk0

.PHONY: linux-guest linux-fetch linux-initramfs linux-disk linux-bare linux-bench linux-net-bench linux-test
linux-guest: $(LINUX_IMAGE) $(LINUX_BUSYBOX) $(LINUX_VERSION) $(LINUX_MODLOAD) $(LINUX_INITRAMFS) $(LINUX_DISK)
linux-initramfs: $(LINUX_INITRAMFS)
linux-disk: $(LINUX_DISK)

# The script checks the cache itself (Image, kernel-version, busybox, modules picked for the current
# modules.list) and returns at once when complete; make does not even run it then. One grouped rule,
# so a parallel make fetches once. When modules.list or the picker changes, the script fetches the
# same package again for the new modules (or touches modules.load when they are still right).
linux-fetch:
	@LINUX_CACHE="$(LINUX_CACHE)" LINUX_MODULES_LIST="$(LINUX_MODLIST)" Tools/linux/fetch-linux.sh
$(LINUX_IMAGE) $(LINUX_BUSYBOX) $(LINUX_VERSION) &:
	@LINUX_CACHE="$(LINUX_CACHE)" LINUX_MODULES_LIST="$(LINUX_MODLIST)" Tools/linux/fetch-linux.sh
$(LINUX_MODLOAD): $(LINUX_MODLIST) Tools/linux/kmods.py | $(LINUX_VERSION)
	@LINUX_CACHE="$(LINUX_CACHE)" LINUX_MODULES_LIST="$(LINUX_MODLIST)" Tools/linux/fetch-linux.sh

# The full list: initramfs.list and the cached modules at /lib/modules/<version>/ (their files change
# only together with modules.load, which the fetch rewrites with them).
$(LINUX_LIST): Guests/linux/initramfs.list $(LINUX_MODLOAD) $(LINUX_VERSION) Tools/linux/kmods.py
	@mkdir -p $(LINUX_DIR)
	{ cat Guests/linux/initramfs.list && \
	  python3 Tools/linux/kmods.py cpio-list --version "$$(cat $(LINUX_VERSION))" $(LINUX_MODULES); } >$@.tmp
	mv $@.tmp $@

# Always our own deterministic newc writer (not the system's cpio): the same inputs give the same bytes.
$(LINUX_INITRAMFS): $(LINUX_LIST) Guests/linux/init Guests/linux/udhcpc.script Tools/linux/mkcpio.py $(LINUX_BUSYBOX)
	@mkdir -p $(LINUX_DIR)
	python3 Tools/linux/mkcpio.py -D INIT=Guests/linux/init -D BUSYBOX="$(LINUX_BUSYBOX)" \
	    -D UDHCPC_SCRIPT=Guests/linux/udhcpc.script -o $@ $(LINUX_LIST)

# The virtio disk: an ext4 filesystem holding Guests/linux/disk/ (hello.txt), made by e2fsprogs as
# an ordinary user would (no mounts). Fixed UUID, hash seed, time and file times (mkfs -d copies the
# files' ctime, which touch cannot set: debugfs sets it afterwards): the same bytes every time.
# Tests copy it before writing to it; `make linux-bare` uses it in place (delete it for a fresh one).
LINUX_DISK_UUID := 6b756c6b-6865-6164-2d64-69736b000001
$(LINUX_DISK): $(wildcard Guests/linux/disk/*) Guests/linux/linux.mk
	@mkdir -p $(LINUX_DIR)
	rm -rf $(LINUX_DIR)/disk-root $@.tmp
	cp -r Guests/linux/disk $(LINUX_DIR)/disk-root
	find $(LINUX_DIR)/disk-root -exec touch -h -d @1700000000 {} +
	truncate -s $(LINUX_DISK_SIZE) $@.tmp
	E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -L bulkhead -U $(LINUX_DISK_UUID) \
	    -E root_owner=0:0,hash_seed=$(LINUX_DISK_UUID) -d $(LINUX_DIR)/disk-root $@.tmp
	cd $(LINUX_DIR)/disk-root && find . -mindepth 1 | LC_ALL=C sort | \
	    sed 's|^\.\(.*\)|sif \1 ctime @1700000000\nsif \1 ctime_extra 0|' >../disk-times
	debugfs -w -f $(LINUX_DIR)/disk-times $@.tmp >/dev/null 2>&1
	rm -rf $(LINUX_DIR)/disk-root $(LINUX_DIR)/disk-times
	mv $@.tmp $@

linux-bare: deps linux-guest
	$(QEMU) -M virt -cpu rv64 -smp $(LINUX_SMP) -m $(LINUX_MEM) -nographic -bios default \
	    -kernel $(LINUX_IMAGE) -initrd $(LINUX_INITRAMFS) -append "$(LINUX_APPEND)" $(LINUX_DEVICES)

linux-bench: deps linux-guest kernel guests tool
	LINUX_IMAGE="$(LINUX_IMAGE)" LINUX_INITRAMFS="$(LINUX_INITRAMFS)" python3 Tests/bench/linux_boot.py

linux-net-bench: deps linux-guest kernel tool
	LINUX_IMAGE="$(LINUX_IMAGE)" LINUX_INITRAMFS="$(LINUX_INITRAMFS)" LINUX_DISK="$(LINUX_DISK)" python3 Tests/bench/linux_net.py

linux-test:
	python3 -m pytest -q Tests/tools/test_mkcpio.py Tests/tools/test_kmods.py
