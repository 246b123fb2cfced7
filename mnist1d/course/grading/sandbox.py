"""Seal one submission's process off from everything it does not need:
Linux Landlock, resource limits and, when grading as root, an
unprivileged user, applied by the process to itself before any student code
runs.

A small ctypes layer over the three Landlock system calls rather than PyPI's
``landlock`` (1.0.0.dev5, alpha): that binding covers the file system only,
not TCP (Landlock ABI 4) nor signal and abstract-socket scoping (ABI 6).

:func:`policy` (in the grader) says what a submission may touch: read the
Python environment, the interpreter and system libraries; read and write one
folder. :func:`enter` (in the submission's process, while it has one thread)
applies it, for good: Landlock is inherited by every process the submission
starts and cannot be lifted.
"""

import ctypes
import errno
import json
import os
import platform
import resource
import site
import sys
import sysconfig
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "Policy",
    "SandboxUnavailable",
    "abi_version",
    "check",
    "enter",
    "environment_paths",
    "exposed",
    "kill_orphans",
    "kill_user",
    "policy",
    "set_subreaper",
]

# system calls added since Linux 5.1 have one number on every architecture
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER, PR_SET_SECUREBITS = 38, 36, 28
PR_SET_PDEATHSIG = 1

# file-system rights, bit by bit, with the ABI that introduced them
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
# ABI 1 has 13 rights; 2 adds REFER, 3 TRUNCATE, 5 IOCTL_DEV (one bit each)
FS_RIGHTS = {1: 13, 2: 14, 3: 15, 4: 15}
FS_TRUNCATE = 1 << 14
FS_FILE_ONLY = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE
READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
NET_TCP = 1 | 2  # bind and connect
SCOPE_ALL = 1 | 2  # abstract unix sockets and signals

# read-only, beyond the Python environment: shared libraries, the loader's
# cache, CPU and memory facts numpy and torch look up, time zones
SYSTEM_READ = [
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/lib",
    "/lib64",
    "/usr/share/zoneinfo",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/fonts",
    "/proc",
    "/sys/devices/system/cpu",
    "/sys/fs/cgroup",
    "/dev/urandom",
    "/dev/random",
    "/dev/zero",
]
DEVICES_RW = ["/dev/null"]

# when grading as root, each parallel slot runs as its own unprivileged user,
# so the process limit counts one submission's processes only
UID_BASE = 0x5EED0000


class SandboxUnavailable(RuntimeError):
    """This machine cannot sandbox a submission (no Linux Landlock)."""


