"""Snapshots in the original release's format (compat).

`<model_dir>/snapshot_<epoch>.pth.tar` holds `{'epoch': int, 'network': state_dict,
'optimizer': state_dict}`. The original saved a `DataParallel` model, so its network keys start
with `module.`; we load keys with or without that prefix and save the prefixed form, so that the
original code loads our snapshots too.
"""
import glob
import os.path as osp
import pickle
import re
import zipfile

import torch

from common.utils.errors import PoseNetError
from common.utils.file_io import torch_save

PREFIX = 'module.'
_SNAPSHOT_RE = re.compile(r'snapshot_(\d+)\.pth\.tar$')


def snapshot_path(model_dir, epoch):
    return osp.join(model_dir, f'snapshot_{epoch}.pth.tar')


def strip_prefix(state_dict, prefix=PREFIX):
    """State dict with `prefix` removed from every key that has it."""
    return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in state_dict.items()}


def add_prefix(state_dict, prefix=PREFIX):
    """State dict with `prefix` on every key (once)."""
    return {(k if k.startswith(prefix) else prefix + k): v for k, v in state_dict.items()}


def unwrap(model):
    """The bare module inside DataParallel / DistributedDataParallel wrappers."""
    while hasattr(model, 'module') and isinstance(model.module, torch.nn.Module):
        model = model.module
    return model


def save_snapshot(path, epoch, model, optimizer=None):
    """Write a snapshot atomically; network keys carry the `module.` prefix."""
    state = {
        'epoch': int(epoch),
        'network': add_prefix(unwrap(model).state_dict()),
        'optimizer': optimizer.state_dict() if optimizer is not None else {},
    }
    torch_save(path, state)
    return path


def load_snapshot(path, map_location='cpu'):
    """Read a snapshot dict. Missing or unreadable files raise PoseNetError naming the path.

    Loads with `weights_only=True`: snapshots are made of tensors, numbers and plain containers.
    """
    if not osp.isfile(path):
        raise PoseNetError(f"snapshot not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as e:
        raise PoseNetError(f"snapshot {path} could not be read ({type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else 'corrupt file'}); "
                           "it is corrupt or not a PoseNet snapshot") from None
    if not isinstance(ckpt, dict) or 'network' not in ckpt:
        raise PoseNetError(f"snapshot {path} has no 'network' entry; it is not a PoseNet snapshot")
    return ckpt


def load_network(model, state_dict, strict=True):
    """Load a snapshot's network state (keys with or without `module.`) into a bare or wrapped
    model. Mismatched keys or shapes raise PoseNetError."""
    target = unwrap(model)
    try:
        target.load_state_dict(strip_prefix(state_dict), strict=strict)
    except RuntimeError as e:
        first = str(e).splitlines()
        raise PoseNetError("the snapshot does not fit this model (check resnet_type, depth_dim and "
                           f"the joint set): {' '.join(l.strip() for l in first[:3])}") from None
    return model


def find_snapshot_epochs(model_dir):
    """Sorted epochs of the `snapshot_<epoch>.pth.tar` files in `model_dir`."""
    epochs = []
    for p in glob.glob(osp.join(model_dir, 'snapshot_*.pth.tar')):
        m = _SNAPSHOT_RE.search(osp.basename(p))
        if m:
            epochs.append(int(m.group(1)))
    return sorted(epochs)
