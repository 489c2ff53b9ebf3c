# Bulkhead on an ESWIN EIC7700X board (SiFive HiFive Premier P550, Milk-V Megrez): U-Boot boot
# script (hush). UNTESTED ON HARDWARE: written from ESWIN's public U-Boot (the hifive_premier_p550
# configuration); run once by hand on QEMU virt, whose RAM also starts at 0x80000000 and whose
# U-Boot has the same kernel_addr_r.
#   mkimage -A riscv -O linux -T script -C none -d boot.cmd boot.scr
# The vendor U-Boot boots with `bootflow scan -b` over boot_targets (mmc1 = the SD card, usb,
# ahci, mmc0 = the eMMC); its script boot method finds /boot.scr or /boot/boot.scr on a
# partition of the boot medium and sets devtype, devnum, distro_bootpart and prefix. Put boot.scr,
# bulkhead.bin (make BOARD=eswin-eic7700x) and bundle.bin in the same directory there
# (make boot-disk BOARD=eswin-eic7700x BOOT_BUNDLE=... makes an SD card image).
echo "Bulkhead boot script: ${devtype} ${devnum}:${distro_bootpart}"

# The vendor environment: kernel_addr_r 0x84000000, ramdisk_addr_r 0x88300000, fdt_addr_r
# 0x88000000, initrd_high all ones (the initrd stays where it is loaded). booti moves the image
# to RAM base + text_offset (0x80200000), as Debian's U-Boot does on QEMU virt; the hypervisor
# then places its shared pool and staging area (0x81000000-0x84000000) right after itself, and
# copies the bundle from ramdisk_addr_r into staging before it verifies it.
load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} ${prefix}bulkhead.bin || exit
load ${devtype} ${devnum}:${distro_bootpart} ${ramdisk_addr_r} ${prefix}bundle.bin || exit
# Kept now: ${filesize} changes with the next load.
setenv bulkhead_initrd ${ramdisk_addr_r}:${filesize}

# The device tree: bulkhead.dtb beside boot.scr when there is one (e.g. the Linux tree
# eic7700-hifive-premier-p550.dtb, renamed), else the tree U-Boot runs with.
setenv bulkhead_fdt ${fdtcontroladdr}
if load ${devtype} ${devnum}:${distro_bootpart} ${fdt_addr_r} ${prefix}bulkhead.dtb; then
    setenv bulkhead_fdt ${fdt_addr_r}
fi
booti ${kernel_addr_r} ${bulkhead_initrd} ${bulkhead_fdt}
echo "Bulkhead boot script: booti failed"
