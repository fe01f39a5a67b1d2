"""Inference with one network: the seam that test, demo, benchmark and the pipeline use.

    posenet = PoseNetPredictor.from_snapshot('snapshot_24.pth.tar', cfg, MuCo)
    out = posenet(img_bgr, bbox_processed, root_depth, focal, princpt)
    out['pose_3d']        # (N, J, 3) camera mm
    rootnet = RootNetPredictor.from_snapshot('snapshot_18.pth.tar', cfg)
    root_cam = rootnet(img_bgr, bbox_processed, focal, princpt)     # (N, 3) camera mm

A predictor holds one network in eval mode, the settings it was trained with (a
`main.checkpoint.ModelSettings`: from the model file when it carries them, else from `cfg`
and a default joint set), the device and the options (flip test, mixed precision,
channels_last); it never changes a config it is given. It crops the boxes of an image
exactly as testing does (no augmentation, the original's input normalisation), runs all people
in one batch and maps the outputs to image pixels and camera millimetres
(`common.utils.pose_utils`).

Backends (`backend=` of `from_snapshot`):
* 'torch' (default): the PyTorch model; the original's numbers.
* 'onnx': ONNX Runtime on the CPU (`main.onnx_backend`), 2-2.7x PyTorch eager there
  (ResNet-50, batch 1-32), outputs equal within float32 rounding (tested: 1e-3 heatmap units
  at ResNet-18, 64x64). A `.pth.tar` snapshot is exported once to a cache file
  next to it (`main.checkpoint.onnx_cache_path`: `snapshot_24.pth.tar` -> `snapshot_24.onnx`, or under
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
from contextlib import nullcontext

import numpy as np
import torch

from common.nets.posenet import flip_back
from common.utils.crop import as_bgr_image, network_input, person_crops
from common.utils.errors import PoseNetError
from common.utils.pose_utils import heatmap_to_cam, k_value, root_output_to_cam
from main.checkpoint import (Checkpoint, ModelSettings, is_onnx_file, open_network,
                             read_checkpoint, settings_for)
from main.onnx_backend import OnnxNetwork, onnxruntime_available

AMP_DTYPES = {'none': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}
BACKENDS = ('torch', 'onnx', 'onnx-int8', 'auto')


def autocast_context(device, amp):
    """Mixed-precision context for `cfg.amp` ('none', 'bf16', 'fp16')."""
    if amp not in AMP_DTYPES:
        raise PoseNetError(f"amp={amp!r} is not an option; choose 'none', 'bf16' or 'fp16'")
    if AMP_DTYPES[amp] is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


def resolve_backend(backend, path, device, amp='none'):
    """'torch', 'onnx' or 'onnx-int8' for the `backend` option ('torch', 'onnx', 'onnx-int8',
    'auto'), the model file `path` (a `.onnx` file is always 'onnx': the file says its
    precision), the `device` and `amp`; one clear error for a combination that cannot run."""
    if backend not in BACKENDS:
        raise PoseNetError(f"backend {backend!r} is not an option; choose 'torch', 'onnx', "
                           "'onnx-int8' or 'auto'")
    device = torch.device(device)
    if backend == 'auto' and not is_onnx_file(path):
        use_onnx = device.type == 'cpu' and amp == 'none' and onnxruntime_available()
        return 'onnx' if use_onnx else 'torch'
    if backend == 'torch' and not is_onnx_file(path):
        return 'torch'
    if device.type != 'cpu':
        raise PoseNetError(f"{path}: the ONNX backend runs on the CPU (onnxruntime); use "
                           "--backend torch on a GPU, or leave --gpu out")
    if amp != 'none':
        raise PoseNetError(f"amp={amp} is a PyTorch option; the ONNX backend computes in "
                           "float32: leave --amp out or use --backend torch")
    return 'onnx-int8' if backend == 'onnx-int8' and not is_onnx_file(path) else 'onnx'


def open_model_file(path, cfg, network, default_joints=None, device=None, backend='torch',
                    calibration=None):
    """What `from_snapshot` of both predictors does: `(model, settings, cfg, ckpt)` of the
    model file `path` (or of `path`, a `main.checkpoint.Checkpoint` already read: not read
    again): the network to run on `backend`, the complete `ModelSettings` it was trained with,
    a NEW config that has taken the file's settings (the caller's is not changed), and the
    checkpoint."""
    ckpt = path if isinstance(path, Checkpoint) else read_checkpoint(path, network)
    if ckpt.network != network:
        raise PoseNetError(f"{ckpt.path} holds a {ckpt.network}, not a {network}; pass the "
                           "right file")
    cfg = cfg.with_model_settings(ckpt.settings, ckpt.path)
    settings = settings_for(ckpt, cfg, default_joints)
    device = torch.device('cpu') if device is None else torch.device(device)
    backend = resolve_backend(backend, ckpt.path, device, cfg.amp)
    model = open_network(ckpt, settings, backend, device, cfg.channels_last, calibration)
    return model, settings, cfg, ckpt


class Predictor:
    """What PoseNet and RootNet inference share: the device, the crop geometry and
    normalisation (`input_shape`, `pixel_mean`, `pixel_std` of the model's settings), mixed
    precision (`amp`) and channels_last.

    `model` is a PyTorch module or a `main.onnx_backend.OnnxNetwork` (`backend` says which;
    ONNX Runtime takes CPU float32 crops: no amp, channels_last does not apply); `settings`
    the `main.checkpoint.ModelSettings` it was trained with, or a Config (its model fields);
    the predictor keeps them as `settings` (a `ModelSettings`) and changes nothing it is
    given."""
    network = None      # 'PoseNet' or 'RootNet'

    def __init__(self, model, settings, device=None, amp='none', channels_last=False):
        if not isinstance(settings, ModelSettings):
            settings = ModelSettings.from_config(settings, self.network)
        self.model = model
        self.settings = settings
        self.epoch = None
        self.device = torch.device('cpu') if device is None else torch.device(device)
        self.backend = 'torch'
        if isinstance(model, OnnxNetwork):
            resolve_backend('onnx', 'the ONNX model', self.device, amp)
            self.backend = 'onnx-int8' if model.precision == 'int8' else 'onnx'
        self.input_shape = tuple(settings.input_shape)
        self.output_shape = tuple(settings.output_shape)
        self.pixel_mean, self.pixel_std = tuple(settings.pixel_mean), tuple(settings.pixel_std)
        self.amp = amp
        self.channels_last = bool(channels_last) and self.backend == 'torch'

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
    coordinates) in eval mode on `device`; `settings`: its `ModelSettings` (geometry
    `input_shape`, `output_shape`, `depth_dim`, `bbox_3d_shape`, `pixel_mean`, `pixel_std`
    and the joint set `joints_name`, `skeleton` for the pipeline and drawings) or a Config
    (geometry only); `flip_pairs`: the joint pairs swapped by flip test, None = no flip test;
    `amp`, `channels_last`: the speed options.
    """
    network = 'PoseNet'

    def __init__(self, model, settings, flip_pairs=None, device=None, amp='none',
                 channels_last=False):
        super().__init__(model, settings, device, amp, channels_last)
        self.depth_dim = int(self.settings.depth_dim)
        self.bbox_3d_shape = tuple(self.settings.bbox_3d_shape)
        self.flip_pairs = None if flip_pairs is None else tuple(tuple(p) for p in flip_pairs)
        self.joints_name, self.skeleton = self.settings.joints_name, self.settings.skeleton

    @classmethod
    def from_snapshot(cls, path, cfg, default_joints, flip_test=False, device=None,
                      backend='torch', calibration=None):
        """PoseNet of a model file: a snapshot, an exported `.onnx` file, or a
        `main.checkpoint.Checkpoint` already read. The file's settings win over `cfg`'s model
        fields (a contradicting `--cfg` value is an error; `cfg` itself is not changed);
        `default_joints` (an object with `joints_name`, `flip_pairs`, `skeleton`) gives the
        joint set of snapshots without settings; `cfg.amp`, `cfg.channels_last` the options.
        `backend`: 'torch', 'onnx', 'onnx-int8' or 'auto' (module docstring); `calibration`:
        int8 calibration crops `(N, 3, H, W)` normalised (None: the default). The predictor's
        `epoch`, `settings` and `backend` describe what was loaded."""
        model, settings, cfg, ckpt = open_model_file(path, cfg, 'PoseNet', default_joints,
                                                     device, backend, calibration)
        predictor = cls(model, settings, settings.flip_pairs if flip_test else None, device,
                        cfg.amp, cfg.channels_last)
        predictor.epoch = ckpt.epoch
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
    mode on `device`; `settings`, `amp`, `channels_last` as for `PoseNetPredictor`.
    """
    network = 'RootNet'

    @classmethod
    def from_snapshot(cls, path, cfg, device=None, backend='torch', calibration=None):
        """RootNet of a model file (official `snapshot_18.pth.tar`, ours, an exported `.onnx`
        file or a `main.checkpoint.Checkpoint` already read); `cfg` as for
        `PoseNetPredictor.from_snapshot`. `backend`: 'torch', 'onnx', 'onnx-int8' or 'auto'
        (module docstring); `calibration`: int8 calibration `(crops (N, 3, H, W) normalised,
        k (N, 1) mm)` (None: the default)."""
        model, settings, cfg, ckpt = open_model_file(path, cfg, 'RootNet', None, device,
                                                     backend, calibration)
        predictor = cls(model, settings, device, cfg.amp, cfg.channels_last)
        predictor.epoch = ckpt.epoch
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
