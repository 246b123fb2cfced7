"""Files written atomically: a reader sees the old file or the whole new one.

Every file the package writes (dataset caches, a submission's answers, a
gradebook, checks, benchmark results) goes through :func:`atomic_write`, so a
process stopped half-way never leaves a truncated file behind.
"""

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path, mode="w", **open_kwargs):
    """Open a temporary file beside ``path``; rename it onto ``path`` on exit.

    Parameters
    ----------
    path : str or Path
        The file to write; its folder is created if missing.
    mode : {"w", "wb"}
        Text or bytes.
    **open_kwargs
        Passed to :func:`open` (``newline=""`` for CSV, ``encoding``).

    Yields
    ------
    file
        Write to it. When the block ends normally the data is flushed to disk
        and the file renamed onto ``path`` (atomic on POSIX: same folder); when
        it raises, the temporary file is removed and ``path`` is untouched.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
