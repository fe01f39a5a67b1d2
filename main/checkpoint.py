"""What a model file holds: the one module to open to learn it.

A snapshot `<model_dir>/snapshot_<epoch>.pth.tar` (the original release's format, compat) is
`{'epoch': int, 'network': state_dict, 'optimizer': state_dict}`. The original saved a
`DataParallel` model, so its network keys start with `module.`; keys load with or without
that prefix and are saved prefixed, so that the original code loads our snapshots too.

Ours carry two more keys (the original code ignores them):
* `'model_settings'`: the plain dict of `ModelSettings.to_dict()` (`resnet_type`,
  `input_shape`, `output_shape`, `depth_dim`, `bbox_3d_shape`, `pixel_mean`, `pixel_std`,
  `network`, and for PoseNet `joints_name`, `flip_pairs`, `skeleton`; lists, so that
  `torch.load(weights_only=True)` reads them), so that testing and inference take the
  geometry from the file instead of needing the same `--cfg` again. Official snapshots have
  none: their settings come from the config and a default joint set (`settings_for`).
* `'run_settings'`: the training run's data sets and schedule (`main.config.RUN_FIELDS`), for
  `--continue`.

An exported `.onnx` file (`main.onnx_backend`: metadata `network`, `model_settings` JSON,
`epoch`, `source`, `precision`) answers the same questions; `read_checkpoint` reads either
kind once into a `Checkpoint`, and `open_network` turns it into the network a predictor runs
(PyTorch, or ONNX Runtime through the cached export `snapshot_24.onnx` / int8 model
`snapshot_24.int8.onnx` next to the snapshot):

    ckpt = read_checkpoint('output/model_dump/snapshot_24.pth.tar', 'PoseNet')
    cfg = cfg.with_model_settings(ckpt.settings, ckpt.path)    # None: cfg as it is
    settings = settings_for(ckpt, cfg, Human36M)               # complete ModelSettings
    model = open_network(ckpt, settings, backend='torch', device='cpu')
"""
import glob
import hashlib
import json
import os
import os.path as osp
import re
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from common.nets.posenet import pose_net
from common.nets.rootnet import root_net
from common.nets.weights import DAMAGED_ERRORS, describe_mismatch, load_reason
from common.utils.errors import PoseNetError
from common.utils.file_io import torch_save
from main.config import MODEL_FIELDS
from main.onnx_backend import (NETWORKS, OnnxNetwork, calibration_crops, calibration_digest,
                               export_onnx, file_fingerprint, quantize_onnx, user_cache_folder)

PREFIX = 'module.'
SNAPSHOT_SUFFIXES = ('.pth.tar', '.pth', '.pt', '.tar')
_SNAPSHOT_RE = re.compile(r'snapshot_(\d+)\.pth\.tar$')

# the geometry fields (the config fields a trained model depends on), then its joint set
GEOMETRY = MODEL_FIELDS
JOINT_FIELDS = ('joints_name', 'flip_pairs', 'skeleton')


