#!/bin/sh
# The guest's first process: mount the host's root (shared read-only over
# virtio-9p), give it writable scratch space, and hand over to the run script
# that the host left in the output share (mounted on /run/out).
#
# Only /run and /etc/modprobe.d are covered: the host's /tmp, /var or /root may
# hold the checkout, its virtual environment or the kernel cache, which the
# guest must see. /run must not show the host's udev socket, and daxctl
# migrate-device-model writes into /etc/modprobe.d. Scratch files go to
# /run/tmp (the run script points TMPDIR there).
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
for d in run etc/modprobe.d; do mount -t tmpfs tmpfs "/newroot/$d"; done
mkdir -p /newroot/run/tmp /newroot/run/out
mount -t 9p -o "$opts" out /newroot/run/out
for d in proc sys dev; do mount --move "/$d" "/newroot/$d"; done
exec switch_root /newroot /bin/sh /run/out/run.sh
