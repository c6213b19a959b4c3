"""Run the real ndctl tools (`cxl`, `daxctl`, `ndctl`) on a tree of ours.

The tree is copied into a tmpfs inside a private mount namespace and bound over
/sys and /dev there, so the tools read it as the machine's own. The copy is made
in an order that makes tmpfs list each directory in kernfs order, so the tools
print objects in the order they would on a real kernel. Needs root and unshare.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

_INNER = r'''
import json, os, stat, subprocess, sys, tempfile, time
sys.path.insert(0, os.environ["CXLTOOL_SRC"])
from cxltool.sysfs.kernfs import sort_key

src, cmds = sys.argv[1], json.loads(sys.argv[2])
work = tempfile.mkdtemp(prefix="cxltool-ns-")
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2g", "none", work], check=True)

# Learn whether this tmpfs lists newest-first or oldest-first.
probe = os.path.join(work, "probe"); os.mkdir(probe)
for n in ("a", "b"):
    open(os.path.join(probe, n), "w").close()
newest_first = os.listdir(probe) == ["b", "a"]
for n in ("a", "b"):
    os.unlink(os.path.join(probe, n))
os.rmdir(probe)

def copy(s, d):
    names = sorted(os.listdir(s), key=sort_key, reverse=newest_first)
    for n in names:
        sp, dp = os.path.join(s, n), os.path.join(d, n)
        st = os.lstat(sp)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(sp), dp)
        elif stat.S_ISDIR(st.st_mode):
            os.mkdir(dp); copy(sp, dp)
        elif stat.S_ISCHR(st.st_mode):
            os.mknod(dp, st.st_mode, st.st_rdev)
        else:
            with open(sp, "rb") as f, open(dp, "wb") as g:
                g.write(f.read())
            os.chmod(dp, stat.S_IMODE(st.st_mode))

for top in ("sys", "dev"):
    os.mkdir(os.path.join(work, top))
    if os.path.isdir(os.path.join(src, top)):
        copy(os.path.join(src, top), os.path.join(work, top))
subprocess.run(["mount", "--bind", os.path.join(work, "sys"), "/sys"], check=True)
subprocess.run(["mount", "--bind", os.path.join(work, "dev"), "/dev"], check=True)
out = []
for argv in cmds:
    with tempfile.TemporaryFile() as o, tempfile.TemporaryFile() as e:
        fa = [(os.POSIX_SPAWN_DUP2, o.fileno(), 1), (os.POSIX_SPAWN_DUP2, e.fileno(), 2)]
        t0 = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=fa)
        _, status, usage = os.wait4(pid, 0)
        secs = time.perf_counter() - t0
        o.seek(0); e.seek(0)
        out.append({"rc": os.waitstatus_to_exitcode(status), "stdout": o.read().decode(),
                    "stderr": e.read().decode(), "seconds": secs, "maxrss_kb": usage.ru_maxrss})
print(json.dumps(out))
'''


def unavailable_reason(tool: str = "cxl") -> str | None:
    """Why the real tools cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root for a private mount namespace"
    if shutil.which("unshare") is None:
        return "unshare(1) is not installed"
    if shutil.which(tool) is None:
        return f"the real {tool} is not installed (apt-get install ndctl daxctl)"
    return None


def run_real(tree: str, commands: list[list[str]]) -> list[tuple[int, str, str]]:
    """Run each command with the tree as the machine; (status, stdout, stderr) each."""
    return [(r["rc"], r["stdout"], r["stderr"]) for r in run_real_measured(tree, commands)]


def run_real_measured(tree: str, commands: list[list[str]]) -> list[dict]:
    """As run_real, with each command's wall time (`seconds`) and peak RSS (`maxrss_kb`)."""
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env = dict(os.environ, CXLTOOL_SRC=src)
    p = subprocess.run(
        ["unshare", "-m", "--propagation", "private", sys.executable, "-c", _INNER,
         os.path.abspath(tree), json.dumps(commands)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    if p.returncode != 0:
        raise RuntimeError(f"namespace run failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout)
