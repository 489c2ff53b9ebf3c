# Guests: the guest runtime (GuestRuntime) and the sample guests, as ELF and raw images.
#   make guests      build/guests/NAME.{elf,bin}     linked at 0x80000000 (guest-physical RAM base)
#   make guests-s    build/guests-s/NAME.{elf,bin}   linked at 0x80200000 to run as an S-mode kernel
#                    under plain OpenSBI: qemu-system-riscv64 -M virt -bios default -kernel build/guests-s/hello.elf
# Included by the top-level Makefile, which defines SWIFTC, CLANG, LLD, OBJCOPY, EMBEDDED_FLAGS,
# CLANG_FLAGS, BUILD and the BulkheadCore module ($(CORE_OBJ), $(CORE_MOD) in $(CORE_DIR)).

GUESTS       := hello heartbeat intruder bench ping pong ipccheck ipcfuzz ipcvictim ipcbench roprobe vault tenant rtc devprobe hvfault stress \
                updater
# Variants: another guest's sources built again with a compile-time flag, as NAME:SOURCE:FLAG.
# The heartbeat images that Guests/updater installs as partition updates (Guests/heartbeat/main.swift).
GUEST_VARIANTS := heartbeat-v2:heartbeat:HEARTBEAT_V2 heartbeat-nocommit:heartbeat:HEARTBEAT_NOCOMMIT \
                  heartbeat-fault:heartbeat:HEARTBEAT_FAULT