@dataclass
class Policy:
    """What one submission's process may do.

    Attributes
    ----------
    read : list of str
        Paths (folders or files) it may read and execute, nothing more.
    write : list of str
        Folders it may read, write and delete in.
    limits : dict
        ``resource`` limit name (``"RLIMIT_NPROC"``) -> value.
    uid : int or None
        The unprivileged user to become when started as root.
    cpus : list of int or None
        The CPU cores it may run on (its share of the machine).
    parent : int or None
        The grader's pid: the process ends when the grader does.
    """

    read: list
    write: list
    limits: dict = field(default_factory=dict)
    uid: int = None
    cpus: list = None
    parent: int = None

    def to_json(self):
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text):
        return cls(**json.loads(text))


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def abi_version():
    """The Landlock ABI this kernel offers: 0 where there is none."""
    if platform.system() != "Linux" or platform.machine() not in (
        "x86_64",
        "aarch64",
    ):
        return 0
    syscall = _libc().syscall
    syscall.restype = ctypes.c_long
    abi = syscall(_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    return max(int(abi), 0)


def check():
    """The Landlock ABI, or raise :class:`SandboxUnavailable` with one line
    that says why and what to do."""
    abi = abi_version()
    if abi == 0:
        where = f"{platform.system()} {platform.release()}"
        raise SandboxUnavailable(
            f"cannot sandbox submissions: this system ({where}) offers no "
            "Linux Landlock (kernel 5.13+ with landlock in the lsm= boot "
            "list); grade on such a machine, or pass --no-sandbox to run "
            "students' code unconfined"
        )
    return abi


# mnist1d/, which a submission imports (grading/ -> course/ -> mnist1d/)
PACKAGE_DIR = Path(__file__).resolve().parents[2]


def environment_paths():
    """Folders the Python environment lives in: the interpreter, its
    standard library and every site-packages, and this package."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    paths.update(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib"))
    paths.update(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    paths.update(site.getsitepackages())
    paths.add(str(Path(sys.executable).resolve().parent))
    paths.add(str(PACKAGE_DIR))  # an editable install
    return sorted(p for p in paths if os.path.exists(p))


def policy(folder, timeout, memory_gb, file_gb, slot=0, cpus=None):
    """The :class:`Policy` of one submission that runs in ``folder``.

    ``timeout`` (seconds of CPU per core it may use), ``memory_gb`` (address
    space), ``file_gb`` (largest file it may write) set its limits; ``slot``
    (0, 1, ... for parallel submissions) picks its user when run as root.
    """
    limits = {
        "RLIMIT_NPROC": 256,  # a fork bomb stops here; threads count too
        "RLIMIT_FSIZE": int(file_gb * 2**30),
        "RLIMIT_AS": int(memory_gb * 2**30),
        "RLIMIT_CPU": int(timeout * len(cpus or [0]) + 10),
        "RLIMIT_CORE": 0,
    }
    read = environment_paths() + [p for p in SYSTEM_READ if os.path.exists(p)]
    uid = UID_BASE + slot if os.geteuid() == 0 else None
    write = [str(folder)] + DEVICES_RW
    return Policy(read, write, limits, uid, cpus, os.getpid())


def exposed(paths, pol):
    """The first of ``paths`` a submission under ``pol`` could read (the
    bundle must not lie inside the environment), or None."""
    for path in paths:
        path = Path(path).resolve()
        for allowed in pol.read:
            if path == Path(allowed) or Path(allowed) in path.parents:
                return str(path)
    return None


def enter(pol):
    """Apply ``pol`` to this process, for good. Call it while the process
    has one thread (Landlock binds the calling thread and its future
    children), before any untrusted code runs."""
    for name, value in pol.limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))
    if pol.cpus:
        os.sched_setaffinity(0, pol.cpus)
    if os.geteuid() == 0 and pol.uid is not None:
        _become(pol.uid)
    # after _become, which clears it: a grader that dies takes this along,
    # and one that died before this line is seen by the parent's pid
    _prctl(PR_SET_PDEATHSIG, 9)
    if pol.parent is not None and os.getppid() != pol.parent:
        os._exit(1)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _landlock(pol)
    # orphans of what the submission starts stay its own while it runs, so
    # the grader ends them with it, not with a classmate running alongside
    set_subreaper(True)


def _prctl(option, value):
    if _libc().prctl(option, ctypes.c_ulong(value), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in ("eff", "perm", "inh")]


def _become(uid):
    """Run as ``uid``, with no capabilities, but read files as root (the
    interpreter may live under /root, mode 700; Landlock decides what).

    RLIMIT_NPROC is never enforced for uid 0 nor for holders of
    CAP_SYS_RESOURCE/CAP_SYS_ADMIN: the real uid must change. The file-system
    uid stays 0 so the environment remains readable; with no capabilities
    and the securebits locked, nothing can win root back.
    """
    libc = _libc()
    # keep capabilities across setresuid (dropped below), never regain them
    _prctl(PR_SET_SECUREBITS, 0x2F)  # NOROOT, NO_SETUID_FIXUP, locked
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    libc.setfsuid(0)
    libc.setfsgid(0)
    head, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
    if libc.capset(ctypes.byref(head), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    for cap in range(64):  # the bounding set: nothing for exec to grant
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP; EINVAL past last
    if os.getuid() != uid or libc.setfsuid(-1) != 0:
        raise OSError(errno.EPERM, f"could not become uid {uid}")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("fs", ctypes.c_uint64),
        ("net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]


def _landlock(pol):
    abi = check()
    fs = (1 << FS_RIGHTS.get(abi, 16)) - 1
    attr = _RulesetAttr(fs, NET_TCP if abi >= 4 else 0)
    attr.scoped = SCOPE_ALL if abi >= 6 else 0
    # older kernels reject the fields they do not know: pass only theirs
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    syscall = _libc().syscall
    syscall.restype = ctypes.c_long
    ruleset = syscall(_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for path in pol.read:
            _allow(syscall, ruleset, path, READ)
        for path in pol.write:
            _allow(syscall, ruleset, path, fs)
        if syscall(_RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)


def _allow(syscall, ruleset, path, access):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        if not os.path.isdir(path):
            access &= FS_FILE_ONLY  # rights on a file are a file's only
        rule = _PathBeneath(access, fd)
        if syscall(
            _ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0
        ):
            raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
    finally:
        os.close(fd)


def set_subreaper(on):
    """Make this process (un)adopt the orphans of its descendants, so that
    what a submission leaves behind can be found and ended."""
    _prctl(PR_SET_CHILD_SUBREAPER, int(bool(on)))


def kill_orphans(keep):
    """End and reap every child of this process whose pid is not in
    ``keep``: what dead submissions left behind, adopted by
    :func:`set_subreaper`. Returns how many."""
    ended = 0
    for _ in range(100):  # each round ends what the last one forked
        found = [pid for pid in _children() if pid not in keep]
        if not found:
            return ended
        for pid in found:
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                ended += 1
            except (ProcessLookupError, ChildProcessError):
                pass
    return ended


def kill_user(uid):
    """SIGKILL every process of ``uid`` (a slot's user, when grading as
    root), wherever it hides in the process tree: one kill(-1) from a child
    that becomes ``uid``. The kernel sends it to all of them at once, and
    none can fork with a SIGKILL pending, so none escapes."""
    pid = os.fork()
    if pid == 0:  # only system calls here: other threads' locks may be held
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, 9)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _children():
    me, pids = os.getpid(), []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: split after it
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            pids.append(int(entry.name))
    return pids
