"""Inference with one network: the seam that test, demo, benchmark and the pipeline use.

    posenet = PoseNetPredictor.from_snapshot('snapshot_24.pth.tar', cfg, MuCo)
    out = posenet(img_bgr, bbox_processed, root_depth, focal, princpt)
    out['pose_3d']        # (N, J, 3) camera mm
    rootnet = RootNetPredictor.from_snapshot('snapshot_18.pth.tar', cfg)
    root_cam = rootnet(img_bgr, bbox_processed, focal, princpt)     # (N, 3) camera mm

A predictor holds one network in eval mode, the geometry it was trained with (from the snapshot
when it carries `model_settings`, else from `cfg`), the device and the options (flip test,
mixed precision, channels_last). It crops the boxes of an image exactly as testing does (no
augmentation, the original's input normalisation), runs all people in one batch and maps the
outputs to image pixels and camera millimetres (`common.utils.pose_utils`).

Backends (`backend=` of `from_snapshot`):
* 'torch' (default): the PyTorch model; the original's numbers.
* 'onnx': ONNX Runtime on the CPU (`main.onnx_backend`), 2-2.7x PyTorch eager there
  (ResNet-50, batch 1-32), outputs equal within float32 rounding (tested: 1e-3 heatmap units
  at ResNet-18, 64x64). A `.pth.tar` snapshot is exported once to a cache file
  next to it (`onnx_cache_path`: `snapshot_24.pth.tar` -> `snapshot_24.onnx`, or under
  `~/.cache/posenet-3dmppe/onnx/` when that folder is read-only) and re-exported when the
  snapshot or the settings change; a `.onnx` file (tool/export_onnx.py) is used as it is,
  whatever `backend` says, with the settings stored in it.
* 'onnx-int8': ONNX Runtime int8 on the CPU (`main.onnx_backend.quantize_onnx`: static
  quantisation, QDQ, ranges from calibration crops: `calibration=` of `from_snapshot`, default
  `calibration_crops`); the float export is quantised into `snapshot_24.int8.onnx` beside it
  and redone when the snapshot, the settings or the calibration crops change. Faster, not the
  original's numbers: docs/cpu_inference.md says by how much and when it is worth it.
* 'auto': 'onnx' on the CPU when onnxruntime is installed and `amp` is 'none', else 'torch'.
"""
import hashlib
import json
import os
import os.path as osp
from contextlib import nullcontext

import numpy as np
import torch

from common.nets.posenet import flip_back, get_pose_net
from common.nets.rootnet import get_root_net
from common.utils.crop import as_bgr_image, network_input, person_crops
from common.utils.errors import PoseNetError
from common.utils.pose_utils import heatmap_to_cam, k_value, root_output_to_cam
from common.utils.snapshot import load_network, load_snapshot, snapshot_settings
from main.onnx_backend import (OnnxNetwork, calibration_crops, calibration_digest, export_onnx,
                               file_fingerprint, onnxruntime_available, quantize_onnx,
                               user_cache_folder)

AMP_DTYPES = {'none': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}
BACKENDS = ('torch', 'onnx', 'onnx-int8', 'auto')
SNAPSHOT_SUFFIXES = ('.pth.tar', '.pth', '.pt', '.tar')


def autocast_context(device, amp):
    """Mixed-precision context for `cfg.amp` ('none', 'bf16', 'fp16')."""
    if amp not in AMP_DTYPES:
        raise PoseNetError(f"amp={amp!r} is not an option; choose 'none', 'bf16' or 'fp16'")
    if AMP_DTYPES[amp] is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


def posenet_settings(cfg, joints_name, flip_pairs, skeleton):
    """The `model_settings` a PoseNet snapshot stores: `cfg.model_settings()` plus the network
    name and its joint set (lists, so that `torch.load(weights_only=True)` reads them)."""
    settings = cfg.model_settings()
    settings.update(network='PoseNet', joints_name=list(joints_name),
                    flip_pairs=[list(p) for p in flip_pairs],
                    skeleton=[list(p) for p in skeleton])
    return settings


