# Bulkhead on QEMU virt: U-Boot boot script (hush), tested by Tests/qemu/test_boot_chain.py with
# Debian's U-Boot 2025.01 (qemu-riscv64_smode). Tools/boot/mkbootdisk.sh wraps it with
#   mkimage -A riscv -O linux -T script -C none -d boot.cmd boot.scr
# U-Boot's distro boot (bootcmd) finds /boot.scr on the disk's bootable partition and sets devtype,
# devnum, distro_bootpart and prefix (the directory boot.scr is in) before it runs the script.
echo "Bulkhead boot script: ${devtype} ${devnum}:${distro_bootpart}"

# The hypervisor goes to RAM base + text_offset (0x80200000), where booti would move it anyway:
# loaded at ${kernel_addr_r} (0x84000000) it prints "Moving Image from 0x84000000 to 0x80200000".
# Loading it there directly saves the copy and never touches the partitions' memory (the demo's
# start at 0x84000000). U-Boot has relocated itself to the top of RAM, so 0x80200000 is free.
setenv bulkhead_addr 0x80200000
# The bundle is the initrd: ${ramdisk_addr_r} (0x8c300000) is clear of the hypervisor, its staging
# area (0x81000000-0x84000000), the demo's partitions (0x84000000-0x85200000) and the Linux
# configuration's (0x90000000 and up) for a bundle of up to 48 MiB, the staging area's size.
# The hypervisor copies it into staging and verifies it there; booti leaves it where it is
# (initrd_high is all ones) and records its range in /chosen (linux,initrd-start/-end).
setenv bundle_addr ${ramdisk_addr_r}

load ${devtype} ${devnum}:${distro_bootpart} ${bulkhead_addr} ${prefix}bulkhead.bin || exit
load ${devtype} ${devnum}:${distro_bootpart} ${bundle_addr} ${prefix}bundle.bin || exit
# ${filesize} is the bundle's size (the last load). ${fdtcontroladdr}: the device tree U-Boot got
# from OpenSBI (QEMU's, with this machine's RAM size and harts); booti adds /chosen's initrd range.
booti ${bulkhead_addr} ${bundle_addr}:${filesize} ${fdtcontroladdr}
echo "Bulkhead boot script: booti failed"