VARIANT_NAMES  := $(foreach v,$(GUEST_VARIANTS),$(firstword $(subst :, ,$(v))))
GUEST_BASE   := 0x80000000
GUEST_S_BASE := 0x80200000
GRT_SRC      := Guests/Runtime
GRT_INCLUDE  := $(GRT_SRC)/include
SDK_DIR      := Guests/SDK
GRT_SRCS     := $(sort $(wildcard $(GRT_SRC)/*.swift))
GDIR         := $(BUILD)/guests
GOBJ         := $(GDIR)/obj
GSDIR        := $(BUILD)/guests-s
GRT_OBJ      := $(GOBJ)/GuestRuntime.o
GRT_MOD      := $(GOBJ)/GuestRuntime.swiftmodule
GRT_OBJS     := $(GOBJ)/crt0.o $(GOBJ)/mem.o $(GRT_OBJ) $(CORE_OBJ)
GUEST_SWIFT_FLAGS := $(EMBEDDED_FLAGS) -I $(CORE_DIR) -I $(GRT_INCLUDE)

.PHONY: guests guests-s
guests: $(GOBJ)/sdk-guard.stamp $(foreach g,$(GUESTS) $(VARIANT_NAMES),$(GDIR)/$(g).elf $(GDIR)/$(g).bin)
guests-s: $(foreach g,$(GUESTS),$(GSDIR)/$(g).elf $(GSDIR)/$(g).bin)

# swiftc silently drops inline asm that fails to assemble: compile every accessor with clang first
# (-DGUEST_INLINE= makes them ordinary functions, so all are emitted), at the -march Swift uses.
$(GOBJ)/asm-guard.stamp: $(GRT_INCLUDE)/guest_arch.h
	@mkdir -p $(GOBJ)
	echo | $(CLANG) $(CLANG_FLAGS) -march=rv64imac_zicsr_zifencei -Werror -DGUEST_INLINE= \
	    -I $(GRT_INCLUDE) -include guest_arch.h -x c -c - -o $(GOBJ)/asm-guard.o
	@touch $@

# The C guest SDK (Guests/SDK/bulkhead.h) under the same guard: once with every function emitted
# (-DBULKHEAD_INLINE=), once as guests include it (static inline), both with -Wall -Wextra -Werror.
$(GOBJ)/sdk-guard.stamp: $(SDK_DIR)/bulkhead.h
	@mkdir -p $(GOBJ)
	echo | $(CLANG) $(CLANG_FLAGS) -march=rv64imac_zicsr_zifencei -std=c11 -Wall -Wextra -Werror -DBULKHEAD_INLINE= \
	    -I $(SDK_DIR) -include bulkhead.h -x c -c - -o $(GOBJ)/sdk-guard.o
	printf '#include "bulkhead.h"\nint sdk_use(struct bulkhead_partition_info *i){return (int)bulkhead_partition_info(i, sizeof *i).error;}\n' \
	    | $(CLANG) $(CLANG_FLAGS) -march=rv64imac_zicsr_zifencei -std=c11 -Wall -Wextra -Werror \
	    -I $(SDK_DIR) -x c -c - -o $(GOBJ)/sdk-use.o
	@touch $@

# The runtime module. swiftc keeps an unchanged object even when flags change: delete it first.
$(GRT_OBJ): $(GRT_SRCS) $(CORE_MOD) $(GOBJ)/asm-guard.stamp $(GRT_INCLUDE)/* Guests/guests.mk
	@mkdir -p $(GOBJ)
	@rm -f $@
	$(SWIFTC) $(GUEST_SWIFT_FLAGS) -module-name GuestRuntime -emit-module -emit-module-path $(GRT_MOD) \
	    -c $(GRT_SRCS) -o $@
$(GRT_MOD): $(GRT_OBJ)

$(GOBJ)/%.o: $(GRT_SRC)/%.S
	@mkdir -p $(GOBJ)
	$(CLANG) $(CLANG_FLAGS) -c $< -o $@

# The freestanding memset/memcpy/memmove/memcmp are the hypervisor's own (one copy for both).
$(GOBJ)/mem.o: Kernel/Arch/RISCV64/mem.c
	@mkdir -p $(GOBJ)
	$(CLANG) $(CLANG_FLAGS) -c $< -o $@

$(GDIR)/%.bin: $(GDIR)/%.elf
	$(OBJCOPY) -O binary $< $@
$(GSDIR)/%.bin: $(GSDIR)/%.elf
	$(OBJCOPY) -O binary $< $@

# One guest: Guests/NAME/*.swift as module NAME, plus any Guests/NAME/*.S, linked at both bases.
# Its object depends on $(GRT_OBJ), not on the .swiftmodule: make does not see a recipe-less target change.
# Arguments: $(1) the output name, $(2) the source folder (also the module name; default $(1)), $(3)
# a -D flag or nothing: a plain guest is (NAME), a variant e.g. (heartbeat-v2, heartbeat, HEARTBEAT_V2).
define GUEST_template
$(1)_OBJS := $(GOBJ)/$(1).o $(patsubst Guests/$(or $(2),$(1))/%.S,$(GOBJ)/$(1)-%.o,$(wildcard Guests/$(or $(2),$(1))/*.S))

$(GOBJ)/$(1).o: $(wildcard Guests/$(or $(2),$(1))/*.swift) $(GRT_OBJ) $(CORE_OBJ)
	@mkdir -p $(GOBJ)
	@rm -f $$@
	$$(SWIFTC) $$(GUEST_SWIFT_FLAGS) -I $(GOBJ) $(if $(3),-D $(3)) -module-name $(or $(2),$(1)) \
	    -c $(wildcard Guests/$(or $(2),$(1))/*.swift) -o $$@

$(GOBJ)/$(1)-%.o: Guests/$(or $(2),$(1))/%.S
	@mkdir -p $(GOBJ)
	$$(CLANG) $$(CLANG_FLAGS) -c $$< -o $$@

$(GDIR)/$(1).elf: $$($(1)_OBJS) $(GRT_OBJS) Linker/guest.ld
	$$(LLD) -m elf64lriscv --gc-sections -T Linker/guest.ld --defsym=GUEST_BASE=$$(GUEST_BASE) \
	    $$($(1)_OBJS) $(GRT_OBJS) -o $$@

$(GSDIR)/$(1).elf: $$($(1)_OBJS) $(GRT_OBJS) Linker/guest.ld
	@mkdir -p $(GSDIR)
	$$(LLD) -m elf64lriscv --gc-sections -T Linker/guest.ld --defsym=GUEST_BASE=$(GUEST_S_BASE) \
	    $$($(1)_OBJS) $(GRT_OBJS) -o $$@
endef
$(foreach g,$(GUESTS),$(eval $(call GUEST_template,$(g))))
# Field N (1: name, 2: source folder, 3: flag) of a NAME:SOURCE:FLAG variant.
guest_variant_part = $(word $(1),$(subst :, ,$(2)))
$(foreach v,$(GUEST_VARIANTS),$(eval $(call GUEST_template,$(call guest_variant_part,1,$(v)),$(call guest_variant_part,2,$(v)),$(call guest_variant_part,3,$(v)))))