def rootnet_settings(cfg):
    """The `model_settings` of a RootNet (`cfg.model_settings()` and the network name)."""
    return dict(cfg.model_settings(), network='RootNet')


def read_snapshot(path, cfg, network='PoseNet'):
    """Load a snapshot and make `cfg` follow the settings it was trained with.

    Returns `(ckpt, settings)`; `settings` is None for snapshots without `model_settings` (the
    official ones: `cfg` stays as it is). A `--cfg` value that contradicts the snapshot, or a
    snapshot of another network, is one clear error.
    """
    ckpt = load_snapshot(path)
    settings = snapshot_settings(ckpt)
    if settings is not None:
        if settings.get('network', network) != network:
            raise PoseNetError(f"{path} is a {settings['network']} snapshot, not a {network} "
                               "one; pass the right file")
        cfg.apply_model_settings(settings, path)
    return ckpt, settings


def joint_set(settings, default):
    """`(joints_name, flip_pairs, skeleton)` of a snapshot's settings, else of `default` (an
    object with those attributes, e.g. a dataset class)."""
    if settings is not None and settings.get('joints_name'):
        return (tuple(settings['joints_name']),
                tuple(tuple(p) for p in settings.get('flip_pairs', ())),
                tuple(tuple(p) for p in settings.get('skeleton', ())))
    return (tuple(default.joints_name), tuple(tuple(p) for p in default.flip_pairs),
            tuple(tuple(p) for p in default.skeleton))


def check_joint_count(settings, joint_num, path, what):
    """Error when a snapshot's joint set does not have `joint_num` joints (e.g. a Human36M
    18-joint model tested on MuPoTS, whose outputs are MuCo's 21)."""
    if settings is not None and settings.get('joints_name') and \
            len(settings['joints_name']) != joint_num:
        raise PoseNetError(f"{path} was trained on {len(settings['joints_name'])} joints, but "
                           f"{what} needs a {joint_num}-joint model; pick a matching snapshot")


def load_model(build, path, ckpt, cfg, device):
    """`build()`'s network with the snapshot's weights, on `device`, in eval mode."""
    model = build()
    load_network(model, ckpt['network'], what=path)
    model = model.to(device).eval()
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def is_onnx_file(path):
    return str(path).lower().endswith('.onnx')


def resolve_backend(backend, path, device, cfg):
    """'torch', 'onnx' or 'onnx-int8' for the `backend` option ('torch', 'onnx', 'onnx-int8',
    'auto'), the model file `path` (a `.onnx` file is always 'onnx': the file says its
    precision), the `device` and `cfg.amp`; one clear error for a combination that cannot
    run."""
    if backend not in BACKENDS:
        raise PoseNetError(f"backend {backend!r} is not an option; choose 'torch', 'onnx', "
                           "'onnx-int8' or 'auto'")
    device = torch.device(device)
    if backend == 'auto' and not is_onnx_file(path):
        use_onnx = device.type == 'cpu' and cfg.amp == 'none' and onnxruntime_available()
        return 'onnx' if use_onnx else 'torch'
    if backend == 'torch' and not is_onnx_file(path):
        return 'torch'
    if device.type != 'cpu':
        raise PoseNetError(f"{path}: the ONNX backend runs on the CPU (onnxruntime); use "
                           "--backend torch on a GPU, or leave --gpu out")
    if cfg.amp != 'none':
        raise PoseNetError(f"amp={cfg.amp} is a PyTorch option; the ONNX backend computes in "
                           "float32: leave --amp out or use --backend torch")
    return 'onnx-int8' if backend == 'onnx-int8' and not is_onnx_file(path) else 'onnx'


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


