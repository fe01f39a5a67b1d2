"""One run per output folder: a lock file holding the process id and host of its holder.

    lock = RunLock(osp.join(cfg.model_dir, 'train.lock'), 'training run')
    note = lock.acquire()      # PoseNetError naming the holder when another run holds it
    ...
    lock.release()

The lock file is created whole (written to a temporary file, then hard-linked to its name, which
fails when the name exists), so a second run never reads half a lock. A lock whose holder is gone
(same host, no process with that id) is stale: it is taken over and `acquire` returns a note
for the log. A lock of another host is never taken over (its process cannot be checked).
"""
import json
import os
import os.path as osp
import socket
import sys
import time

from common.utils.errors import PoseNetError
from common.utils.file_io import write_error


def process_alive(pid):
    """True when a process with id `pid` exists on this host (also one of another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # exists, belongs to someone else
        return True
    return True


def read_lock(path):
    """The `{'pid', 'host', 'started', 'command'}` dict of a lock file, or None when it cannot be
    read as one (removed meanwhile, or not a lock of this project)."""
    try:
        with open(path) as f:
            holder = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(holder, dict) or not isinstance(holder.get('pid'), int) or \
            isinstance(holder.get('pid'), bool):
        return None
    return holder


class RunLock:
    """The lock file `path` of the run kind `what` (e.g. 'training run'); `hint` ends the
    refusal (what the user can do instead)."""

    def __init__(self, path, what, hint=''):
        self.path = path
        self.what = what
        self.hint = hint
        self.held = False

    def _create(self):
        """Create the lock file with our pid and host; False when it exists already."""
        holder = {'pid': os.getpid(), 'host': socket.gethostname(),
                  'started': time.strftime('%Y-%m-%d %H:%M:%S'),
                  'command': ' '.join(sys.argv)[:300]}
        tmp = f'{self.path}.{os.getpid()}.new'
        try:
            os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
        except OSError as e:
            raise write_error(self.path, e) from None
        try:
            with open(tmp, 'w') as f:
                json.dump(holder, f)
            os.link(tmp, self.path)     # fails when the name exists: no half-written lock seen
            return True
        except FileExistsError:
            return False
        except OSError as e:
            raise write_error(self.path, e) from None
        finally:
            if osp.exists(tmp):
                os.remove(tmp)

    def acquire(self):
        """Take the lock. Returns None, or a note (one line for the log) when a stale lock of a
        killed run was taken over; another live holder is a PoseNetError naming it."""
        note = None
        for _ in range(3):      # a holder may release (or a stale lock be taken) meanwhile
            if self._create():
                self.held = True
                return note
            holder = read_lock(self.path)
            if holder is None:
                if osp.exists(self.path) and time.time() - osp.getmtime(self.path) > 10:
                    os.remove(self.path)        # unreadable and old: not a live lock
                    note = f'Removed the unreadable lock file {self.path}'
                else:
                    time.sleep(0.2)
                continue
            if holder.get('host') == socket.gethostname() and (
                    holder['pid'] == os.getpid() or not process_alive(holder['pid'])):
                # gone, or this very process (a run object of it that was never closed)
                self._remove_if(holder)
                note = (f"Took over the lock {self.path} of a {self.what} that is gone "
                        f"(pid {holder['pid']} on {holder['host']}, started "
                        f"{holder.get('started', '?')})")
                continue
            raise PoseNetError(
                f"{osp.dirname(self.path)} is in use by another {self.what} (pid "
                f"{holder['pid']} on host {holder.get('host', '?')}, started "
                f"{holder.get('started', '?')}; lock file {self.path}): wait for it to end or "
                f"stop it{self.hint}")
        raise PoseNetError(f"cannot take the lock {self.path}; remove it when no {self.what} "
                           "uses that folder")

    def _remove_if(self, holder):
        """Remove the lock file if it still holds `holder` (not a newer holder's)."""
        if read_lock(self.path) == holder:
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass

    def release(self):
        """Remove the lock file when this process holds it."""
        if self.held:
            holder = read_lock(self.path)
            if holder is not None and holder.get('pid') == os.getpid():
                self._remove_if(holder)
            self.held = False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
