# Bulkhead's secure-monitor glue inside OpenSBI's generic platform (copied to
# platform/generic/bulkhead/ by Kernel/Monitor/monitor.mk, which passes BULKHEAD_MONITOR_INCLUDE
# and BULKHEAD_MONITOR_LIB on OpenSBI's make command line).
platform-objs-y += bulkhead/bulkhead_glue.o
platform-cflags-y += -I$(BULKHEAD_MONITOR_INCLUDE)
platform-ldflags-y += $(BULKHEAD_MONITOR_LIB)
carray-platform_override_modules-y += bulkhead_qemu_virt
carray-sbi_ecall_exts-y += ecall_bulkhead_monitor
