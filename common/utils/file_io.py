"""Atomic file writing: a result or snapshot is either complete on disk or absent.

Each writer writes to a temporary file in the destination folder and renames it into place
(`os.replace` is atomic on one file system), so an interrupted run never leaves half a file.
"""
import contextlib
import json
import os
import os.path as osp
import tempfile


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; on success it replaces `path`, else it is removed."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.', suffix='.tmp', dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


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
