"""Training augmentation, targets and the torch datasets of crops (docs/SPEC.md §5).

One sample = one entry of a dataset object (`db.data[i]`: `img_path`, processed `bbox`
`[x, y, w, h]` px, `joint_img` `(J, 3)` `[x_px, y_px, z_rel_mm]`, `joint_vis` `(J, 1)`).
`DatasetLoader` turns it into a network input crop and heatmap-space targets:

    image (BGR, uint8) --generate_patch_image--> patch (RGB float32 in [0, 255], H_in x W_in)
    joints (image px, mm) --trans, depth normalisation--> heatmap space
        x in [0, W_out), y in [0, H_out), z in [0, depth_dim)

With `transform=RAW_UINT8` the loader stops before the float conversion: it returns the warped
patch as uint8 `(3, H_in, W_in)` RGB and its colour scale, and `normalise_batch` does the colour
scale and the normalisation on the device, giving bit-identical float32 network inputs (the
patch values are integers 0..255 either way; the same float32 multiply, clip, subtract and
divide follow). That is 4x less data per sample between worker and trainer and no float work
in the worker.

The crop itself (image reading, the affine, the normalisation) is `common/utils/crop.py`, shared
with inference; this module adds the random augmentation and the targets. The module-level
helpers keep the original release's names; `DatasetLoader.__getitem__` looks
them up as module attributes at call time, so tests and user code can replace them.
All randomness comes from `np.random` (seed it with `np.random.seed` for repeatable samples;
PyTorch seeds it per data-loader worker). Shapes and sizes (`input_shape`, `output_shape`,
`depth_dim`, `bbox_3d_shape`) are arguments; nothing here reads a global configuration.
"""
import math

import numpy as np
import torch
from torch.utils.data import Dataset

from common.utils.crop import crop_patch, load_image, trans_points2d
# the original's affine helpers lived here: still importable from here (docs/SPEC.md §5)
from common.utils.crop import gen_trans_from_patch_cv, trans_point2d  # noqa: F401
from common.utils.pose_utils import k_value, swap_flip_pairs, transform_joint_to_other_db

# augmentation strengths of the original release
SCALE_FACTOR = 0.25          # scale = 1 + clip(N(0,1), -1, 1) * 0.25
ROT_FACTOR = 30.             # rot = clip(N(0,1), -2, 2) * 30 degrees ...
ROT_PROB = 0.6               # ... with this probability, else 0
FLIP_PROB = 0.5
COLOR_FACTOR = 0.2           # each channel x uniform(0.8, 1.2)
OCCLUSION_PROB = 0.5
OCCLUSION_AREA = (0.0, 0.7)  # fraction of the box area
OCCLUSION_RATIO = (0.3, 1. / 0.3)
OCCLUSION_MAX_TRIES = 1000   # the original looped forever; see add_synthetic_occlusion

NO_AUGMENTATION = (1.0, 0.0, False, [1.0, 1.0, 1.0], False)

# `DatasetLoader(transform=RAW_UINT8)`: uint8 crops, colour scale and normalisation on the device
RAW_UINT8 = 'uint8'


# -- augmentation parameters ------------------------------------------------------------------
def get_aug_config():
    """Random training augmentation `(scale, rot, do_flip, color_scale, do_occlusion)`.

    scale: crop size factor in [0.75, 1.25]; rot: degrees in [-60, 60] (0 with probability 0.4);
    do_flip / do_occlusion: bool, probability 0.5 each; color_scale: 3 factors in [0.8, 1.2)
    for the R, G, B channels of the patch. Draw order is the original's.
    """
    scale = float(np.clip(np.random.randn(), -1.0, 1.0) * SCALE_FACTOR + 1.0)
    if np.random.random() <= ROT_PROB:
        rot = float(np.clip(np.random.randn(), -2.0, 2.0) * ROT_FACTOR)
    else:
        rot = 0.0
    do_flip = bool(np.random.random() <= FLIP_PROB)
    color_scale = [float(np.random.uniform(1.0 - COLOR_FACTOR, 1.0 + COLOR_FACTOR))
                   for _ in range(3)]
    do_occlusion = bool(np.random.random() <= OCCLUSION_PROB)
    return scale, rot, do_flip, color_scale, do_occlusion