def onnx_for_snapshot(path, network, settings, build_model, epoch):
    """The ONNX Runtime network of a snapshot, exported into `onnx_cache_path(path)` unless a
    valid export is there already (same network, same `settings`, and the snapshot's size and
    modification time unchanged); an out-of-date export of this project is replaced. A file
    there that is not an export of this project (someone's own `.onnx`, or a damaged one) is
    never overwritten: the export goes to the user cache folder instead. `build_model()` gives
    the loaded PyTorch model."""
    source = file_fingerprint(path)
    wanted = json.loads(json.dumps(dict(settings, network=network), sort_keys=True))
    for out in (onnx_cache_path(path), onnx_cache_path(path, beside=False)):
        if not osp.isfile(out):
            break                   # free: export here
        try:
            net = OnnxNetwork(out)
        except PoseNetError:
            continue                # not ours (or unreadable): leave it alone
        if net.network == network and net.source == source and net.settings == wanted:
            return net
        break                       # ours but out of date: export here again
    export_onnx(build_model(), out, network, settings, epoch, source)    # write_error on failure
    return OnnxNetwork(out)


def int8_for_snapshot(float_net, calibration):
    """The int8 model of a snapshot's float export `float_net` (an `OnnxNetwork` from
    `onnx_for_snapshot`), quantised into `<export>.int8.onnx` beside it (`snapshot_24.onnx` ->
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


def default_calibration(cfg, network):
    """`calibration_crops` of `cfg`'s geometry; for RootNet with k spread over 1000-10000 mm."""
    img = calibration_crops(cfg.input_shape, cfg.pixel_mean, cfg.pixel_std)
    if network == 'PoseNet':
        return img
    return img, np.linspace(1000., 10000., len(img), dtype=np.float32).reshape(-1, 1)


def open_onnx(path, network, cfg):
    """An exported `.onnx` model of `network`; `cfg` takes the settings stored in it."""
    net = OnnxNetwork(path)
    if net.network != network:
        raise PoseNetError(f"{path} is a {net.network} export, not a {network} one; pass the "
                           "right file")
    cfg.apply_model_settings(net.settings, path)
    return net


class Predictor:
    """What PoseNet and RootNet inference share: the device, the crop geometry and
    normalisation (`cfg.input_shape`, `pixel_mean`, `pixel_std`), mixed precision
    (`cfg.amp`) and channels_last (`cfg.channels_last`).

    `model` is a PyTorch module or a `main.onnx_backend.OnnxNetwork` (`backend` says which;
    ONNX Runtime takes CPU float32 crops: no amp, channels_last does not apply)."""

    def __init__(self, model, cfg, device=None):
        self.model = model
        self.device = torch.device('cpu') if device is None else torch.device(device)
        self.backend = 'torch'
        if isinstance(model, OnnxNetwork):
            resolve_backend('onnx', 'the ONNX model', self.device, cfg)
            self.backend = 'onnx-int8' if model.precision == 'int8' else 'onnx'
        self.input_shape = tuple(cfg.input_shape)
        self.output_shape = tuple(cfg.output_shape)
        self.pixel_mean, self.pixel_std = tuple(cfg.pixel_mean), tuple(cfg.pixel_std)
        self.amp = cfg.amp
        self.channels_last = bool(cfg.channels_last) and self.backend == 'torch'

    def crop(self, img, bbox_processed):
        """Network inputs `(N, 3, H_in, W_in)` float32 for processed boxes `(N, 4)` px of a BGR
        uint8 image: plain crops, the original's normalisation (`person_crops`)."""
        return person_crops(img, bbox_processed, self.input_shape, self.pixel_mean,
                            self.pixel_std)

    def to_device(self, crops):
        """Crops on the model's device, normalised (`network_input`): float32 crops as they
        are; a raw batch of `DatasetLoader(transform=RAW_UINT8)` or bare uint8 crops are
        colour-scaled and normalised there (the same float32 values as the original's
        transform)."""
        return network_input(crops, self.device, self.pixel_mean, self.pixel_std,
                             self.channels_last)


