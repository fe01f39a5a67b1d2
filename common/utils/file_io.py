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
import shutil
import struct
import sys
import time

import numpy as np

from common.utils.errors import PoseNetError

try:
    import orjson           # the fast JSON encoder (requirements.txt); json.dump without it
except ImportError:         # pragma: no cover
    orjson = None

_FLOAT64 = np.dtype(np.float64)     # native byte order

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


def format_bytes(size):
    """`size` bytes as a short human figure: `512 B`, `3.4 MB`, `1.2 GB`."""
    for unit in ('B', 'KB', 'MB', 'GB', 'TB'):
        if size < 1000 or unit == 'TB':
            return f'{size} {unit}' if unit == 'B' else f'{size:.1f} {unit}'
        size /= 1000.


def free_space(path):
    """Free bytes on the file system of `path` (its nearest existing folder), or None."""
    folder = osp.abspath(path)
    while not osp.isdir(folder) and osp.dirname(folder) != folder:
        folder = osp.dirname(folder)
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def write_error(path, error):
    """The one user-facing error for a failed write of `path` (an OSError: full disk,
    read-only or missing folder, quota, a file where a folder should be):
    `cannot write PATH: <reason> (<free space> free)`."""
    reason = error.strerror or str(error) if isinstance(error, OSError) else str(error)
    if isinstance(error, (FileExistsError, NotADirectoryError)):
        blocker = osp.abspath(path)         # a file where a folder of the path should be
        while not osp.exists(blocker) and osp.dirname(blocker) != blocker:
            blocker = osp.dirname(blocker)
        if osp.exists(blocker) and not osp.isdir(blocker):
            reason = f'{blocker} is a file, not a folder'
    free = free_space(path)
    room = 'free space unknown' if free is None else f'{format_bytes(free)} free'
    return PoseNetError(f"cannot write {path}: {reason} ({room})")


def make_writable_dir(folder):
    """Create `folder` (and its parents) unless it exists and check that a file can be written
    in it; returns True when it was created. Any failure (a file in the way, read-only, full)
    is the `write_error` PoseNetError, before any work is done."""
    created = not osp.isdir(folder)
    try:
        os.makedirs(folder, exist_ok=True)
        os.remove(_create_temp(folder, 'write-check'))
    except OSError as e:
        raise write_error(folder, e) from None
    return created


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; on success it replaces `path`, else it is removed.

    The temporary file is `.<name>.<8 hex digits>.tmp` in the same folder; one left behind by a
    killed process (SIGKILL) is removed by `remove_stale_temp_files`. An OSError while the
    folder is made, the file written or renamed (full disk, read-only folder, quota) becomes
    the `write_error` PoseNetError; `path` then holds what it held before.
    """
    folder = osp.dirname(osp.abspath(path))
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        tmp = _create_temp(folder, osp.basename(path))
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        raise write_error(path, e) from None
    finally:
        if tmp is not None and osp.exists(tmp):
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


def _plain(obj):
    """numpy arrays and scalars as the lists and numbers of their `.tolist()` (JSON `default`)."""
    if isinstance(obj, (np.ndarray, np.generic)):
        return obj.tolist()
    raise TypeError(f'Object of type {type(obj).__name__} is not JSON serializable')


def _fast_json(obj):
    """`obj` as JSON bytes from orjson when they parse to what `json.dump` would have written,
    else None: no NaN / inf (orjson writes null for them, so any null falls back), ASCII only
    (json escapes the rest), string keys, integers within 64 bits, no dates or dataclasses."""
    if orjson is None:
        return None
    try:
        data = orjson.dumps(obj, default=_plain, option=orjson.OPT_SERIALIZE_NUMPY |
                            orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS)
    except TypeError:
        return None
    return data if b'null' not in data and data.isascii() else None


def _write_fast(f, obj, chunk=4096):
    """Write `obj` to binary file `f` with orjson (a long list `chunk` items at a time, so no
    second copy of the whole file is held); False when `json.dump` must write it instead."""
    if not (isinstance(obj, list) and len(obj) > chunk):
        data = _fast_json(obj)
        return data is not None and f.write(data) is not None
    f.write(b'[')
    for start in range(0, len(obj), chunk):
        data = _fast_json(obj[start:start + chunk])
        if data is None:
            return False
        f.write(data[1:-1] if start == 0 else b',' + data[1:-1])
    return f.write(b']') is not None


def write_json(path, obj, **kwargs):
    """Write `obj` as JSON to `path` atomically.

    numpy arrays and scalars may appear anywhere in `obj`; they are written as their `.tolist()`
    would be (float64 values exactly, as shortest round-trip decimals; float32 / float16 arrays
    as the shortest decimals of their own precision). Without keyword arguments the fast
    encoder (orjson) writes compact JSON that parses to the same objects as `json.dump`
    would; whatever it would write differently goes through
    `json.dump`, as does every call with keyword arguments (`indent`, `separators`, ...).
    """
    with atomic_path(path) as tmp:
        if not kwargs:
            with open(tmp, 'wb') as f:
                if _write_fast(f, obj):
                    return
        kwargs.setdefault('default', _plain)
        with open(tmp, 'w') as f:
            json.dump(obj, f, **kwargs)


def write_text(path, text):
    """Write a string to `path` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            f.write(text)