# -- augmented crop ---------------------------------------------------------------------------
def occlusion_rect(bbox, img_height, img_width, max_tries=OCCLUSION_MAX_TRIES):
    """Where `add_synthetic_occlusion` paints: the original's random placement loop.

    `bbox`: `[x, y, w, h]` px; `img_height`, `img_width`: px. Repeats: area =
    `uniform[0, 0.7) * w * h`, ratio = `uniform[0.3, 1/0.3)`, `rh = sqrt(area*ratio)`,
    `rw = sqrt(area/ratio)`, `xmin = random()*(w - rw - 1) + x`, `ymin = random()*(h - rh - 1) + y`,
    until the rectangle lies inside the image. Returns `(x0, y0, w, h)` in integer px
    (`int(xmin), int(ymin), int(rw), int(rh)`), or None when no placement was found in
    `max_tries` attempts (the original would loop forever; this only happens for boxes that
    hardly overlap the image).
    """
    bx, by, bw, bh = (float(v) for v in np.asarray(bbox, dtype=np.float64).reshape(-1)[:4])
    area_lo, area_hi = OCCLUSION_AREA
    ratio_lo, ratio_hi = OCCLUSION_RATIO
    for _ in range(max_tries):
        area = (np.random.random() * (area_hi - area_lo) + area_lo) * bw * bh
        ratio = np.random.random() * (ratio_hi - ratio_lo) + ratio_lo
        synth_h = math.sqrt(area * ratio)
        synth_w = math.sqrt(area / ratio)
        xmin = np.random.random() * (bw - synth_w - 1) + bx
        ymin = np.random.random() * (bh - synth_h - 1) + by
        if xmin >= 0 and ymin >= 0 and xmin + synth_w < img_width and ymin + synth_h < img_height:
            return int(xmin), int(ymin), int(synth_w), int(synth_h)
    return None


def add_synthetic_occlusion(img, bbox, max_tries=OCCLUSION_MAX_TRIES):
    """Paint one random-noise rectangle over part of the box, in place (the original's loop).

    `img`: `(H, W, C)` uint8, modified in place; `bbox`: `[x, y, w, h]` px. The rectangle is
    `occlusion_rect`'s; it is filled with `uniform[0,1) * 255` (truncated to uint8).
    Returns that rectangle `(x0, y0, w, h)` in integer px, or None (nothing painted).
    """
    rect = occlusion_rect(bbox, img.shape[0], img.shape[1], max_tries)
    if rect is not None:
        x0, y0, w, h = rect
        img[y0:y0 + h, x0:x0 + w, :] = np.random.rand(h, w, img.shape[2]) * 255
    return rect


def generate_patch_image(cvimg, bbox, do_flip, scale, rot, do_occlusion, input_shape, *,
                         as_uint8=False, copy=True):
    """The original's training crop: synthetic occlusion, then `common.utils.crop.crop_patch`.

    `cvimg`: BGR uint8 `(H, W, 3)` (not modified); `bbox`: processed `[x, y, w, h]` px;
    `scale`, `rot` (degrees), `do_flip`, `do_occlusion`: augmentation (see `get_aug_config`);
    `input_shape`: patch `(H_in, W_in)` (the original read it from its global config).
    Occlusion is painted first (in image coordinates), then the flip and the affine.
    Returns `(patch, trans)` as `crop_patch`: RGB float32 `(H_in, W_in, 3)` in [0, 255] (uint8
    view with `as_uint8=True`) and the 2x3 image-to-patch transform. `copy=False`: `cvimg` may
    be painted over by the occlusion (a caller that owns the image saves a full-image copy).
    """
    img = cvimg.copy() if do_occlusion and copy else cvimg    # only the occlusion writes
    if do_occlusion:
        add_synthetic_occlusion(img, bbox)
    return crop_patch(img, bbox, input_shape, do_flip, scale, rot, as_uint8)


def apply_color_scale(patch, color_scale):
    """Multiply each channel of a float32 `(H, W, C)` patch by its factor, clip to [0, 255]."""
    factors = np.asarray(color_scale, dtype=np.float32).reshape(1, 1, -1)
    return np.clip(patch * factors, 0, 255).astype(np.float32, copy=False)


