"""Atomic file writing: a result or snapshot is either complete on disk or absent.

Each writer writes to a temporary file in the destination folder and renames it into place
(`os.replace` is atomic on one file system), so an interrupted run never leaves half a file.
"""
import contextlib
import fnmatch
import json
import os
import os.path as osp
import re
import secrets

# temporary files are '.<target name>.<8 random characters>.tmp' next to the target
# (8 lower-case letters, digits or '_': our own names and tempfile.mkstemp's of older versions)
_TEMP_NAME = re.compile(r'^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$')


def _create_temp(folder, name):
    """Create a new empty temporary file for target `name` in `folder`; return its path.

    The file is created with mode 0666 less the process umask, as a plain `open` would, so
    the finished file has the permissions the user expects (mkstemp would make it 0600).
    """
    for _ in range(100):
        tmp = osp.join(folder, f'.{name}.{secrets.token_hex(4)}.tmp')
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f'could not create a temporary file for {name} in {folder}')


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; on success it replaces `path`, else it is removed.

    The temporary file is `.<name>.<8 hex digits>.tmp` in the same folder; one left behind by a
    killed process (SIGKILL) is removed by `remove_stale_temp_files`.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = _create_temp(folder, osp.basename(path))
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def remove_stale_temp_files(folder, pattern='*'):
    """Remove the temporary files `atomic_path` left in `folder` for targets named like
    `pattern` (a glob, e.g. 'snapshot_*.pth.tar') when a process was killed while writing.

    Only names of the exact form `.<target>.<8 characters>.tmp` with `<target>` matching
    `pattern` are touched, nothing else. Call it when no other process can be writing into
    `folder` (e.g. at the start of a training run, rank 0 only). Returns the removed paths.
    A missing folder is fine (nothing to remove).
    """
    removed = []
    if not osp.isdir(folder):
        return removed
    for entry in sorted(os.listdir(folder)):
        m = _TEMP_NAME.match(entry)
        path = osp.join(folder, entry)
        if m and fnmatch.fnmatchcase(m.group('target'), pattern) and osp.isfile(path) \
                and not osp.islink(path):
            os.remove(path)
            removed.append(path)
    return removed


def write_json(path, obj, **kwargs):
    """Write `obj` as JSON to `path` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            json.dump(obj, f, **kwargs)


def write_text(path, text):
    """Write a string to `path` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            f.write(text)


def savemat(path, variables):
    """`scipy.io.savemat(path, variables)` atomically."""
    import scipy.io
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            scipy.io.savemat(f, variables)


def torch_save(path, obj):
    """`torch.save(obj, path)` atomically."""
    import torch
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