def _mat5_layout(shape, name_len):
    """`(prefix, suffix)` bytes of a MAT 5 float64 variable of `shape` whose name has
    `name_len` characters: the element is `prefix + name + suffix + column-major values`.
    miMATRIX tag, array flags (mxDOUBLE_CLASS, nzmax 0), int32 dimensions, the name (miINT8; a
    small element up to 4 bytes), the values' miDOUBLE tag; every part padded to 8 bytes.
    None where the fast writer does not apply (under 2 dimensions, no values, no name)."""
    ndim = len(shape)
    if ndim < 2 or 0 in shape or name_len == 0:
        return None
    size = 8 * int(np.prod(shape))
    dims = struct.pack(f'<II{ndim}i{4 * (ndim % 2)}x', 5, 4 * ndim, *shape)
    if name_len <= 4:
        name_tag, name_room = struct.pack('<I', name_len << 16 | 1), 4
    else:
        name_tag, name_room = struct.pack('<II', 1, name_len), -(-name_len // 8) * 8
    length = 16 + len(dims) + len(name_tag) + name_room + 8 + size
    return (struct.pack('<IIIIII', 14, length, 6, 8, 6, 0) + dims + name_tag,
            bytes(name_room - name_len) + struct.pack('<II', 9, size))


def _write_mat5(f, variables, chunk=2048):
    """Write to binary file `f` the bytes `scipy.io.savemat(f, variables)` writes (MAT 5,
    uncompressed, little-endian), `chunk` variables at a time; returns False as soon as a name
    is not a non-empty ASCII string (or starts with '_') or a value not a native float64 array
    of at least 2 dimensions holding at least one value (and on big-endian machines): then
    `f` holds an unfinished file for the caller to rewrite."""
    if sys.byteorder != 'little':
        return False
    f.write(f'MATLAB 5.0 MAT-file Platform: {os.name}, Created on: {time.asctime()}'
            .encode('latin1').ljust(116, b'\0')[:116] + bytes(8) + b'\x00\x01IM')
    parts, layouts = [], {}
    for name, value in variables.items():
        if not (type(value) is np.ndarray and value.dtype is _FLOAT64 and type(name) is str and
                name.isascii() and name[:1] != '_'):
            return False
        layout = layouts.get((value.shape, len(name)))
        if layout is None:
            layout = layouts[value.shape, len(name)] = _mat5_layout(value.shape, len(name))
            if layout is None:
                return False
        parts.append(layout[0] + name.encode() + layout[1])
        parts.append(value.tobytes('F'))
        if len(parts) >= 2 * chunk:
            f.write(b''.join(parts))
            parts.clear()
    f.write(b''.join(parts))
    return True


def savemat(path, variables):
    """`scipy.io.savemat(path, variables)` atomically; float64 arrays (the result files) are
    written directly, in the same bytes, without scipy's per-variable overhead."""
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            if not _write_mat5(f, variables):
                import scipy.io
                f.seek(0)
                f.truncate()
                scipy.io.savemat(f, variables)


def torch_save(path, obj):
    """`torch.save(obj, path)` atomically. Written through a Python file object, so that a
    full disk is the OSError `atomic_path` reports (torch's own writer raises a RuntimeError
    `unexpected pos ...` instead)."""
    import torch
    with atomic_path(path) as tmp:
        try:
            with open(tmp, 'wb') as f:
                torch.save(obj, f)
        except RuntimeError as e:   # torch's zip writer fails again on closing after an OSError
            if isinstance(e.__context__, OSError):
                raise e.__context__ from None
            raise