# -- targets ----------------------------------------------------------------------------------
def flip_joints(joint_img, joint_vis, img_width, flip_pairs):
    """Mirror joints for a flipped image: `x -> img_width - x - 1`, swap rows of each pair.

    `joint_img` `(J, 3)`, `joint_vis` `(J, 1)`; returns new arrays.
    """
    joint_img = np.array(joint_img, dtype=np.float64, copy=True)
    joint_img[:, 0] = img_width - joint_img[:, 0] - 1
    return swap_flip_pairs(joint_img, flip_pairs), swap_flip_pairs(joint_vis, flip_pairs)


def joints_to_heatmap(joint_img, joint_vis, trans, input_shape, output_shape, depth_dim,
                      bbox_3d_shape):
    """Image-space joints to heatmap-space targets (docs/SPEC.md §5, steps 6 and 7).

    `joint_img` `(J, 3)`: `[x_px, y_px, z_rel_mm]` (already flipped if the image was);
    `joint_vis` `(J, 1)`; `trans`: 2x3 image-to-patch affine; `input_shape` / `output_shape`:
    `(H, W)` of patch and heatmap; `bbox_3d_shape[0]`: depth range in mm.
    x, y go through `trans`; z -> `(z / (D/2) + 1) / 2` (relative depth in [-D/2, D/2) -> [0, 1));
    vis is zeroed for joints outside `[0, W_in) x [0, H_in) x [0, 1)`; then x, y, z are scaled
    to `[0, W_out) x [0, H_out) x [0, depth_dim)`.
    Returns float64 `(J, 3)` coordinates and float `(J, 1)` visibility.
    """
    joint_img = np.array(joint_img, dtype=np.float64, copy=True)
    joint_vis = np.array(joint_vis, dtype=np.float64, copy=True).reshape(len(joint_img), -1)
    in_h, in_w = input_shape[0], input_shape[1]
    out_h, out_w = output_shape[0], output_shape[1]

    joint_img[:, 0:2] = trans_points2d(joint_img[:, 0:2], trans)
    joint_img[:, 2] /= (bbox_3d_shape[0] / 2.)
    joint_img[:, 2] = (joint_img[:, 2] + 1.0) / 2.
    x, y, z = joint_img[:, 0], joint_img[:, 1], joint_img[:, 2]
    inside = (x >= 0) & (x < in_w) & (y >= 0) & (y < in_h) & (z >= 0) & (z < 1)
    joint_vis *= inside[:, None]

    joint_img[:, 0] = joint_img[:, 0] / in_w * out_w
    joint_img[:, 1] = joint_img[:, 1] / in_h * out_h
    joint_img[:, 2] = joint_img[:, 2] * depth_dim
    return joint_img, joint_vis


# -- dataset ----------------------------------------------------------------------------------
def crop_sample(cvimg, bbox, do_flip, scale, rot, do_occlusion, color_scale, input_shape,
                transform):
    """The network input of one sample and its image-to-patch affine (both loaders' step 3-4).

    `cvimg`: BGR uint8 image read for this sample only (occlusion may paint it in place on the
    uint8 path); augmentation as `get_aug_config`; `transform`: the original's (float patch,
    colour scale, then `transform(patch)`), None (the float patch), or `RAW_UINT8` (`{'img':
    uint8 (3, H_in, W_in) tensor, 'color_scale': (3,) tensor}` for `normalise_batch`).
    Returns `(img, trans)`.
    """
    if isinstance(transform, str) and transform == RAW_UINT8:
        patch, trans = generate_patch_image(cvimg, bbox, do_flip, scale, rot, do_occlusion,
                                            input_shape, as_uint8=True, copy=False)
        img = {'img': torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1))),
               'color_scale': torch.tensor(color_scale, dtype=torch.float32)}
        return img, trans
    patch, trans = generate_patch_image(cvimg, bbox, do_flip, scale, rot, do_occlusion,
                                        input_shape)
    patch = apply_color_scale(patch, color_scale)
    return (transform(patch) if transform is not None else patch), trans


class CropLoader(Dataset):
    """What both loaders share: how a sample's image is read and cropped. `data/gpu_batch.py`
    replaces these two steps (JPEG bytes out, the crop done on the device)."""

    def read_image(self, path):
        """The sample's image: BGR uint8 `(H, W, 3)` (`load_image`)."""
        return load_image(path)

    def crop(self, cvimg, bbox, do_flip, scale, rot, do_occlusion, color_scale):
        """`crop_sample` with this loader's `input_shape` and `transform`: `(img, trans)`."""
        return crop_sample(cvimg, bbox, do_flip, scale, rot, do_occlusion, color_scale,
                           self.input_shape, self.transform)


