"""Loading torchvision's pretrained weights, with a clear error when that is impossible."""
import os.path as osp

import torch

from common.utils.errors import PoseNetError


def first_line(error, limit=200):
    """The first line of an exception's message, at most `limit` characters (for one-line errors)."""
    text = (str(error).strip().splitlines() or [''])[0]
    return text if len(text) <= limit else text[:limit - 3] + '...'


def load_torchvision_weights(weights, what, hint=None):
    """The state dict of a torchvision weights entry (e.g. `ResNet50_Weights.IMAGENET1K_V1`).

    The file is read from torchvision's cache `$TORCH_HOME/hub/checkpoints/<file>` (default
    `~/.cache/torch/hub/checkpoints/`), downloaded first when missing. `what` names the weights
    in messages ('the ImageNet weights for ResNet-50'); `hint` is appended to them (another way
    out, e.g. 'or train from random initialisation with --cfg pretrained_backbone=False').
    Raises PoseNetError: when the cached file cannot be read, that it is damaged and should be
    deleted or replaced; when it cannot be downloaded, where to put it by hand.
    """
    path = osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(weights.url))
    tail = f', {hint}' if hint else ''
    try:
        return weights.get_state_dict(progress=False)
    except Exception as e:  # URLError, socket, HTTP, unpickling, zip errors
        if osp.exists(path):  # torch.hub moves a download into place only when complete
            raise PoseNetError(
                f"the file of {what} at {path} is damaged (cannot be read: {type(e).__name__}); "
                f"delete it to download it again, or replace it with a good copy of "
                f"{weights.url}{tail}"
            ) from None
        raise PoseNetError(
            f"could not download {what} ({weights.url}): {type(e).__name__}: {first_line(e)}. "
            f"Offline, download that file elsewhere and put it at {path} (or set TORCH_HOME)"
            f"{tail}") from None
