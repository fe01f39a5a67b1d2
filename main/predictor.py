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
"""
from contextlib import nullcontext

import numpy as np
import torch

from common.nets.posenet import flip_back, get_pose_net
from common.nets.rootnet import get_root_net
from common.utils.errors import PoseNetError
from common.utils.pose_utils import heatmap_to_cam, k_value, root_output_to_cam
from common.utils.snapshot import load_network, load_snapshot, snapshot_settings
from data.dataset import generate_patch_image, get_transform

AMP_DTYPES = {'none': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


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


class Predictor:
    """What PoseNet and RootNet inference share: the device, the crop geometry and
    normalisation (`cfg.input_shape`, `pixel_mean`, `pixel_std`), mixed precision
    (`cfg.amp`) and channels_last (`cfg.channels_last`)."""

    def __init__(self, model, cfg, device=None):
        self.model = model
        self.device = torch.device('cpu') if device is None else torch.device(device)
        self.input_shape = tuple(cfg.input_shape)
        self.output_shape = tuple(cfg.output_shape)
        self.transform = get_transform(cfg.pixel_mean, cfg.pixel_std)
        self.amp = cfg.amp
        self.channels_last = bool(cfg.channels_last)

    def crop(self, img, bbox_processed):
        """Network inputs `(N, 3, H_in, W_in)` float32 for processed boxes `(N, 4)` px of a BGR
        uint8 image: plain crops, the original's normalisation (compat 0..255 values)."""
        crops = [self.transform(generate_patch_image(img, box, False, 1.0, 0.0, False,
                                                     self.input_shape)[0])
                 for box in np.asarray(bbox_processed, dtype=np.float64).reshape(-1, 4)]
        if not crops:
            return torch.zeros((0, 3) + self.input_shape)
        return torch.stack(crops)

    def to_device(self, crops):
        crops = crops.to(self.device, non_blocking=True)
        if self.channels_last:
            crops = crops.contiguous(memory_format=torch.channels_last)
        return crops


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
    def from_snapshot(cls, path, cfg, default_joints, flip_test=False, device=None):
        """Build PoseNet from a snapshot file; `cfg` follows the snapshot's settings (see
        `read_snapshot`) and `default_joints` (an object with `joints_name`, `flip_pairs`,
        `skeleton`) gives the joint set of snapshots without settings. The predictor's
        `epoch` and `settings` describe what was loaded."""
        ckpt, settings = read_snapshot(path, cfg)
        joints_name, flip_pairs, skeleton = joint_set(settings, default_joints)
        device = torch.device('cpu') if device is None else torch.device(device)
        model = load_model(lambda: get_pose_net(cfg, False, len(joints_name)), path, ckpt, cfg,
                           device)
        predictor = cls(model, cfg, flip_pairs if flip_test else None, device, joints_name,
                        skeleton)
        predictor.epoch, predictor.settings = ckpt.get('epoch'), settings
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
    def from_snapshot(cls, path, cfg, device=None):
        """Build RootNet from a snapshot file (official `snapshot_18.pth.tar` or ours); `cfg`
        follows the snapshot's settings (`read_snapshot`)."""
        ckpt, settings = read_snapshot(path, cfg, network='RootNet')
        device = torch.device('cpu') if device is None else torch.device(device)
        predictor = cls(load_model(lambda: get_root_net(cfg, False), path, ckpt, cfg, device),
                        cfg, device)
        predictor.epoch, predictor.settings = ckpt.get('epoch'), settings
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
        bbox_processed = np.asarray(bbox_processed, dtype=np.float64).reshape(-1, 4)
        if len(bbox_processed) == 0:
            return np.zeros((0, 3))
        coord = self.predict_crops(self.crop(img, bbox_processed),
                                   k_value(bbox_processed, focal)).astype(np.float64)
        return root_output_to_cam(coord, bbox_processed, self.output_shape, focal, princpt)