# -- the settings a network was trained with -------------------------------------------------
@dataclass(frozen=True)
class ModelSettings:
    """The settings a trained network depends on, as stored in its model file.

    `network` 'PoseNet' or 'RootNet'; `resnet_type`; `input_shape`, `output_shape` (height,
    width) px; `depth_dim` (depth bins); `bbox_3d_shape` (depth, height, width) mm;
    `pixel_mean`, `pixel_std` (R, G, B); PoseNet's joint set: `joints_name`, `flip_pairs`,
    `skeleton` (tuples; RootNet: empty). A field None was not recorded (a snapshot of an
    earlier version): the config's value is used for it.
    """
    network: str = None
    resnet_type: int = None
    input_shape: tuple = None
    output_shape: tuple = None
    depth_dim: int = None
    bbox_3d_shape: tuple = None
    pixel_mean: tuple = None
    pixel_std: tuple = None
    joints_name: tuple = ()
    flip_pairs: tuple = ()
    skeleton: tuple = ()

    @property
    def joint_num(self):
        return len(self.joints_name)

    @classmethod
    def from_config(cls, cfg, network='PoseNet', joints=None):
        """The settings of a `network` built from `cfg`'s geometry (None: the geometry only);
        `joints` (an object with `joints_name`, `flip_pairs`, `skeleton`, e.g. a dataset class)
        gives PoseNet's joint set."""
        if network is not None and network not in NETWORKS:
            raise PoseNetError(f"network {network!r}: choose PoseNet or RootNet")
        joint_set = {}
        if network == 'PoseNet' and joints is not None:
            joint_set = dict(joints_name=tuple(joints.joints_name),
                             flip_pairs=tuple(tuple(p) for p in joints.flip_pairs),
                             skeleton=tuple(tuple(p) for p in joints.skeleton))
        return cls(network=network, **{k: _frozen(getattr(cfg, k)) for k in GEOMETRY},
                   **joint_set)

    @classmethod
    def from_dict(cls, d, source):
        """The settings of a `'model_settings'` dict read from the model file `source`; one
        PoseNetError naming `source` for anything else. Values are checked against the
        network by `main.config.Config.with_model_settings`."""
        if not isinstance(d, dict):
            raise PoseNetError(f"{source}: 'model_settings' is a {type(d).__name__}, not a "
                               "dict; the file is damaged or not a PoseNet snapshot")
        network = d.get('network')
        if network is not None and network not in NETWORKS:
            raise PoseNetError(f"{source}: model_settings name the network {network!r}, "
                               "neither PoseNet nor RootNet")
        try:
            fields = {k: _frozen(d[k]) for k in GEOMETRY + JOINT_FIELDS if k in d}
            pairs = fields.get('flip_pairs', ()) + fields.get('skeleton', ())
            if not all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
                raise TypeError('pairs')
        except TypeError:
            raise PoseNetError(f"{source}: bad model_settings (the joint pairs are not pairs); "
                               "the file is damaged") from None
        return cls(network=network, **fields)

    def to_dict(self):
        """The `'model_settings'` dict a snapshot stores (lists, not tuples): the recorded
        fields in the order geometry, network, joint set (PoseNet)."""
        out = {k: _plain(getattr(self, k)) for k in GEOMETRY if getattr(self, k) is not None}
        if self.network is not None:
            out['network'] = self.network
        if self.network != 'RootNet' and self.joints_name:
            out.update({k: _plain(getattr(self, k)) for k in JOINT_FIELDS})
        return out

    def with_joints(self, joints):
        """These settings with the joint set of `joints` (an object with `joints_name`,
        `flip_pairs`, `skeleton`) when they record none (PoseNet only)."""
        if self.network == 'RootNet' or self.joints_name or joints is None:
            return self
        return ModelSettings(**dict(vars(self), joints_name=tuple(joints.joints_name),
                                    flip_pairs=tuple(tuple(p) for p in joints.flip_pairs),
                                    skeleton=tuple(tuple(p) for p in joints.skeleton)))


def _frozen(value):
    """Lists (also nested) as tuples; other values as they are."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def _plain(value):
    """Tuples (also nested) as lists, as a snapshot stores them."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# -- reading ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    """A model file read once (`read_checkpoint`).

    `path`; `network` ('PoseNet' or 'RootNet'); `epoch` (int, None when unknown);
    `settings` (`ModelSettings`, None for official snapshots); `run_settings` (dict or None);
    `network_state`, `optimizer_state` (state dicts of a `.pth.tar`; network keys as stored);
    `onnx` (the `OnnxNetwork` of a `.onnx` file, else None).
    """
    path: str
    network: str
    epoch: int = None
    settings: ModelSettings = None
    run_settings: dict = None
    network_state: dict = None
    optimizer_state: dict = None
    onnx: object = None


def is_onnx_file(path):
    return str(path).lower().endswith('.onnx')


def snapshot_path(model_dir, epoch):
    return osp.join(model_dir, f'snapshot_{epoch}.pth.tar')


def find_snapshot_epochs(model_dir):
    """Sorted epochs of the `snapshot_<epoch>.pth.tar` files in `model_dir`."""
    epochs = []
    for p in glob.glob(osp.join(model_dir, 'snapshot_*.pth.tar')):
        m = _SNAPSHOT_RE.search(osp.basename(p))
        if m:
            epochs.append(int(m.group(1)))
    return sorted(epochs)


def load_snapshot(path, map_location='cpu'):
    """The raw dict of a snapshot file. Missing or unreadable files raise PoseNetError naming
    the path. Loads with `weights_only=True`: snapshots are made of tensors, numbers and plain
    containers."""
    if not osp.isfile(path):
        raise PoseNetError(f"snapshot not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')     # torch's notes on the pickle protocol
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except DAMAGED_ERRORS as e:
        raise PoseNetError(f"snapshot {path} could not be read ({load_reason(e)}); "
                           "it is corrupt or not a PoseNet snapshot") from None
    if not isinstance(ckpt, dict) or 'network' not in ckpt:
        raise PoseNetError(f"snapshot {path} has no 'network' entry; it is not a PoseNet snapshot")
    return ckpt


def network_of_state(state_dict):
    """'PoseNet' or 'RootNet' from a state dict's keys (with or without `module.`), or None."""
    keys = strip_prefix(state_dict)
    if any(k.startswith('root.') for k in keys):
        return 'RootNet'
    if any(k.startswith('head.final_layer') for k in keys):
        return 'PoseNet'
    return None


