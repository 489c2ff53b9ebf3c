# Debian's unmodified U-Boot for QEMU virt in S-mode (u-boot-qemu's qemu-riscv64_smode build), as a
# payload guest (docs/configuration.md, kind = "payload"):
#   make uboot-guest   fetch u-boot.bin into $(UBOOT_CACHE) once (no network when the cache is
#                      complete) and link it as $(UBOOT_LINK), where configurations name it
#   make run-uboot     boot $(UBOOT_CONFIG): U-Boot beside heartbeat; its prompt takes the console's
#                      input (Ctrl-B then a digit moves the focus; README "Console")
# Included by the top-level Makefile, which defines BUILD.

UBOOT_CACHE   ?= $(HOME)/.cache/bulkhead/u-boot
UBOOT_BIN     := $(UBOOT_CACHE)/u-boot.bin
UBOOT_VERSION := $(UBOOT_CACHE)/version
UBOOT_LINK    := $(BUILD)/u-boot/u-boot.bin
UBOOT_CONFIG  ?= Tests/qemu/configs/uboot.toml

.PHONY: uboot-guest uboot-fetch run-uboot
uboot-guest: $(UBOOT_LINK)

# The script checks the cache itself and returns at once when it is complete. One grouped rule,
# so a parallel make fetches once.
uboot-fetch:
	@UBOOT_CACHE="$(UBOOT_CACHE)" Tools/uboot/fetch-uboot.sh
$(UBOOT_BIN) $(UBOOT_VERSION) &:
	@UBOOT_CACHE="$(UBOOT_CACHE)" Tools/uboot/fetch-uboot.sh

$(UBOOT_LINK): $(UBOOT_BIN)
	@mkdir -p $(dir $@)
	ln -sf $(UBOOT_BIN) $@

run-uboot: uboot-guest
	$(MAKE) run CONFIG=$(UBOOT_CONFIG)