class DatasetLoader(CropLoader):
    """Torch dataset of crops from one dataset object (docs/SPEC.md §5).

    `db`: object with `data` (list of entries), `joint_num`, `joints_name`, `flip_pairs`,
    `joints_have_depth` (and usually `skeleton`); `ref_joints_name`: joint names to map the
    targets to (None: keep `db`'s joints); `is_train`: random augmentation and targets, else a
    plain crop and the image only; `transform`: callable on the RGB float32 `(H_in, W_in, 3)`
    patch (normally `get_transform()`, the original's), None = return the patch array
    unchanged, or `RAW_UINT8`: `img` is `{'img': uint8 (3, H_in, W_in) RGB tensor,
    'color_scale': float32 (3,) tensor}` (the patch before the colour scale), to be turned into
    the network input on the device by `normalise_batch` (bit-identical to `get_transform`'s).

    Training item: `(img, joint_img float32 (J_ref, 3), joint_vis float32 (J_ref, 1),
    have_depth float32 (1,))`, coordinates in heatmap space. Test item: `img` only.
    The entries of `db.data` are never modified.
    """

    def __init__(self, db, ref_joints_name, is_train, transform, *, input_shape, output_shape,
                 depth_dim, bbox_3d_shape):
        self.db = db.data
        self.joint_num = db.joint_num
        self.skeleton = getattr(db, 'skeleton', None)
        self.flip_pairs = db.flip_pairs
        self.joints_have_depth = db.joints_have_depth
        self.joints_name = db.joints_name
        self.ref_joints_name = ref_joints_name
        self.transform = transform
        self.is_train = is_train
        self.do_augment = bool(is_train)
        self.input_shape = tuple(input_shape)
        self.output_shape = tuple(output_shape)
        self.depth_dim = int(depth_dim)
        self.bbox_3d_shape = tuple(bbox_3d_shape)

    def __len__(self):
        return len(self.db)

    def __getitem__(self, index):
        data = self.db[index]
        bbox = np.asarray(data['bbox'], dtype=np.float64).reshape(4)

        # 1. image
        cvimg = self.read_image(data['img_path'])
        img_width = cvimg.shape[1]

        # 2. augmentation parameters
        if self.do_augment:
            scale, rot, do_flip, color_scale, do_occlusion = get_aug_config()
        else:
            scale, rot, do_flip, color_scale, do_occlusion = NO_AUGMENTATION

        # 3-4. crop (occlusion, flip, scale, rotation), colour scale
        img, trans = self.crop(cvimg, bbox, do_flip, scale, rot, do_occlusion, color_scale)
        if not self.is_train:
            return img

        # 5-7. targets
        joint_img = np.array(data['joint_img'], dtype=np.float64, copy=True)
        joint_vis = np.array(data['joint_vis'], dtype=np.float64, copy=True).reshape(-1, 1)
        if do_flip:
            joint_img, joint_vis = flip_joints(joint_img, joint_vis, img_width, self.flip_pairs)
        joint_img, joint_vis = joints_to_heatmap(joint_img, joint_vis, trans, self.input_shape,
                                                 self.output_shape, self.depth_dim,
                                                 self.bbox_3d_shape)

        # 9. reference joint set
        if self.ref_joints_name is not None:
            joint_img = transform_joint_to_other_db(joint_img, self.joints_name,
                                                    self.ref_joints_name)
            joint_vis = transform_joint_to_other_db(joint_vis, self.joints_name,
                                                    self.ref_joints_name)

        joint_img = joint_img.astype(np.float32)
        joint_vis = (joint_vis > 0).astype(np.float32)
        have_depth = np.array([self.joints_have_depth], dtype=np.float32)
        return img, joint_img, joint_vis, have_depth


# -- RootNet ----------------------------------------------------------------------------------
ROOTNET_BBOX_REAL = (2000., 2000.)   # mm, the real size a person box stands for (docs/SPEC.md §13)


