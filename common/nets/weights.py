"""Pretrained torchvision weights: load them, or say in one line where to put the file.

Used for the ImageNet backbone weights (`resnet.py`) and the COCO person detector
(`detector.py`). torchvision keeps downloads in `$TORCH_HOME/hub/checkpoints/<file>` (the file
name is the basename of the weights entry's URL); without internet access the user downloads
that file on another machine and copies it there, or passes a local file.
"""
import os.path as osp
import pickle
import warnings
import zipfile

import torch

from common.utils.errors import PoseNetError

# what torch.load raises on a truncated or foreign file
DAMAGED_ERRORS = (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile,
                  ValueError, KeyError, UnicodeDecodeError)


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


def torchvision_cache_path(weights):
    """Where torchvision keeps (and looks for) the file of a weights entry:
    `$TORCH_HOME/hub/checkpoints/<basename of weights.url>`."""
    return osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(weights.url))


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else 'unreadable file'


def _damaged(what, path, url, e):
    return PoseNetError(f"{what}: file {path} is damaged ({load_reason(e)}); "
                        f"delete it or replace it with a fresh copy of {url}")


def load_torchvision_state_dict(weights, what, weights_file=None, hint='', check_hash=False):
    """State dict of a torchvision weights entry (e.g. `ResNet50_Weights.IMAGENET1K_V1`).

    `what`: the weights in words, starting each message ("ImageNet weights of ResNet-50").
    `weights_file`: a local `.pth` state dict used instead of torchvision's cache/download.
    `hint`: appended to the offline message (another way out, e.g. a config option).
    `check_hash`: verify the download against the hash in its file name (as torchvision does
    for detection models).

    Raises PoseNetError: the local file is missing or damaged; the cached file is damaged; the
    download failed (message: file name, URL, the folder to put it in).
    """
    if weights_file is not None:
        if not osp.isfile(weights_file):
            raise PoseNetError(f"{what}: file not found: {weights_file}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')     # torch's notes on the pickle protocol
                return torch.load(weights_file, map_location='cpu', weights_only=True)
        except DAMAGED_ERRORS as e:
            raise _damaged(what, weights_file, weights.url, e) from None

    cache_path = torchvision_cache_path(weights)
    try:
        return weights.get_state_dict(progress=False, check_hash=check_hash)
    except Exception as e:  # URLError, socket, HTTP, SSL errors, bad hash, unreadable file
        if osp.isfile(cache_path):  # downloads are moved into place only when complete
            raise _damaged(what, cache_path, weights.url, e) from None
        raise PoseNetError(
            f"{what}: could not download {weights.url} ({type(e).__name__}: {_first_line(e)}); "
            f"offline, download that file on another machine and put it at {cache_path} "
            f"(or set TORCH_HOME){hint}") from None



def load_into(module, state_dict, what):
    """`module.load_state_dict(state_dict)` (strict); a mismatch raises PoseNetError naming
    `what` instead of torch's multi-line report."""
    if isinstance(state_dict, dict) and 'network' in state_dict and \
            isinstance(state_dict['network'], dict):
        raise PoseNetError(f"{what}: the file is a PoseNet/RootNet snapshot of this project, not "
                           "weights of this network; use the file made for it")
    if not isinstance(state_dict, dict):
        raise PoseNetError(f"{what}: the file holds a {type(state_dict).__name__}, not a state "
                           "dict; use the weights file made for this network")
    problem = describe_mismatch(module.state_dict(), state_dict)
    if problem:         # a few keys named, never the whole list (kilobytes)
        raise PoseNetError(f"{what}: the weights do not fit this network ({problem}); "
                           "use the file made for it")
    try:
        module.load_state_dict(state_dict)
    except (RuntimeError, TypeError, AttributeError) as e:
        lines = ' '.join(line.strip() for line in str(e).splitlines()[:2])[:300]
        raise PoseNetError(f"{what}: the weights do not fit this network ({lines}); "
                           "use the file made for it") from None
