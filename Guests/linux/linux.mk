# An unmodified Debian 13 (trixie) riscv64 Linux kernel and a busybox initramfs, as a guest.
#   make linux-guest   fetch the kernel and busybox into $(LINUX_CACHE) (once; no network when the
#                      cache is complete) and build $(BUILD)/linux/initramfs.cpio
#   make linux-bare    boot them on bare QEMU virt (OpenSBI, no hypervisor); bulkhead.action=poweroff
#                      ends QEMU (LINUX_APPEND=... for other actions, e.g. bulkhead.action=shell)
#   make linux-bench   median wall time from QEMU start to the init's marker line (5 boots)
#   make linux-test    host tests of the cpio writer (Tests/tools/test_mkcpio.py)
# Included by the top-level Makefile, which defines BUILD, QEMU and deps. Guests/linux/README.md has more.

LINUX_CACHE     ?= $(HOME)/.cache/bulkhead/linux
LINUX_IMAGE     := $(LINUX_CACHE)/Image
LINUX_BUSYBOX   := $(LINUX_CACHE)/busybox
LINUX_VERSION   := $(LINUX_CACHE)/kernel-version
LINUX_DIR       := $(BUILD)/linux
LINUX_INITRAMFS := $(LINUX_DIR)/initramfs.cpio
LINUX_SMP       ?= 2
LINUX_MEM       ?= 256M
LINUX_APPEND    ?= console=ttyS0 earlycon=sbi

.PHONY: linux-guest linux-fetch linux-initramfs linux-bare linux-bench linux-test
linux-guest: $(LINUX_IMAGE) $(LINUX_BUSYBOX) $(LINUX_VERSION) $(LINUX_INITRAMFS)
linux-initramfs: $(LINUX_INITRAMFS)

# The script checks the cache itself (Image, kernel-version, busybox) and returns at once when
# complete; make does not even run it then. One grouped rule, so a parallel make fetches once.
linux-fetch:
	@LINUX_CACHE="$(LINUX_CACHE)" Tools/linux/fetch-linux.sh
$(LINUX_IMAGE) $(LINUX_BUSYBOX) $(LINUX_VERSION) &:
	@LINUX_CACHE="$(LINUX_CACHE)" Tools/linux/fetch-linux.sh

# Always our own deterministic newc writer (not the system's cpio): the same inputs give the same bytes.
$(LINUX_INITRAMFS): Guests/linux/initramfs.list Guests/linux/init Tools/linux/mkcpio.py $(LINUX_BUSYBOX)
	@mkdir -p $(LINUX_DIR)
	python3 Tools/linux/mkcpio.py -D INIT=Guests/linux/init -D BUSYBOX="$(LINUX_BUSYBOX)" -o $@ Guests/linux/initramfs.list

linux-bare: deps linux-guest
	$(QEMU) -M virt -cpu rv64 -smp $(LINUX_SMP) -m $(LINUX_MEM) -nographic -bios default \
	    -kernel $(LINUX_IMAGE) -initrd $(LINUX_INITRAMFS) -append "$(LINUX_APPEND)"

linux-bench: deps linux-guest kernel guests tool
	LINUX_IMAGE="$(LINUX_IMAGE)" LINUX_INITRAMFS="$(LINUX_INITRAMFS)" python3 Tests/bench/linux_boot.py

linux-test:
	python3 -m pytest -q Tests/tools/test_mkcpio.py
