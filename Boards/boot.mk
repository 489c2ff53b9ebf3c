# Booting the way boards boot: firmware (OpenSBI), then U-Boot, which runs a boot script from the
# boot medium that loads bulkhead.bin and the bundle and starts them with booti (README "Booting
# on a board"). Included by the top-level Makefile after the kernel and bundle variables.
#   make boot-disk         $(BOOT_DISK): a disk image (MBR, one ext4 partition) holding boot.scr
#                          (from Boards/<board>/boot.cmd), bulkhead.bin and the bundle
#                          (BOOT_BUNDLE, default the demo's $(BUNDLE)); for BOARD=spacemit-k3 or
#                          eswin-eic7700x under build/boards/<board>/boot/ (the P550: write it to an
#                          SD card; the K3's U-Boot reads GPT only: copy the files into its bootfs
#                          partition instead; both untested on hardware)
#   make run-uboot-chain   QEMU's OpenSBI -> Debian's U-Boot (entered through the flash's entry stub,
#                          the flash's slots empty: it keeps only the state region and the device
#                          secret) -> boot.scr from the virtio disk -> booti -> Bulkhead -> the bundle

BOOT_CMD    := Boards/$(BOARD_DIR)/boot.cmd
BOOT_DIR    := $(dir $(KERNEL_ELF))boot
BOOT_DISK   := $(BOOT_DIR)/disk.img
BOOT_BUNDLE ?= $(BUNDLE)
# The flash of the chain: empty slots, the state region and a device secret (made on first use).
CHAIN_FLASH := $(BOOT_DIR)/flash.img
CHAIN_QEMU_FLAGS := -M virt,aclint=on -cpu rv64 -smp $(SMP) -m $(RAM_SIZE) -nographic -bios default \
                    -device loader,file=$(UBOOT_BIN),addr=0x80200000,force-raw=on \
                    -drive if=pflash,unit=1,format=raw,file=$(CHAIN_FLASH) \
                    -drive if=none,id=bootdisk,format=raw,file=$(BOOT_DISK) -device virtio-blk-device,drive=bootdisk

.PHONY: boot-disk run-uboot-chain
boot-disk: $(BOOT_DISK)

$(BOOT_DISK): $(BOOT_CMD) $(KERNEL_BIN) $(BOOT_BUNDLE) Tools/boot/mkbootdisk.sh
	Tools/boot/mkbootdisk.sh $(BOOT_CMD) $(KERNEL_BIN) $(BOOT_BUNDLE) $@

$(CHAIN_FLASH): | tool
	@mkdir -p $(dir $@)
	$(CLI) flash $@ --reset-state --create
	$(CLI) provision $@

run-uboot-chain: deps kernel uboot-guest boot-disk $(CHAIN_FLASH)
	$(QEMU) $(CHAIN_QEMU_FLAGS)
