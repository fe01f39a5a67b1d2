"""Snapshots in the original release's format (compat).

`<model_dir>/snapshot_<epoch>.pth.tar` holds `{'epoch': int, 'network': state_dict,
'optimizer': state_dict}`. The original saved a `DataParallel` model, so its network keys start
with `module.`; we load keys with or without that prefix and save the prefixed form, so that the
original code loads our snapshots too.

Our snapshots carry one more key, `'model_settings'` (the original code ignores it): the plain
dict of settings the network was trained with (`network`, `resnet_type`, `input_shape`,
`output_shape`, `depth_dim`, `bbox_3d_shape`, `pixel_mean`, `pixel_std`, `joints_name`,
`flip_pairs`, `skeleton`), so that testing and inference take them from the snapshot instead of
needing the same `--cfg` again. Official snapshots have none.
"""
import glob
import os.path as osp
import pickle
import re
import warnings
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


def save_snapshot(path, epoch, model, optimizer=None, model_settings=None, run_settings=None):
    """Write a snapshot atomically; network keys carry the `module.` prefix. `model_settings`
    (a plain dict, see the module docstring) is stored under `'model_settings'`,
    `run_settings` (the training run's data sets and schedule, for `--continue`) under
    `'run_settings'`."""
    state = {
        'epoch': int(epoch),
        'network': add_prefix(unwrap(model).state_dict()),
        'optimizer': optimizer.state_dict() if optimizer is not None else {},
    }
    if model_settings is not None:
        state['model_settings'] = dict(model_settings)
    if run_settings is not None:
        state['run_settings'] = {k: (list(v) if isinstance(v, tuple) else v)
                                 for k, v in run_settings.items()}
    torch_save(path, state)
    return path


def load_reason(error):
    """Why `torch.load(weights_only=True)` refused a file, in one short phrase: torch's own
    text for a foreign pickle advises `weights_only=False`, which runs the file's code: that
    advice is never passed on, only the unpickler's reason."""
    text = str(error).strip()
    if 'Weights only load failed' in text:
        detail = text.split('WeightsUnpickler error:', 1)[-1].strip().splitlines()
        detail = detail[0].strip() if detail and 'weights_only' not in detail[0] else ''
        return 'not a file of tensors and plain values' + (f': {detail}' if detail else '')
    first = text.splitlines()[0] if text else 'corrupt file'
    return f'{type(error).__name__}: {first}'


def load_snapshot(path, map_location='cpu'):
    """Read a snapshot dict. Missing or unreadable files raise PoseNetError naming the path.

    Loads with `weights_only=True`: snapshots are made of tensors, numbers and plain containers.
    """
    if not osp.isfile(path):
        raise PoseNetError(f"snapshot not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')     # torch's notes on the pickle protocol
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError,
            KeyError, UnicodeDecodeError) as e:
        raise PoseNetError(f"snapshot {path} could not be read ({load_reason(e)}); "
                           "it is corrupt or not a PoseNet snapshot") from None
    if not isinstance(ckpt, dict) or 'network' not in ckpt:
        raise PoseNetError(f"snapshot {path} has no 'network' entry; it is not a PoseNet snapshot")
    return ckpt


def describe_mismatch(own, theirs, limit=3):
    """One line on how two state dicts differ: counts of missing / unexpected / reshaped keys
    and at most `limit` examples of each (never kilobytes of key names)."""
    missing = [k for k in own if k not in theirs]
    unexpected = [k for k in theirs if k not in own]
    reshaped = [f'{k} {tuple(theirs[k].shape)} vs {tuple(own[k].shape)}' for k in own
                if k in theirs and hasattr(theirs[k], 'shape') and
                tuple(theirs[k].shape) != tuple(own[k].shape)]
    parts = []
    for what, keys in (('missing', missing), ('unexpected', unexpected),
                       ('of another shape (snapshot vs model)', reshaped)):
        if keys:
            more = f', ... ({len(keys) - limit} more)' if len(keys) > limit else ''
            parts.append(f"{len(keys)} key(s) {what}: {', '.join(keys[:limit])}{more}")
    return '; '.join(parts)


def guess_architecture(state_dict):
    """A short description of the network a (prefix-free) state dict belongs to, read from its
    keys and shapes: e.g. `ResNet-50, 1344 output maps` (PoseNet: joints x depth bins)."""
    blocks = {k.split('.')[2] for k in state_dict if k.startswith('backbone.layer3.')}
    bottleneck = any(k.startswith('backbone.layer1.0.conv3') for k in state_dict)
    depth = {(2, False): 18, (6, False): 34, (6, True): 50, (23, True): 101,
             (36, True): 152}.get((len(blocks), bottleneck))
    parts = [f'ResNet-{depth}' if depth else 'an unknown backbone']
    final = state_dict.get('head.final_layer.weight')
    if final is not None:
        parts.append(f'{final.shape[0]} output maps (joints x depth bins)')
    if 'root.depth_layer.weight' in state_dict:
        parts.append('a RootNet head')
    return ', '.join(parts)


def load_network(model, state_dict, what='the snapshot'):
    """Load a snapshot's network state (keys with or without `module.`) into a bare or wrapped
    model. Mismatched keys or shapes raise one PoseNetError line naming at most a few keys."""
    target = unwrap(model)
    state_dict = strip_prefix(state_dict)
    problem = describe_mismatch(target.state_dict(), state_dict)
    if problem:
        raise PoseNetError(f"{what} does not fit this model: it holds "
                           f"{guess_architecture(state_dict)}, the model is "
                           f"{guess_architecture(target.state_dict())} (check resnet_type, "
                           f"depth_dim and the joint set); {problem}")
    target.load_state_dict(state_dict)
    return model


def snapshot_settings(ckpt):
    """The `'model_settings'` dict of a loaded snapshot, or None (official snapshots)."""
    settings = ckpt.get('model_settings')
    return dict(settings) if isinstance(settings, dict) else None


def find_snapshot_epochs(model_dir):
    """Sorted epochs of the `snapshot_<epoch>.pth.tar` files in `model_dir`."""
    epochs = []
    for p in glob.glob(osp.join(model_dir, 'snapshot_*.pth.tar')):
        m = _SNAPSHOT_RE.search(osp.basename(p))
        if m:
            epochs.append(int(m.group(1)))
    return sorted(epochs)
