# Bulkhead: build the hypervisor, the guests and the bundle; run, test, bench.
#   make run [CONFIG=path/to/config.toml]   boot a configuration on QEMU virt (default: the demo)
#   make test                               host unit tests + QEMU integration tests
#   make bench                              instruction counts and sizes

SWIFT_BIN ?= $(dir $(shell command -v swiftc 2>/dev/null || echo /opt/swift/usr/bin/swiftc))
SWIFTC    := $(SWIFT_BIN)swiftc
CLANG     := $(SWIFT_BIN)clang
LLD       := $(SWIFT_BIN)ld.lld
OBJCOPY   := $(SWIFT_BIN)llvm-objcopy
QEMU      ?= qemu-system-riscv64
BUILD     ?= build
CONFIG    ?= Guests/demo.toml
RAM_SIZE  ?= 1G
SMP       ?= 4

# Embedded Swift for bare-metal RV64: soft-float lp64, no heap, no runtime symbols after gc.
ARCH_FLAGS     := -Xcc -mcmodel=medany -Xcc -march=rv64imac_zicsr_zifencei -Xcc -mabi=lp64
EMBEDDED_FLAGS := -target riscv64-none-none-eabi -enable-experimental-feature Embedded -wmo -Osize \
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
$(CORE_OBJ): $(CORE_SRCS) Makefile
	@mkdir -p $(CORE_DIR)
	@rm -f $@
	$(SWIFTC) $(EMBEDDED_FLAGS) -module-name BulkheadCore -emit-module -emit-module-path $(CORE_MOD) \
	    -c $(CORE_SRCS) -o $@
$(CORE_MOD): $(CORE_OBJ)

-include Guests/guests.mk

# ---- The hypervisor ----------------------------------------------------------------------------
ARCH_DIR     := Kernel/Arch/RISCV64
KERNEL_SRCS  := $(sort $(wildcard $(ARCH_DIR)/*.swift Kernel/Boot/*.swift Boards/Common/*.swift Boards/QEMUVirt/*.swift))
KERNEL_ASM   := $(ARCH_DIR)/entry.S $(ARCH_DIR)/trap.S
KERNEL_C     := $(ARCH_DIR)/mem.c
KDIR         := $(BUILD)/kernel
KERNEL_ELF   := $(BUILD)/bulkhead.elf
KERNEL_OBJS  := $(KDIR)/kernel.o $(KERNEL_ASM:$(ARCH_DIR)/%.S=$(KDIR)/%.o) $(KDIR)/mem.o $(CORE_OBJ)

.PHONY: kernel
kernel: $(KERNEL_ELF)

# swiftc silently drops inline asm that fails to assemble: compile the headers with clang first.
$(KDIR)/asm-guard.stamp: $(ARCH_DIR)/include/csr.h $(ARCH_DIR)/include/hart.h
	@mkdir -p $(KDIR)
	printf '#include "csr.h"\n#include "hart.h"\nvoid guard(void){csr_write_hgatp(csr_read_hgatp());arch_hfence_gvma_all();arch_hfence_vvma_all();(void)arch_sbi_call(0,0,0,0,0,0,0,0);csr_write_vstimecmp(0);}\n' \
	    | $(CLANG) $(CLANG_FLAGS) -Werror -I $(ARCH_DIR)/include -x c -c - -o $(KDIR)/asm-guard.o
	@touch $@

$(KDIR)/kernel.o: $(KERNEL_SRCS) $(CORE_MOD) $(KDIR)/asm-guard.stamp $(ARCH_DIR)/include/*.h
	@rm -f $@
	$(SWIFTC) $(EMBEDDED_FLAGS) -Xcc -march=rv64imac_zicsr_zifencei_h -module-name Bulkhead \
	    -I $(CORE_DIR) -I $(ARCH_DIR)/include -c $(KERNEL_SRCS) -o $@

$(KDIR)/%.o: $(ARCH_DIR)/%.S
	@mkdir -p $(KDIR)
	$(CLANG) $(CLANG_FLAGS) -c $< -o $@

$(KDIR)/mem.o: $(ARCH_DIR)/mem.c
	@mkdir -p $(KDIR)
	$(CLANG) $(CLANG_FLAGS) -c $< -o $@

$(KERNEL_ELF): $(KERNEL_OBJS) Linker/kernel.ld
	$(LLD) -m elf64lriscv --gc-sections -T Linker/kernel.ld $(KERNEL_OBJS) -o $@
