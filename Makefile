# Bulkhead: build the hypervisor, the guests and the bundle; run, test, bench.
#   make run [CONFIG=path/to/config.toml]   boot a configuration on QEMU virt from flash (default: the demo)
#   make run-linux                          Debian's Linux beside Swift guests (Guests/linux.toml)
#   make run-uboot                          Debian's U-Boot beside heartbeat (Tests/qemu/configs/uboot.toml)
#   make run-uboot-chain                    OpenSBI -> U-Boot -> boot.scr -> booti -> Bulkhead (make boot-disk)
#   make test                               host unit tests, tool tests, QEMU integration tests, fuzzing
#   make bench                              instruction counts, sizes, Linux boot time

SWIFT_BIN ?= $(dir $(shell command -v swiftc 2>/dev/null || echo /opt/swift/usr/bin/swiftc))
SWIFTC    := $(SWIFT_BIN)swiftc
CLANG     := $(SWIFT_BIN)clang
LLD       := $(SWIFT_BIN)ld.lld
OBJCOPY   := $(SWIFT_BIN)llvm-objcopy
QEMU      ?= qemu-system-riscv64
BUILD     ?= build
CONFIG    ?= Guests/demo.toml
RAM_SIZE  ?= 1G
SMP       ?= 8
OPT       ?= -Osize

# Bundles are signed with KEY.key (KEY.pub verifies). Default: a development key pair made on
# first use by `bulkhead keygen`; for a real device set KEY to your own (docs/bundle-format.md).
DEV_KEY          := $(BUILD)/keys/dev
KEY              ?= $(DEV_KEY)
SECURITY_VERSION ?= 0

# Embedded Swift for bare-metal RV64: soft-float lp64, no heap, no runtime symbols after gc.
ARCH_FLAGS     := -Xcc -mcmodel=medany -Xcc -march=rv64imac_zicsr_zifencei -Xcc -mabi=lp64
EMBEDDED_FLAGS := -target riscv64-none-none-eabi -enable-experimental-feature Embedded -wmo $(OPT) \
                  -parse-as-library -no-allocations $(ARCH_FLAGS) \
                  -Xfrontend -function-sections -Xfrontend -disable-stack-protector
CLANG_FLAGS    := --target=riscv64-unknown-elf -mcmodel=medany -march=rv64imac_zicsr_zifencei_h -mabi=lp64 \
                  -ffreestanding -fno-builtin -nostdlib -Os -ffunction-sections -fdata-sections

CORE_SRCS := $(shell find Kernel/Core -name '*.swift' | sort)
CORE_DIR  := $(BUILD)/riscv/core
CORE_OBJ  := $(CORE_DIR)/BulkheadCore.o
CORE_MOD  := $(CORE_DIR)/BulkheadCore.swiftmodule

.PHONY: all
all: kernel guests

# The portable Core as an Embedded module, shared by the hypervisor and the guests.
# swiftc keeps an unchanged object even when flags change, so delete it first.
# Core's instruction scheduling favours register pressure: the default schedulers hoisted all 50
# limb products of a field multiplication ahead of their sums and spilled a dozen of them. With
# the machine scheduler off and the hybrid (register-pressure aware) DAG scheduler, Ed25519 verify
# is 15% faster, SHA-512 9%, and Core's .text 4 KB smaller (docs/ed25519.md, "Code generation").
CORE_FLAGS := -Xllvm -enable-misched=false -Xllvm -pre-RA-sched=list-hybrid
$(CORE_OBJ): $(CORE_SRCS) Makefile
	@mkdir -p $(CORE_DIR)
	@rm -f $@
	$(SWIFTC) $(EMBEDDED_FLAGS) $(CORE_FLAGS) -module-name BulkheadCore -emit-module -emit-module-path $(CORE_MOD) \
	    -c $(CORE_SRCS) -o $@
# Depend on $(CORE_OBJ), not on this: make does not see a recipe-less target change.
$(CORE_MOD): $(CORE_OBJ)

-include Guests/guests.mk
-include Guests/linux/linux.mk
-include Guests/uboot/uboot.mk

