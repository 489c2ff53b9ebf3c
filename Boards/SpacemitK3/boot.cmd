# Bulkhead on a SpacemiT K3 board: U-Boot boot script (hush). UNTESTED ON HARDWARE: written from
# SpacemiT's public U-Boot 2022.10 tree (the k3 configuration and its k3.env environment); its
# logic was run once by hand on QEMU virt (-m 8G, the vendor variables set by a wrapper script).
#   mkimage -A riscv -O linux -T script -C none -d boot.cmd boot.scr
# The vendor U-Boot has no distro boot (bootcmd is `run autoboot`, its own scheme) and reads GPT
# partition tables only. Copy boot.scr, bulkhead.bin (make BOARD=spacemit-k3) and bundle.bin into
# the "bootfs" partition of the board's image (eMMC, SD card, NVMe or UFS), then at the U-Boot
# prompt (README "Booting on a board"):
#   setenv bulkhead_boot 'load ${bootfs_devname} ${boot_devnum}:${bootfs_part} 0x130000000 boot.scr && source 0x130000000'
#   setenv bootcmd 'run bulkhead_boot'; saveenv
# (0x130000000: the vendor environment sets no scriptaddr; this lies clear of what is loaded below.)
# The vendor U-Boot only reads GPT, so `make boot-disk`'s MBR image does not suit this board.
# bootfs_devname, boot_devnum and bootfs_part are set by the vendor U-Boot at start-up for the
# medium it booted from; with distro-style variables (devtype, devnum, distro_bootpart) those win.
if test -n "${devtype}"; then
    setenv bootfs_devname ${devtype}; setenv boot_devnum ${devnum}; setenv bootfs_part ${distro_bootpart}
fi
echo "Bulkhead boot script: ${bootfs_devname} ${boot_devnum}:${bootfs_part}"

# The vendor environment: RAM from 0x100000000 (U-Boot's from 0x102000000, after the firmware's
# 32 MiB), kernel_addr_r 0x110000000, ramdisk_addr_r 0x120000000, fdt_addr_r 0x128000000. booti may
# move the image to U-Boot's RAM base + text_offset; the hypervisor runs wherever it lands,
# places its shared pool and 48 MiB staging area right after itself, and copies the bundle from
# ramdisk_addr_r into staging before it verifies it.
load ${bootfs_devname} ${boot_devnum}:${bootfs_part} ${kernel_addr_r} bulkhead.bin || exit
load ${bootfs_devname} ${boot_devnum}:${bootfs_part} ${ramdisk_addr_r} bundle.bin || exit
# Kept now: ${filesize} changes with the next load.
setenv bulkhead_initrd ${ramdisk_addr_r}:${filesize}

# The device tree: bulkhead.dtb in bootfs when there is one, else the board's Linux tree the
# vendor environment picks (detect_dtb sets dtb_name from the board's product name), else the
# tree U-Boot runs with.
setenv bulkhead_fdt ${fdtcontroladdr}
if load ${bootfs_devname} ${boot_devnum}:${bootfs_part} ${fdt_addr_r} bulkhead.dtb; then
    setenv bulkhead_fdt ${fdt_addr_r}
else
    run detect_dtb
    if test -n "${dtb_name}" && load ${bootfs_devname} ${boot_devnum}:${bootfs_part} ${fdt_addr_r} ${dtb_name}; then
        setenv bulkhead_fdt ${fdt_addr_r}
    fi
fi
booti ${kernel_addr_r} ${bulkhead_initrd} ${bulkhead_fdt}
echo "Bulkhead boot script: booti failed"
