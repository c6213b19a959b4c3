#!/bin/sh
# The guest's first process: mount the host's root (shared read-only over
# virtio-9p), give it writable scratch folders (not /root: the kernel cache
# may live there), and hand over to the run script that the host left in the
# output share.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules.order); do insmod "/lib/$m" || echo "init: insmod $m failed"; done
opts=trans=virtio,version=9p2000.L,msize=1048576
if ! mount -t 9p -o "$opts,cache=loose" hostroot /newroot; then
  echo "init: cannot mount the host root"; echo o > /proc/sysrq-trigger
fi
# etc/modprobe.d too: daxctl migrate-device-model installs its file there.
for d in tmp run var/tmp var/log etc/modprobe.d; do mount -t tmpfs tmpfs "/newroot/$d"; done
mount -t 9p -o "$opts" out /newroot/mnt
for d in proc sys dev; do mount --move "/$d" "/newroot/$d"; done
exec switch_root /newroot /bin/sh /mnt/run.sh