class PoseNetPredictor(Predictor):
    """PoseNet inference on crops, or on an image and its person boxes.

    `model`: PoseNet (any module mapping `(N, 3, H_in, W_in)` crops to `(N, J, 3)` heatmap
    coordinates) in eval mode on `device`; `cfg`: its geometry (`input_shape`, `output_shape`,
    `depth_dim`, `bbox_3d_shape`, `pixel_mean`, `pixel_std`) and options (`amp`,
    `channels_last`); `flip_pairs`: the joint pairs swapped by flip test, None = no flip test;
    `joints_name`, `skeleton`: the model's joint set (for the pipeline and drawings).
    """

    def __init__(self, model, cfg, flip_pairs=None, device=None, joints_name=(), skeleton=()):
        super().__init__(model, cfg, device)
        self.depth_dim = int(cfg.depth_dim)
        self.bbox_3d_shape = tuple(cfg.bbox_3d_shape)
        self.flip_pairs = None if flip_pairs is None else tuple(tuple(p) for p in flip_pairs)
        self.joints_name, self.skeleton = tuple(joints_name), tuple(skeleton)
        self.epoch, self.settings = None, None

    @classmethod
    def from_snapshot(cls, path, cfg, default_joints, flip_test=False, device=None,
                      backend='torch', calibration=None):
        """Build PoseNet from a snapshot file, or from an exported `.onnx` file; `cfg` follows
        the file's settings (see `read_snapshot`) and `default_joints` (an object with
        `joints_name`, `flip_pairs`, `skeleton`) gives the joint set of snapshots without
        settings. `backend`: 'torch', 'onnx', 'onnx-int8' or 'auto' (module docstring);
        `calibration`: int8 calibration crops `(N, 3, H, W)` normalised (None: the default).
        The predictor's `epoch`, `settings` and `backend` describe what was loaded."""
        device = torch.device('cpu') if device is None else torch.device(device)
        backend = resolve_backend(backend, path, device, cfg)
        if is_onnx_file(path):
            model = open_onnx(path, 'PoseNet', cfg)
            settings, epoch = model.settings, model.epoch
            joints_name, flip_pairs, skeleton = joint_set(settings, default_joints)
        else:
            ckpt, settings = read_snapshot(path, cfg)
            joints_name, flip_pairs, skeleton = joint_set(settings, default_joints)
            epoch = ckpt.get('epoch')

            def build(dev):
                return load_model(lambda: get_pose_net(cfg, False, len(joints_name)), path,
                                  ckpt, cfg, dev)
            if backend in ('onnx', 'onnx-int8'):
                model = onnx_for_snapshot(
                    path, 'PoseNet', posenet_settings(cfg, joints_name, flip_pairs, skeleton),
                    lambda: build(torch.device('cpu')), epoch)
                if backend == 'onnx-int8':
                    model = int8_for_snapshot(model, default_calibration(cfg, 'PoseNet')
                                              if calibration is None else calibration)
            else:
                model = build(device)
        predictor = cls(model, cfg, flip_pairs if flip_test else None, device, joints_name,
                        skeleton)
        predictor.epoch, predictor.settings = epoch, settings
        return predictor

    @torch.no_grad()
    def predict_crops(self, crops):
        """Heatmap-space coordinates `(N, J, 3)` float32 numpy for a batch of crops; with flip
        test the mean of the plain and the mapped-back mirrored prediction."""
        crops = self.to_device(crops)
        with autocast_context(self.device, self.amp):
            coord = self.model(crops).float()
            if self.flip_pairs is not None:
                flipped = self.model(torch.flip(crops, dims=[3])).float()
                coord = (coord + flip_back(flipped, self.output_shape[1], self.flip_pairs)) / 2.
        return coord.cpu().numpy()

    def __call__(self, img, bbox_processed, root_depth, focal, princpt):
        """3D poses of the people in one BGR image, all in one batch.

        `bbox_processed (N, 4)` px (see `process_bbox`); `root_depth (N,)` absolute root Z mm;
        `focal`, `princpt` `(2,)` px. Returns `{'coord_hm' (N, J, 3) network output,
        'pose_2d' (N, J, 2) px, 'pose_3d' (N, J, 3) camera mm}`.
        """
        img = as_bgr_image(img)
        bbox_processed = np.asarray(bbox_processed, dtype=np.float64).reshape(-1, 4)
        coord_hm = self.predict_crops(self.crop(img, bbox_processed)).astype(np.float64)
        pixel, cam = heatmap_to_cam(coord_hm, bbox_processed, root_depth, focal, princpt,
                                    self.output_shape, self.depth_dim, self.bbox_3d_shape)
        return {'coord_hm': coord_hm, 'pose_2d': pixel[..., :2], 'pose_3d': cam}