def read_checkpoint(path, network=None):
    """Read the model file `path` once: a snapshot (`.pth.tar`) or an export (`.onnx`).

    `network`: 'PoseNet' or 'RootNet' the caller needs (a file of the other network is one
    clear error), or None: the file's own (its settings, else its state-dict keys).
    """
    if is_onnx_file(path):
        net = OnnxNetwork(path)
        if network is not None and net.network != network:
            raise PoseNetError(f"{path} is a {net.network} export, not a {network} one; pass "
                               "the right file")
        return Checkpoint(path, net.network, net.epoch,
                          ModelSettings.from_dict(net.settings, path), onnx=net)
    raw = load_snapshot(path)
    settings = None
    if isinstance(raw.get('model_settings'), dict):
        settings = ModelSettings.from_dict(raw['model_settings'], path)
    stored = settings.network if settings is not None else None
    if network is not None and stored is not None and stored != network:
        raise PoseNetError(f"{path} is a {stored} snapshot, not a {network} one; pass the "
                           "right file")
    network = network or stored or network_of_state(raw['network'])
    if network is None:
        raise PoseNetError(f"{path} holds neither a PoseNet nor a RootNet; pass --network")
    run = raw.get('run_settings')
    epoch = raw.get('epoch')
    return Checkpoint(path, network, None if epoch is None else int(epoch), settings,
                      dict(run) if isinstance(run, dict) else None, raw['network'],
                      raw.get('optimizer') or {})


def settings_for(ckpt, cfg, default_joints=None):
    """The complete settings of the network in `ckpt`: the file's own, else (official
    snapshots, earlier versions) those of `cfg` (which has taken the file's settings already:
    `Config.with_model_settings`) with the joint set of `default_joints` (an object with
    `joints_name`, `flip_pairs`, `skeleton`, e.g. a dataset class) for PoseNet."""
    own = ModelSettings.from_config(cfg, ckpt.network)
    if ckpt.settings is not None:
        own = ModelSettings(**dict(vars(own), **{k: v for k, v in vars(ckpt.settings).items()
                                                 if v not in (None, ())}))
    if ckpt.network == 'PoseNet':
        own = own.with_joints(default_joints)
        if not own.joints_name:
            raise PoseNetError(f"{ckpt.path} stores no joint set; give one (the dataset the "
                               "model was trained on)")
    return own


def check_joint_count(settings, joint_num, path, what):
    """Error when the joint set of `settings` does not have `joint_num` joints (e.g. a
    Human36M 18-joint model tested on MuPoTS, whose outputs are MuCo's 21)."""
    if settings is not None and settings.joints_name and settings.joint_num != joint_num:
        raise PoseNetError(f"{path} was trained on {settings.joint_num} joints, but "
                           f"{what} needs a {joint_num}-joint model; pick a matching snapshot")


