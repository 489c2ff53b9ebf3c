# Bulkhead's secure monitor (docs/monitor.md): a library linked into OpenSBI, which verifies and
# measures the next stage (the hypervisor) before entering it.
#   make monitor       build/monitor/libbulkhead_monitor.a (Core + Kernel/Monitor, Embedded Swift),
#                      build/monitor/fw_jump.elf (OpenSBI 1.6, generic platform, clang, with the
#                      glue Kernel/Monitor/opensbi) and build/monitor/bulkhead.signed (the
#                      hypervisor image behind its signed header), build/monitor/probe.bin (the C
#                      S-mode probe) and build/guests-s/monitoros.bin (the Swift plain-OS payload
#                      that uses the key services)
#   make run-monitor   the demo bundle booted through the monitor (quit: Ctrl-A then X)
# Included at the end of the top-level Makefile (needs BUILD, CORE_*, EMBEDDED_FLAGS, KEY,
# TRUST_KEYS, REVOKED_KEYS, KERNEL_BIN, FLASH, QEMU).

MON_DIR        := $(BUILD)/monitor
MON_LIB        := $(MON_DIR)/libbulkhead_monitor.a
MON_SRCS       := $(sort $(wildcard Kernel/Monitor/*.swift))
MON_ANCHORS    := $(MON_DIR)/TrustAnchors.swift
MON_FW         := $(MON_DIR)/fw_jump.elf
MON_SIGNED     := $(MON_DIR)/bulkhead.signed
MON_PROBE      := $(MON_DIR)/probe.bin
MON_OS         := $(GSDIR)/monitoros.bin
OPENSBI_CACHE  ?= $(HOME)/.cache/bulkhead/opensbi
OPENSBI_VERSION := 1.6
OPENSBI_TARBALL := $(OPENSBI_CACHE)/opensbi_$(OPENSBI_VERSION).orig.tar.gz
OPENSBI_SRC    := $(MON_DIR)/opensbi-$(OPENSBI_VERSION)
OPENSBI_OUT    := $(MON_DIR)/opensbi-build
# Where the firmware runs and where it enters the next stage (QEMU virt). The FDT goes to the next
# stage where the previous stage put it (FW_JUMP_FDT_OFFSET cleared: the generic platform's
# default would copy it into the hypervisor's staging area).
MON_FW_TEXT_START := 0x80000000
MON_NEXT_STAGE    := 0x80200000
MON_HEADER_ADDR   := 0x801ff000
# The hypervisor's security version in its next-stage header (the monitor's anti-rollback floor).
MON_SECURITY_VERSION ?= 0
MON_QEMU_FLAGS := -M virt -cpu rv64 -smp $(SMP) -m $(RAM_SIZE) -nographic -bios $(MON_FW) \
                  -device loader,file=$(MON_SIGNED),addr=$(MON_HEADER_ADDR),force-raw=on \
                  -drive if=pflash,unit=1,format=raw,file=$(FLASH)

.PHONY: monitor monitor-lib opensbi-fetch run-monitor
monitor: $(MON_LIB) $(MON_FW) $(MON_SIGNED) $(MON_PROBE) $(MON_OS)
monitor-lib: $(MON_LIB)

# The same trust anchors as the hypervisor's (bulkhead key trust-anchors; regenerated only on change).
$(MON_ANCHORS): $(TRUST_KEYS) $(REVOKED_KEYS) FORCE | tool
	@mkdir -p $(MON_DIR)
	$(CLI) key trust-anchors $@ --trust $(TRUST_KEYS) $(if $(REVOKED_KEYS),--revoke $(REVOKED_KEYS))

# Core's Embedded object is reused as is: it has no CSR access and no SBI calls, and its flags
# (medany, rv64imac, lp64, no allocations) suit M-mode firmware built with lp64.
$(MON_DIR)/Monitor.o: $(MON_SRCS) $(MON_ANCHORS) $(CORE_OBJ)
	@mkdir -p $(MON_DIR)
	@rm -f $@
	$(SWIFTC) $(EMBEDDED_FLAGS) -module-name BulkheadMonitor -I $(CORE_DIR) -c $(MON_SRCS) $(MON_ANCHORS) -o $@

$(MON_DIR)/MonitorEntry.o: Kernel/Monitor/MonitorEntry.S
	@mkdir -p $(MON_DIR)
	$(CLANG) $(CLANG_FLAGS) -c $< -o $@

# memset/memcpy/memmove/memcmp (which Swift code calls) are the hypervisor's own (Arch's mem.c,
# compiled once for the kernel): OpenSBI 1.6 defines only its sbi_mem* functions.
$(MON_LIB): $(MON_DIR)/Monitor.o $(MON_DIR)/MonitorEntry.o $(KDIR)/mem.o $(CORE_OBJ)
	@rm -f $@
	$(SWIFT_BIN)llvm-ar rcs $@ $^

$(OPENSBI_TARBALL):
	@OPENSBI_CACHE="$(OPENSBI_CACHE)" Tools/opensbi/fetch-opensbi.sh
opensbi-fetch:
	@OPENSBI_CACHE="$(OPENSBI_CACHE)" Tools/opensbi/fetch-opensbi.sh

$(OPENSBI_SRC)/.extracted: $(OPENSBI_TARBALL)
	@rm -rf $(OPENSBI_SRC) && mkdir -p $(MON_DIR)
	tar -xzf $< -C $(MON_DIR)
	@touch $@

# OpenSBI's own make builds incrementally; the glue is copied in as platform/generic/bulkhead/ and
# the firmware relinked whenever the library or the glue changed. Run without this make's
# command-line variables (MAKEFLAGS), which would override OpenSBI's.
$(MON_FW): $(MON_LIB) $(OPENSBI_SRC)/.extracted Kernel/Monitor/opensbi/bulkhead_glue.c Kernel/Monitor/opensbi/objects.mk \
           Kernel/Monitor/include/bulkhead_monitor.h Kernel/Monitor/monitor.mk
	@mkdir -p $(OPENSBI_SRC)/platform/generic/bulkhead
	cp Kernel/Monitor/opensbi/bulkhead_glue.c Kernel/Monitor/opensbi/objects.mk $(OPENSBI_SRC)/platform/generic/bulkhead/
	@rm -f $(OPENSBI_OUT)/platform/generic/firmware/fw_jump.elf
	env -u MAKEFLAGS -u MFLAGS -u MAKEOVERRIDES -u MAKELEVEL -u CROSS_COMPILE PATH="$(SWIFT_BIN):$$PATH" \
	    make -s -C $(OPENSBI_SRC) O=$(abspath $(OPENSBI_OUT)) PLATFORM=generic LLVM=1 PLATFORM_RISCV_XLEN=64 \
	    FW_TEXT_START=$(MON_FW_TEXT_START) FW_JUMP_ADDR=$(MON_NEXT_STAGE) FW_JUMP_FDT_OFFSET= FW_PAYLOAD=n FW_DYNAMIC=n \
	    BULKHEAD_MONITOR_INCLUDE=$(abspath Kernel/Monitor/include) BULKHEAD_MONITOR_LIB=$(abspath $(MON_LIB))
	cp $(OPENSBI_OUT)/platform/generic/firmware/fw_jump.elf $@

# The hypervisor's raw image behind its signed header, loaded at MON_HEADER_ADDR.
$(MON_SIGNED): $(KERNEL_BIN) $(KEY).key Tools/opensbi/sign-next-stage.py FORCE
	@mkdir -p $(MON_DIR)
	python3 Tools/opensbi/sign-next-stage.py $(KERNEL_BIN) --key $(KEY).key --load-address $(MON_NEXT_STAGE) \
	    --security-version $(MON_SECURITY_VERSION) -o $@

# The S-mode probe the tests boot as the next stage instead of the hypervisor (Kernel/Monitor/probe).
$(MON_PROBE): Kernel/Monitor/probe/start.S Kernel/Monitor/probe/probe.c Kernel/Monitor/include/bulkhead_monitor.h
	@mkdir -p $(MON_DIR)/probe
	$(CLANG) $(CLANG_FLAGS) -c Kernel/Monitor/probe/start.S -o $(MON_DIR)/probe/start.o
	$(CLANG) $(CLANG_FLAGS) -I Kernel/Monitor/include -c Kernel/Monitor/probe/probe.c -o $(MON_DIR)/probe/probe.o
	$(LLD) -m elf64lriscv --gc-sections -e _start -Ttext=$(MON_NEXT_STAGE) $(MON_DIR)/probe/start.o $(MON_DIR)/probe/probe.o \
	    -o $(MON_DIR)/probe/probe.elf
	$(OBJCOPY) -O binary $(MON_DIR)/probe/probe.elf $@

# The plain OS the key-service tests boot under the monitor (Guests/monitoros, a GuestRuntime
# program linked at the next-stage address; not in GUESTS: it is never a partition).
$(eval $(call GUEST_template,monitoros))

run-monitor: deps kernel monitor flash
	$(QEMU) $(MON_QEMU_FLAGS)

# The QEMU tests boot the monitor (Tests/qemu/test_monitor.py); make bench measures it.
test-qemu: monitor
bench: monitor