class RootNetPredictor(Predictor):
    """RootNet inference: the absolute camera-space root (pelvis) of each person box.

    `model`: RootNet (`forward(crops, k)` -> `(N, 3)` = x, y output space, depth mm) in eval
    mode on `device`; `cfg`: its geometry and options as for `PoseNetPredictor`.
    """

    @classmethod
    def from_snapshot(cls, path, cfg, device=None, backend='torch', calibration=None):
        """Build RootNet from a snapshot file (official `snapshot_18.pth.tar` or ours) or an
        exported `.onnx` file; `cfg` follows the file's settings (`read_snapshot`).
        `backend`: 'torch', 'onnx', 'onnx-int8' or 'auto' (module docstring); `calibration`:
        int8 calibration `(crops (N, 3, H, W) normalised, k (N, 1) mm)` (None: the default)."""
        device = torch.device('cpu') if device is None else torch.device(device)
        backend = resolve_backend(backend, path, device, cfg)
        if is_onnx_file(path):
            model = open_onnx(path, 'RootNet', cfg)
            settings, epoch = model.settings, model.epoch
        else:
            ckpt, settings = read_snapshot(path, cfg, network='RootNet')
            epoch = ckpt.get('epoch')

            def build(dev):
                return load_model(lambda: get_root_net(cfg, False), path, ckpt, cfg, dev)
            if backend in ('onnx', 'onnx-int8'):
                model = onnx_for_snapshot(path, 'RootNet', rootnet_settings(cfg),
                                          lambda: build(torch.device('cpu')), epoch)
                if backend == 'onnx-int8':
                    model = int8_for_snapshot(model, default_calibration(cfg, 'RootNet')
                                              if calibration is None else calibration)
            else:
                model = build(device)
        predictor = cls(model, cfg, device)
        predictor.epoch, predictor.settings = epoch, settings
        return predictor

    @torch.no_grad()
    def predict_crops(self, crops, k):
        """Outputs `(N, 3)` float32 numpy (x, y output space, depth mm) of a batch of crops
        with their camera-distance factors `k (N,)` mm (`k_value`)."""
        k = torch.as_tensor(np.asarray(k, dtype=np.float32).reshape(-1, 1), device=self.device)
        with autocast_context(self.device, self.amp):
            return self.model(self.to_device(crops), k).float().cpu().numpy()

    def __call__(self, img, bbox_processed, focal, princpt):
        """Camera-space roots `(N, 3)` mm of the people in processed boxes `(N, 4)` px of a
        BGR image (all in one batch), with `focal`, `princpt` `(2,)` px."""
        img = as_bgr_image(img)
        bbox_processed = np.asarray(bbox_processed, dtype=np.float64).reshape(-1, 4)
        if len(bbox_processed) == 0:
            return np.zeros((0, 3))
        coord = self.predict_crops(self.crop(img, bbox_processed),
                                   k_value(bbox_processed, focal)).astype(np.float64)
        return root_output_to_cam(coord, bbox_processed, self.output_shape, focal, princpt)