# ---- The hypervisor ----------------------------------------------------------------------------
# BOARD picks the board data compiled in (Boards/<dir>/): what a device tree cannot say, such as
# which flash holds the bundle slots and the state region. Everything else comes from the tree
# at boot, so one image per board; other boards' images go to build/boards/<board>/.
BOARD ?= qemu-virt
BOARD_DIR_qemu-virt      := QEMUVirt
BOARD_DIR_spacemit-k3    := SpacemitK3
BOARD_DIR_eswin-eic7700x := EswinEIC7700X
BOARD_DIR := $(BOARD_DIR_$(BOARD))
ifeq ($(BOARD_DIR),)
$(error unknown BOARD "$(BOARD)": use qemu-virt, spacemit-k3 or eswin-eic7700x)
endif
ARCH_DIR     := Kernel/Arch/RISCV64
KERNEL_SRCS  := $(sort $(wildcard $(ARCH_DIR)/*.swift Kernel/Boot/*.swift Boards/Common/*.swift Boards/$(BOARD_DIR)/*.swift))
KERNEL_ASM   := $(ARCH_DIR)/entry.S $(ARCH_DIR)/trap.S
KERNEL_C     := $(ARCH_DIR)/mem.c
ifeq ($(BOARD),qemu-virt)
KDIR         := $(BUILD)/kernel
KERNEL_ELF   := $(BUILD)/bulkhead.elf
else
KDIR         := $(BUILD)/boards/$(BOARD)/kernel
KERNEL_ELF   := $(BUILD)/boards/$(BOARD)/bulkhead.elf
endif
KERNEL_BIN   := $(KERNEL_ELF:.elf=.bin)
# Where the image is linked; it runs anywhere in RAM (entry.S relocates itself). QEMU virt's
# OpenSBI jumps here through the flash's entry stub.
KERNEL_LINK_BASE := 0x80200000
KERNEL_OBJS  := $(KDIR)/kernel.o $(KERNEL_ASM:$(ARCH_DIR)/%.S=$(KDIR)/%.o) $(KDIR)/mem.o \
                $(KDIR)/sha512_zbb.o $(KDIR)/sha512_zknh.o $(CORE_OBJ)

.PHONY: kernel FORCE
kernel: $(KERNEL_ELF) $(KERNEL_BIN)
FORCE:

# swiftc silently drops inline asm that fails to assemble: compile the headers with clang first.
$(KDIR)/asm-guard.stamp: $(ARCH_DIR)/include/csr.h $(ARCH_DIR)/include/hart.h
	@mkdir -p $(KDIR)
	printf '#include "csr.h"\n#include "hart.h"\nvoid guard(void){csr_write_hgatp(csr_read_hgatp());arch_hfence_gvma_all();arch_hfence_vvma_all();arch_hfence_vvma_asid(1);(void)arch_hlv_bu(0);(void)arch_hlv_d(0);arch_hsv_b(0,0);arch_hsv_d(0,0);(void)arch_sbi_call(0,0,0,0,0,0,0,0);csr_write_vstimecmp(0);}\n' \
	    | $(CLANG) $(CLANG_FLAGS) -Werror -I $(ARCH_DIR)/include -x c -c - -o $(KDIR)/asm-guard.o
	@touch $@

# The trust anchors built into the image: TRUST_KEYS may sign bundles, REVOKED_KEYS never.
# Default: the development key that `make` creates (see Bundles below); set both for a product.
TRUST_KEYS   ?= $(KEY).pub
REVOKED_KEYS ?=
ANCHORS_SWIFT := $(KDIR)/TrustAnchors.swift
# Regenerated on every make (the CLI rewrites it only when the key lists changed), so that
# TRUST_KEYS/REVOKED_KEYS given on the command line always reach the image. The CLI reads the key
# files, as every other command does (a keygen .pub file or an SPKI PEM public key).
$(ANCHORS_SWIFT): $(TRUST_KEYS) $(REVOKED_KEYS) FORCE | tool
	@mkdir -p $(KDIR)
	$(CLI) key trust-anchors $@ --trust $(TRUST_KEYS) $(if $(REVOKED_KEYS),--revoke $(REVOKED_KEYS))

$(KDIR)/kernel.o: $(KERNEL_SRCS) $(ANCHORS_SWIFT) $(CORE_OBJ) $(KDIR)/asm-guard.stamp $(ARCH_DIR)/include/*.h
	@rm -f $@
	$(SWIFTC) $(EMBEDDED_FLAGS) $(KERNEL_DEFINES) -Xcc -march=rv64imac_zicsr_zifencei_h -module-name Bulkhead \
	    -I $(CORE_DIR) -I $(ARCH_DIR)/include -c $(KERNEL_SRCS) $(ANCHORS_SWIFT) -o $@

$(KDIR)/%.o: $(ARCH_DIR)/%.S $(ARCH_DIR)/include/layout.h Makefile
	@mkdir -p $(KDIR)
	$(CLANG) $(CLANG_FLAGS) -I $(ARCH_DIR)/include -DKERNEL_LINK_BASE=$(KERNEL_LINK_BASE) -c $< -o $@

# SHA-512's compression function for harts with Zbb, and with Zknh too; the boot installs one when
# the device tree lists the extension (Kernel/Boot/Acceleration.swift). Optimised for speed.
$(KDIR)/sha512_zbb.o: $(ARCH_DIR)/sha512_compress.c Makefile
	@mkdir -p $(KDIR)
	$(CLANG) $(CLANG_FLAGS) -O2 -march=rv64imac_zicsr_zifencei_zbb -DSHA512_COMPRESS_NAME=sha512_compress_zbb -c $< -o $@
$(KDIR)/sha512_zknh.o: $(ARCH_DIR)/sha512_compress.c Makefile
	@mkdir -p $(KDIR)
	$(CLANG) $(CLANG_FLAGS) -O2 -march=rv64imac_zicsr_zifencei_zbb_zknh -DSHA512_COMPRESS_NAME=sha512_compress_zknh -c $< -o $@

$(KDIR)/mem.o: $(ARCH_DIR)/mem.c
	@mkdir -p $(KDIR)
	$(CLANG) $(CLANG_FLAGS) -c $< -o $@

# A position-independent executable whose only dynamic relocations are R_RISCV_RELATIVE (-z text:
# none in code), applied by entry.S when the image runs away from KERNEL_LINK_BASE.
$(KERNEL_ELF): $(KERNEL_OBJS) Linker/kernel.ld
	$(LLD) -m elf64lriscv --gc-sections -pie --no-dynamic-linker -z text --defsym=KERNEL_LINK_BASE=$(KERNEL_LINK_BASE) \
	    -T Linker/kernel.ld $(KERNEL_OBJS) -o $@

# The same image as a raw binary with the RISC-V Linux Image header: what U-Boot's `booti` starts
# ("Booting on a board" in the README).
$(KERNEL_BIN): $(KERNEL_ELF)
	$(OBJCOPY) -O binary $< $@

# ---- Host tools, bundle, flash, run -----------------------------------------------------------
# The bundle goes into slot A of the bundle flash (QEMU's pflash bank 1, docs/flash-layout.md).
# The flash image keeps the hypervisor's state region across runs (the anti-rollback floor):
# `make flash-reset` brings back the factory state. With bank 1 attached, QEMU 7.2 starts S-mode
# at the flash's entry stub, so the hypervisor ELF is placed by QEMU's loader, not by -kernel.
CLI        := .build/debug/bulkhead
BUNDLE     := $(BUILD)/bundle.bin
FLASH      := $(BUILD)/flash.img
QEMU_FLAGS := -M virt,aclint=on -cpu rv64 -smp $(SMP) -m $(RAM_SIZE) -nographic -bios default \
              -device loader,file=$(KERNEL_ELF) -drive if=pflash,unit=1,format=raw,file=$(FLASH)
DEB_PACKAGES := qemu-system-misc device-tree-compiler binutils-riscv64-unknown-elf cpio e2fsprogs u-boot-tools

.PHONY: deps tool bundle flash flash-reset run test test-host test-qemu bench clean
# Installs the Debian packages the build, tests and bench need when any is missing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install -q pytest
	@python3 -c "import cryptography" >/dev/null 2>&1 || python3 -m pip install -q cryptography

tool:
	swift build --product bulkhead

$(DEV_KEY).key: | tool
	$(CLI) keygen -o $(DEV_KEY)
$(DEV_KEY).pub: $(DEV_KEY).key

$(BUNDLE): tool guests updates $(CONFIG) $(KEY).key
	@mkdir -p $(BUILD)
	$(CLI) pack $(CONFIG) -o $@ --key $(KEY).key --security-version $(SECURITY_VERSION) --ram-size $(RAM_SIZE) --harts $(SMP)

bundle: $(BUNDLE)

# ---- Partition updates for the demo (README "Updating one partition while the others run") ----
# Guests/demo.toml's `updater` partition carries the updates it applies in its initrd,
# $(DEMO_UPDATES): pack-update files laid end to end (Guests/updater). The demo's one update is
# heartbeat v2 (build/guests/heartbeat-v2.bin, security version 2), signed with the bundle's key.
#
# Breaking a build cycle: pack-update loads the whole of demo.toml, so every image and initrd it
# names must exist, this list included; yet the list is made of what pack-update writes. An update
# is bound to its target's policy digest (heartbeat's index, record, channels and devices:
# docs/bundle-format.md "The policy digest"), which no other partition's image or initrd enters.
# So the update packed while the updater's initrd is a stand-in is the very same update. The
# recipe writes the stand-in when there is no list yet (an empty list: one zero word, which the
# updater reads as "no updates"), packs the update against demo.toml with heartbeat v2 as the
# image (--image), then writes the real list over the stand-in (deleting it if packing failed).
UPDATES_DIR  := $(BUILD)/updates
DEMO_UPDATES := $(UPDATES_DIR)/demo-updater.img
.PHONY: updates
updates: $(DEMO_UPDATES)
$(DEMO_UPDATES): $(GDIR)/heartbeat-v2.bin Guests/demo.toml $(KEY).key | tool guests
	@mkdir -p $(UPDATES_DIR)
	[ -f $@ ] || printf '\000\000\000\000\000\000\000\000' > $@
	$(CLI) pack-update Guests/demo.toml --partition heartbeat --image $(GDIR)/heartbeat-v2.bin --security-version 2 \
	    --key $(KEY).key -o $(UPDATES_DIR)/heartbeat-v2.update --ram-size $(RAM_SIZE) --harts $(SMP) || { rm -f $@; exit 1; }
	cp $(UPDATES_DIR)/heartbeat-v2.update $@

# Writes the bundle into slot A (creating the image, with its entry stub, on first use) and
# gives the device a random secret the first time (QEMU's stand-in for OTP; docs/keys.md).
flash: $(BUNDLE)
	$(CLI) flash $(FLASH) $(BUNDLE) --slot a --create
	@$(CLI) flash-info $(FLASH) --json | python3 -c 'import json, sys; sys.exit(not json.load(sys.stdin)["result"]["deviceSecret"].startswith("provisioned"))' \
	    || $(CLI) provision $(FLASH)

flash-reset: tool
	$(CLI) flash $(FLASH) --reset-state --create

run: deps kernel flash
	$(QEMU) $(QEMU_FLAGS)

# U-Boot's boot chain: make boot-disk, make run-uboot-chain (Boards/boot.mk).
include Boards/boot.mk

test: deps test-host linux-test test-qemu fuzz

test-host:
	swift test

# The images for the other boards (build/boards/<board>/bulkhead.bin; README "Boards"). The QEMU
# tests boot the SpacemiT K3 one on QEMU virt as a board without a flash driver.
.PHONY: board-kernels
board-kernels:
	$(MAKE) kernel BOARD=spacemit-k3
	$(MAKE) kernel BOARD=eswin-eic7700x

# A second image that trusts the development key but also lists it as revoked (for the QEMU tests).
REVOKED_TEST_ELF := $(BUILD)/bulkhead-revoked-dev.elf
.PHONY: kernel-revoked-dev
kernel-revoked-dev: $(DEV_KEY).pub
	$(MAKE) kernel KDIR=$(BUILD)/kernel-revoked-dev KERNEL_ELF=$(REVOKED_TEST_ELF) REVOKED_KEYS=$(DEV_KEY).pub

# A test image that provokes faults in the hypervisor on a guest's request (Kernel/Boot/FaultInjection.swift)
# and checks the lock order on every lock it takes (Kernel/Boot/SpinLock.swift).
FAULTS_TEST_ELF := $(BUILD)/bulkhead-faults.elf
.PHONY: kernel-faults
kernel-faults:
	$(MAKE) kernel KDIR=$(BUILD)/kernel-faults KERNEL_ELF=$(FAULTS_TEST_ELF) KERNEL_DEFINES="-D BULKHEAD_FAULT_INJECTION -D BULKHEAD_LOCK_CHECKS"

test-qemu: kernel kernel-revoked-dev kernel-faults guests tool updates linux-guest uboot-guest board-kernels
	python3 -m pytest -v Tests/qemu
	@echo "The IPC, keys, devices, foundation and update tests again, under the lock-order-checking test kernel:"
	BULKHEAD_KERNEL=$(FAULTS_TEST_ELF) python3 -m pytest -q Tests/qemu/test_ipc.py Tests/qemu/test_keys.py \
	    Tests/qemu/test_devices.py Tests/qemu/test_foundation.py Tests/qemu/test_update.py

# ---- Linux beside the Swift guests (Guests/linux.toml; README "Running Linux ...") ------------
# The bundle (about 32 MiB with the kernel) is larger than a flash slot (12 MiB), so QEMU's loader
# hands it over in RAM at the staging area, where the hypervisor verifies it like a flash bundle
# (Kernel/Core/Bundle/PreloadedBundle.swift); the flash keeps the state region.
LINUX_CONFIG  ?= Guests/linux.toml
LINUX_BUNDLE  := $(BUILD)/linux-bundle.bin
LINUX_FLASH   := $(BUILD)/linux-flash.img
STAGING_ADDRESS := 0x81000000
LINUX_QEMU_FLAGS := -M virt -cpu rv64 -smp 4 -m 1G -nographic -bios default -device loader,file=$(KERNEL_ELF) \
                    -device loader,file=$(LINUX_BUNDLE),addr=$(STAGING_ADDRESS),force-raw=on \
                    -drive if=pflash,unit=1,format=raw,file=$(LINUX_FLASH) $(LINUX_DEVICES)
.PHONY: run-linux linux-bundle
$(BUILD)/linux/Image: $(LINUX_IMAGE)
	@mkdir -p $(dir $@)
	ln -sf $(LINUX_IMAGE) $@
$(LINUX_BUNDLE): tool guests linux-guest $(BUILD)/linux/Image $(LINUX_CONFIG) $(KEY).key
	$(CLI) pack $(LINUX_CONFIG) -o $@ --key $(KEY).key --security-version $(SECURITY_VERSION) --ram-size 1G --harts 4
linux-bundle: $(LINUX_BUNDLE)

run-linux: deps kernel $(LINUX_BUNDLE)
	@[ -f $(LINUX_FLASH) ] || $(CLI) flash $(LINUX_FLASH) --reset-state --create
	$(QEMU) $(LINUX_QEMU_FLAGS)

# Instruction counts and sizes, then Linux's boot time and a 64 MiB download under Bulkhead and on bare QEMU.
bench: deps kernel guests tool updates linux-guest
	python3 Tests/bench/bench.py
	python3 Tests/bench/text_report.py
	LINUX_IMAGE="$(LINUX_IMAGE)" LINUX_INITRAMFS="$(LINUX_INITRAMFS)" python3 Tests/bench/linux_boot.py
	LINUX_NET_RUNS=1 LINUX_IMAGE="$(LINUX_IMAGE)" LINUX_INITRAMFS="$(LINUX_INITRAMFS)" LINUX_DISK="$(LINUX_DISK)" \
	    python3 Tests/bench/linux_net.py

clean:
	rm -rf $(BUILD)

# ---- Fuzzing: the bundle, device-tree and partition update parsers under libFuzzer (bounded time) --
FUZZ_SECONDS ?= 30
FUZZ_BIN     := $(BUILD)/fuzz/fuzz-parsers
$(FUZZ_BIN): $(CORE_SRCS) $(wildcard Tests/Fuzz/*.swift)
	@mkdir -p $(BUILD)/fuzz/corpus
	$(SWIFTC) -sanitize=fuzzer,address -parse-as-library -O -module-name FuzzParsers \
	    $(CORE_SRCS) $(wildcard Tests/Fuzz/*.swift) -o $@

.PHONY: fuzz
# Seeds: the demo bundle, QEMU's device tree, an update of the demo's "pong" and a few SBI calls,
# each behind its selector byte.
FUZZ_UPDATE := $(BUILD)/fuzz/update-pong.bin
$(FUZZ_UPDATE): tool guests updates $(CONFIG) $(KEY).key
	@mkdir -p $(BUILD)/fuzz
	@rm -f $@
	$(CLI) pack-update $(CONFIG) --partition pong -o $@ --key $(KEY).key --security-version 1 --ram-size $(RAM_SIZE) --harts $(SMP)

fuzz: $(FUZZ_BIN) $(BUNDLE) $(FUZZ_UPDATE)
	@mkdir -p $(BUILD)/fuzz/seeds
	@(printf '\000'; cat $(BUNDLE)) > $(BUILD)/fuzz/seeds/bundle-demo
	@(printf '\001'; cat Tests/CoreTests/Fixtures/qemu-virt-smp4.dtb) > $(BUILD)/fuzz/seeds/dtb-qemu-virt
	@(printf '\002'; cat $(FUZZ_UPDATE)) > $(BUILD)/fuzz/seeds/update-pong
	@printf '\003\012\001\001\010\001\000\000\000\000\000\000\000\000\100\000\000\012\002\000\000\000\000\000\012\003\000\000' > $(BUILD)/fuzz/seeds/sbi-calls
	SWIFT_BACKTRACE=enable=no $(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -print_final_stats=1 $(BUILD)/fuzz/corpus $(BUILD)/fuzz/seeds

-include Kernel/Monitor/monitor.mk
