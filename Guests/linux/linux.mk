# An unmodified Debian 13 (trixie) riscv64 Linux kernel and a busybox initramfs, as a guest.
#   make linux-guest   fetch the kernel and busybox into $(LINUX_CACHE) (once; no network when complete)
# Included by the top-level Makefile, which defines BUILD and QEMU. Guests/linux/README.md has more.

LINUX_CACHE   ?= $(HOME)/.cache/bulkhead/linux
LINUX_IMAGE   := $(LINUX_CACHE)/Image
LINUX_BUSYBOX := $(LINUX_CACHE)/busybox

.PHONY: linux-guest linux-fetch
linux-guest: linux-fetch

# The script checks the cache itself (Image, kernel-version, busybox) and returns at once when complete.
linux-fetch:
	@LINUX_CACHE="$(LINUX_CACHE)" Tools/linux/fetch-linux.sh