def get_root_aug_config():
    """RootNet's training augmentation `(rot, do_flip, color_scale)`: rotation
    `clip(N(0,1), -2, 2) * 30` degrees with probability 0.6 (else 0), a flip with probability
    0.5, three colour factors in [0.8, 1.2); no scale, no occlusion (the RootNet release's)."""
    if np.random.random() <= ROT_PROB:
        rot = float(np.clip(np.random.randn(), -2.0, 2.0) * ROT_FACTOR)
    else:
        rot = 0.0
    do_flip = bool(np.random.random() <= FLIP_PROB)
    color_scale = [float(np.random.uniform(1.0 - COLOR_FACTOR, 1.0 + COLOR_FACTOR))
                   for _ in range(3)]
    return rot, do_flip, color_scale


def root_target(data, root_idx):
    """`(root_img (3,) [x_px, y_px, Z_mm], root_vis (1,))` of an entry: the root joint's pixel,
    its camera depth (3D sets; 0 for 2D sets), and its visibility (`root_vis` when the loader
    read one, else the joint's)."""
    joint_img = np.asarray(data['joint_img'], dtype=np.float64)
    depth = float(data['root_cam'][2]) if 'root_cam' in data else 0.
    vis = data.get('root_vis',
                   np.asarray(data['joint_vis'], dtype=np.float64).reshape(-1)[root_idx])
    return (np.array([joint_img[root_idx, 0], joint_img[root_idx, 1], depth]),
            np.array([float(vis)]))


class RootNetLoader(CropLoader):
    """Torch dataset of RootNet crops and targets from the same dataset objects (docs/SPEC.md §13).

    `db`: a dataset object (`data`, `root_idx`, `joints_have_depth`; MuCo's
    `rootnet_depth_range` drops people outside it); `is_train`: RootNet's augmentation
    (`get_root_aug_config`) and targets; `transform` as for `DatasetLoader` (`crop_sample`);
    `input_shape`, `output_shape` `(H, W)`; `bbox_real` mm.

    Training item: `(img, k (1,) float32 mm, root_img (3,) float32 [x, y output space, Z mm],
    root_vis (1,), have_depth (1,))`; test item: `(img, k)`. `k` comes from the entry's focal
    length and processed box area, unchanged by augmentation.
    """

    def __init__(self, db, is_train, transform, *, input_shape, output_shape,
                 bbox_real=ROOTNET_BBOX_REAL):
        self.db = list(db.data)
        depth_range = getattr(db, 'rootnet_depth_range', None)
        if depth_range is not None:
            lo, hi = depth_range
            self.db = [e for e in self.db if lo <= float(e['root_cam'][2]) <= hi]
        self.root_idx = db.root_idx
        self.joints_have_depth = db.joints_have_depth
        self.transform = transform
        self.is_train = is_train
        self.input_shape = tuple(input_shape)
        self.output_shape = tuple(output_shape)
        self.bbox_real = tuple(bbox_real)

    def __len__(self):
        return len(self.db)

    def k_value(self, data):
        """RootNet's `k` of an entry (`common.utils.pose_utils.k_value` of its focal length and
        processed box) as float32 `(1,)` mm, as the original fed it."""
        return np.array([k_value(data['bbox'], data['f'], self.bbox_real)], dtype=np.float32)

    def __getitem__(self, index):
        data = self.db[index]
        bbox = np.asarray(data['bbox'], dtype=np.float64).reshape(4)
        cvimg = self.read_image(data['img_path'])
        img_width = cvimg.shape[1]
        rot, do_flip, color_scale = get_root_aug_config() if self.is_train else \
            (0.0, False, [1.0, 1.0, 1.0])
        img, trans = self.crop(cvimg, bbox, do_flip, 1.0, rot, False, color_scale)
        k = self.k_value(data)
        if not self.is_train:
            return img, k

        root_img, root_vis = root_target(data, self.root_idx)
        if do_flip:
            root_img[0] = img_width - root_img[0] - 1
        root_img[:2] = trans_points2d(root_img[:2], trans)[0]
        in_h, in_w = self.input_shape
        root_vis *= (0 <= root_img[0] < in_w) and (0 <= root_img[1] < in_h)
        root_img[0] = root_img[0] / in_w * self.output_shape[1]
        root_img[1] = root_img[1] / in_h * self.output_shape[0]
        return (img, k, root_img.astype(np.float32), root_vis.astype(np.float32),
                np.array([self.joints_have_depth], dtype=np.float32))