# -- writing -----------------------------------------------------------------------------------
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
    (a `ModelSettings`, or its dict) is stored under `'model_settings'` as
    `ModelSettings.to_dict()`, `run_settings` (the training run's data sets and schedule, for
    `--continue`) under `'run_settings'`."""
    state = {
        'epoch': int(epoch),
        'network': add_prefix(unwrap(model).state_dict()),
        'optimizer': optimizer.state_dict() if optimizer is not None else {},
    }
    if model_settings is not None:
        if isinstance(model_settings, dict):
            model_settings = ModelSettings.from_dict(model_settings, path)
        state['model_settings'] = model_settings.to_dict()
    if run_settings is not None:
        state['run_settings'] = {k: _plain(v) for k, v in run_settings.items()}
    torch_save(path, state)
    return path


# -- the network of a model file -------------------------------------------------------------
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


def build_network(settings):
    """The untrained network `settings` describe (PyTorch's default initialisation)."""
    if settings.network == 'RootNet':
        return root_net(resnet_type=settings.resnet_type)
    return pose_net(resnet_type=settings.resnet_type, joint_num=settings.joint_num,
                    depth_dim=settings.depth_dim)


def load_model(ckpt, settings, device='cpu', channels_last=False):
    """The PyTorch network of the snapshot `ckpt` (built from the complete `settings`,
    `settings_for`) with its weights, on `device`, in eval mode."""
    model = load_network(build_network(settings), ckpt.network_state, what=ckpt.path)
    model = model.to(device).eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def open_network(ckpt, settings, backend='torch', device='cpu', channels_last=False,
                 calibration=None):
    """The network a predictor runs for the model file `ckpt`: the `.onnx` file's own
    `OnnxNetwork`; for a snapshot and `backend` 'torch' the PyTorch model (`load_model`),
    'onnx' its cached ONNX export (`cached_onnx`), 'onnx-int8' the int8 model quantised from
    that (`cached_int8`, calibrated on `calibration` or `default_calibration(settings)`)."""
    if ckpt.onnx is not None:
        return ckpt.onnx
    if backend == 'torch':
        return load_model(ckpt, settings, device, channels_last)
    net = cached_onnx(ckpt, settings)
    if backend == 'onnx-int8':
        net = cached_int8(net, default_calibration(settings) if calibration is None
                          else calibration)
    return net


# -- ONNX exports next to a snapshot -----------------------------------------------------------
def export_model(model, path, settings, epoch=None, source=None):
    """Export the PyTorch `model` (bare or wrapped) of complete `settings` to the ONNX file
    `path` with its metadata (`main.onnx_backend.export_onnx`); `source` the fingerprint of
    the snapshot it came from (`file_fingerprint`). Returns `path`."""
    return export_onnx(unwrap(model), path, settings.network, settings.to_dict(), epoch, source)


def onnx_cache_path(snapshot, beside=True):
    """Where `backend='onnx'` keeps the export of a snapshot: next to it, with `.onnx` instead
    of `.pth.tar` (`snapshot_24.pth.tar` -> `snapshot_24.onnx`); when that folder is not
    writable (or `beside=False`), `$XDG_CACHE_HOME` (default `~/.cache`)
    `/posenet-3dmppe/onnx/<name>-<hash>.onnx`."""
    folder, name = osp.split(osp.abspath(snapshot))
    stem = name
    for suffix in SNAPSHOT_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[:-len(suffix)]
            break
    if beside and os.access(folder, os.W_OK):
        return osp.join(folder, stem + '.onnx')
    digest = hashlib.sha1(osp.abspath(snapshot).encode()).hexdigest()[:12]
    return osp.join(user_cache_folder(), f'{stem}-{digest}.onnx')


def cached_onnx(ckpt, settings):
    """The ONNX Runtime network of the snapshot `ckpt`, exported into `onnx_cache_path` unless
    a valid export is there already (same network, same `settings`, and the snapshot's size
    and modification time unchanged); an out-of-date export of this project is replaced. A
    file there that is not an export of this project (someone's own `.onnx`, or a damaged one)
    is never overwritten: the export goes to the user cache folder instead."""
    source = file_fingerprint(ckpt.path)
    wanted = json.loads(json.dumps(settings.to_dict(), sort_keys=True))
    for out in (onnx_cache_path(ckpt.path), onnx_cache_path(ckpt.path, beside=False)):
        if not osp.isfile(out):
            break                   # free: export here
        try:
            net = OnnxNetwork(out)
        except PoseNetError:
            continue                # not ours (or unreadable): leave it alone
        if net.network == settings.network and net.source == source and \
                net.settings == wanted:
            return net
        break                       # ours but out of date: export here again
    export_model(load_model(ckpt, settings), out, settings, ckpt.epoch, source)
    return OnnxNetwork(out)


def cached_int8(float_net, calibration):
    """The int8 model of a snapshot's float export `float_net` (an `OnnxNetwork` from
    `cached_onnx`), quantised into `<export>.int8.onnx` beside it (`snapshot_24.onnx` ->
    `snapshot_24.int8.onnx`) unless a valid one is there (same network, settings, snapshot
    fingerprint and calibration crops). `calibration`: normalised crops `(N, 3, H, W)` for
    PoseNet, `(crops, k (N, 1) mm)` for RootNet."""
    img, k = calibration if isinstance(calibration, tuple) else (calibration, None)
    img = np.asarray(img, dtype=np.float32)
    out = float_net.path[:-len('.onnx')] + '.int8.onnx'
    if osp.isfile(out):
        try:
            net = OnnxNetwork(out)
            if (net.precision, net.network, net.source, net.settings, net.calibration) == (
                    'int8', float_net.network, float_net.source, float_net.settings,
                    calibration_digest(img, k)):
                return net
        except PoseNetError:
            pass        # damaged: quantised anew (the name is ours: `.int8.onnx` of our export)
    try:
        quantize_onnx(float_net.path, out, img, k)
    except OSError as e:
        raise PoseNetError(f"cannot write the int8 model to {out} ({e.strerror}); free some "
                           "space or use --backend onnx") from None
    return OnnxNetwork(out)


def default_calibration(settings):
    """`calibration_crops` of the geometry of `settings`; for RootNet with k spread over
    1000-10000 mm."""
    img = calibration_crops(settings.input_shape, settings.pixel_mean, settings.pixel_std)
    if settings.network == 'PoseNet':
        return img
    return img, np.linspace(1000., 10000., len(img), dtype=np.float32).reshape(-1, 1)
