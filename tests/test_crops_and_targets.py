"""Crops, augmentation and targets (docs/SPEC.md §5) on tiny generated images."""
import cv2
import numpy as np
import pytest
import torch

import data.dataset as ds
from common.utils.crop import (gen_trans_from_patch_cv, get_transform, trans_point2d,
                               trans_points2d)
from common.utils.errors import PoseNetError
from data.dataset import (DatasetLoader, add_synthetic_occlusion, generate_patch_image,
                          get_aug_config)
from data.multiple_datasets import MultipleDatasets
from main.config import Config

IMG_W, IMG_H = 120, 100
JOINTS = ('Pelvis', 'L_Hand', 'R_Hand', 'Head')
FLIP_PAIRS = ((1, 2),)
BOX = [20., 18., 64., 64.]          # centre (52, 50); 64 px = the 64 px patch: scale 1


class FakeDB:
    """The attributes DatasetLoader reads from a dataset object."""

    def __init__(self, data, joints_have_depth=True):
        self.data = data
        self.joint_num = len(JOINTS)
        self.joints_name = JOINTS
        self.flip_pairs = FLIP_PAIRS
        self.skeleton = ((0, 1), (0, 2), (0, 3))
        self.joints_have_depth = joints_have_depth


def textured_image():
    """BGR uint8 image whose every pixel differs from its mirror (x, y, channel ramps)."""
    y, x = np.mgrid[0:IMG_H, 0:IMG_W]
    img = np.stack([(2 * x + y) % 256, (3 * y + x * x) % 251, (x * y + 17) % 253], axis=-1)
    return img.astype(np.uint8)


def write_image(tmp_path, img, name='img.png'):
    path = tmp_path / name
    assert cv2.imwrite(str(path), img)
    return str(path)


def entry(path, joint_img, joint_vis=None, bbox=BOX):
    joint_img = np.asarray(joint_img, dtype=np.float64)
    if joint_vis is None:
        joint_vis = np.ones((len(joint_img), 1))
    return {'img_path': path, 'bbox': np.asarray(bbox, dtype=np.float64), 'joint_img': joint_img,
            'joint_vis': np.asarray(joint_vis, dtype=np.float64)}


@pytest.fixture
def small_cfg():
    """A 64 x 64 input: heatmap 16 x 16, 64 depth bins."""
    cfg = Config(input_shape=(64, 64))
    assert cfg.output_shape == (16, 16) and cfg.depth_dim == 64
    return cfg


def Loader(db, ref_joints_name, is_train, transform, cfg):
    """`DatasetLoader` with the geometry of `cfg`."""
    return DatasetLoader(db, ref_joints_name, is_train, transform, input_shape=cfg.input_shape,
                         output_shape=cfg.output_shape, depth_dim=cfg.depth_dim,
                         bbox_3d_shape=cfg.bbox_3d_shape)


def transform_of(cfg):
    return get_transform(cfg.pixel_mean, cfg.pixel_std)


def fixed_aug(monkeypatch, scale=1.0, rot=0.0, flip=False, color=(1., 1., 1.), occlusion=False):
    monkeypatch.setattr(ds, 'get_aug_config',
                        lambda: (scale, rot, flip, list(color), occlusion))


# -- no augmentation ------------------------------------------------------------------------------
def test_centre_joint_lands_at_heatmap_centre_and_depth_bin(tmp_path, small_cfg, monkeypatch):
    fixed_aug(monkeypatch)
    path = write_image(tmp_path, textured_image())
    joints = [[52., 50., 0.],       # box centre, root depth
              [52., 50., 250.],     # 250 mm behind: (250/1000 + 1)/2 * 64 = 40
              [36., 34., -500.],    # quarter box up-left, 500 mm in front: bin 16
              [85., 83., 999.]]     # past the box corner (patch 65: outside, vis 0)
    loader = Loader(FakeDB([entry(path, joints)]), None, True, transform_of(small_cfg), small_cfg)
    img, joint_img, joint_vis, have_depth = loader[0]
    assert img.shape == (3, 64, 64) and img.dtype == torch.float32
    assert joint_img.dtype == np.float32 and joint_img.shape == (4, 3)
    assert joint_vis.dtype == np.float32 and joint_vis.shape == (4, 1)
    np.testing.assert_allclose(joint_img, [[8., 8., 32.], [8., 8., 40.], [4., 4., 16.],
                                           [16.25, 16.25, 63.968]], atol=1e-4)
    np.testing.assert_array_equal(joint_vis[:, 0], [1., 1., 1., 0.])
    np.testing.assert_array_equal(have_depth, np.array([1.], dtype=np.float32))


def test_no_augmentation_patch_is_the_box_in_rgb(tmp_path, small_cfg):
    img = textured_image()
    patch, trans = generate_patch_image(img, BOX, False, 1.0, 0.0, False, (64, 64))
    assert patch.dtype == np.float32 and patch.shape == (64, 64, 3)
    # scale 1, integer offset: patch pixel (u, v) = image pixel (u + 20, v + 18), channels reversed
    np.testing.assert_array_equal(patch, img[18:82, 20:84, ::-1].astype(np.float32))
    np.testing.assert_allclose(trans, [[1., 0., -20.], [0., 1., -18.]], atol=1e-5)


def test_have_depth_and_2d_dataset(tmp_path, small_cfg, monkeypatch):
    fixed_aug(monkeypatch)
    path = write_image(tmp_path, textured_image())
    db = FakeDB([entry(path, np.tile([52., 50., 0.], (4, 1)), [[1], [0], [2], [1]])],
                joints_have_depth=False)
    _, joint_img, joint_vis, have_depth = Loader(db, None, True, None, small_cfg)[0]
    np.testing.assert_array_equal(have_depth, [0.])
    np.testing.assert_array_equal(joint_vis[:, 0], [1., 0., 1., 1.])    # vis > 0 as 0/1
    np.testing.assert_allclose(joint_img[:, 2], 32.)                     # z = 0 -> middle bin


# -- truncation --------------------------------------------------------------------------------
def test_truncation_zeroes_vis_outside_crop_and_depth_range(tmp_path, small_cfg, monkeypatch):
    fixed_aug(monkeypatch)
    path = write_image(tmp_path, textured_image())
    joints = [[19., 50., 0.],       # 1 px left of the box: patch x = -1
              [20.1, 81.9, 0.],     # inside (patch x = 0.1, y = 63.9)
              [52., 50., 1000.],    # z = 1 is outside [0, 1)
              [52., 50., -1000.]]   # z = 0 is inside
    _, joint_img, joint_vis, _ = Loader(FakeDB([entry(path, joints)]), None, True, None, small_cfg)[0]
    np.testing.assert_array_equal(joint_vis[:, 0], [0., 1., 0., 1.])
    np.testing.assert_allclose(joint_img[:, 0], [-0.25, 0.025, 8., 8.], atol=1e-4)
    np.testing.assert_allclose(joint_img[:, 2], [32., 32., 64., 0.], atol=1e-4)


# -- flip ----------------------------------------------------------------------------------------
def test_flipped_patch_is_the_mirrored_patch(small_cfg):
    """Flip mirrors about the patch centre x = W_in/2: flipped[:, u] = plain[:, W_in - u].

    np.fliplr mirrors about (W_in - 1)/2, so flipped[:, 1:] == fliplr(plain)[:, :-1]. That
    one-pixel offset is the original's (image x -> W - 1 - x with box centre cx -> W - cx - 1);
    the joints follow the same map, so image and targets stay consistent.
    """
    img = textured_image()
    plain, _ = generate_patch_image(img, BOX, False, 1.0, 0.0, False, (64, 64))
    flipped, trans = generate_patch_image(img, BOX, True, 1.0, 0.0, False, (64, 64))
    np.testing.assert_array_equal(flipped[:, 1:], np.fliplr(plain)[:, :-1])
    assert not np.array_equal(flipped, np.fliplr(plain))
    # flipped box centre: 120 - 52 - 1 = 67 -> patch 32
    np.testing.assert_allclose(trans_point2d((67., 50.), trans), [32., 32.], atol=1e-4)


def test_flipped_patch_with_scale_and_rotation_within_interpolation_tolerance(small_cfg):
    y, x = np.mgrid[0:IMG_H, 0:IMG_W].astype(np.float64)
    smooth = np.stack([127 + 100 * np.sin(x / 9.) * np.cos(y / 13.), 2 * x, y + x / 2], -1)
    smooth = np.clip(smooth, 0, 255).astype(np.uint8)
    box = [31.3, 27.9, 40.2, 40.2]
    plain, _ = generate_patch_image(smooth, box, False, 1.1, 0.0, False, (64, 64))
    flipped, _ = generate_patch_image(smooth, box, True, 1.1, 0.0, False, (64, 64))
    diff = np.abs(flipped[:, 1:] - np.fliplr(plain)[:, :-1])
    assert diff.max() <= 2.0           # bilinear weights are quantised to 1/32 px by OpenCV
    assert np.abs(flipped - plain).max() > 50     # and the flip did change the patch


def test_flip_swaps_joint_sides(tmp_path, small_cfg, monkeypatch):
    path = write_image(tmp_path, textured_image())
    joints = [[52., 50., 0.], [40., 60., 100.], [70., 54., -100.], [56., 26., 0.]]
    loader = Loader(FakeDB([entry(path, joints, [[1], [1], [0], [1]])]), None, True, None, small_cfg)
    fixed_aug(monkeypatch)
    _, plain, plain_vis, _ = loader[0]
    fixed_aug(monkeypatch, flip=True)
    _, flipped, flipped_vis, _ = loader[0]
    # patch x u -> W_in - u, i.e. heatmap x -> 16 - x; L/R rows swapped (vis too)
    swap = [0, 2, 1, 3]
    np.testing.assert_allclose(flipped[:, 0], 16. - plain[swap, 0], atol=1e-4)
    np.testing.assert_allclose(flipped[:, 1:], plain[swap, 1:], atol=1e-4)
    np.testing.assert_array_equal(flipped_vis[:, 0], [1., 0., 1., 1.])
    np.testing.assert_allclose(flipped[1], [16. - 12.5, 9., 28.8], atol=1e-4)   # old R_Hand
    # the entry itself is never modified
    np.testing.assert_array_equal(loader.db[0]['joint_img'], joints)
    np.testing.assert_array_equal(loader.db[0]['joint_vis'][:, 0], [1., 1., 0., 1.])


def test_flipped_joint_keeps_its_pixel(small_cfg):
    """The colour under a joint is the same in the plain and the flipped patch."""
    img = textured_image()
    plain, t_plain = generate_patch_image(img, BOX, False, 1.0, 0.0, False, (64, 64))
    flipped, t_flip = generate_patch_image(img, BOX, True, 1.0, 0.0, False, (64, 64))
    for x, y in [(30., 40.), (61., 22.), (77., 70.)]:
        u, v = np.rint(trans_point2d((x, y), t_plain)).astype(int)
        uf, vf = np.rint(trans_point2d((IMG_W - x - 1, y), t_flip)).astype(int)
        assert (uf, vf) == (64 - u, v)
        np.testing.assert_array_equal(flipped[vf, uf], plain[v, u])
        np.testing.assert_array_equal(plain[v, u], img[int(y), int(x), ::-1])


# -- affine transform ----------------------------------------------------------------------------
def test_inverse_transform_composes_to_identity():
    fwd = gen_trans_from_patch_cv(52.5, 47.25, 80., 60., 64, 48, 1.2, 30., inv=False)
    inv = gen_trans_from_patch_cv(52.5, 47.25, 80., 60., 64, 48, 1.2, 30., inv=True)
    assert fwd.shape == (2, 3) and inv.shape == (2, 3)
    as3 = lambda t: np.vstack([t, [0., 0., 1.]])
    np.testing.assert_allclose(as3(inv) @ as3(fwd), np.eye(3), atol=1e-5)
    np.testing.assert_allclose(as3(fwd) @ as3(inv), np.eye(3), atol=1e-5)
    np.testing.assert_allclose(trans_point2d((32., 24.), inv), [52.5, 47.25], atol=1e-4)


def test_transform_maps_box_onto_patch_with_scale():
    # box 80 x 60 at centre (50, 40) enlarged 1.25 -> 100 x 75 spans the 64 x 48 patch
    t = gen_trans_from_patch_cv(50., 40., 80., 60., 64, 48, 1.25, 0.)
    pts = trans_points2d([[50., 40.], [0., 2.5], [100., 77.5]], t)
    np.testing.assert_allclose(pts, [[32., 24.], [0., 0.], [64., 48.]], atol=1e-4)


def test_trans_points2d_matches_trans_point2d():
    t = gen_trans_from_patch_cv(10., 20., 30., 40., 64, 64, 0.9, -17., inv=False)
    pts = np.random.default_rng(3).uniform(-50, 150, size=(7, 2))
    np.testing.assert_allclose(trans_points2d(pts, t), [trans_point2d(p, t) for p in pts],
                               atol=1e-12)


def test_rotation_direction(tmp_path, small_cfg, monkeypatch):
    """rot = +90: source vector (0, d) rotated by x' = x cos - y sin, y' = x sin + y cos
    is (-d, 0), and it maps onto the patch's down direction; (d, 0) -> (0, d) maps onto right.
    So an image point left of the centre lands below the patch centre, one above it lands left.
    """
    t = gen_trans_from_patch_cv(52., 50., 64., 64., 64, 64, 1.0, 90.)
    np.testing.assert_allclose(trans_points2d([[36., 50.], [52., 34.], [52., 66.]], t),
                               [[32., 48.], [16., 32.], [48., 32.]], atol=1e-4)
    fixed_aug(monkeypatch, rot=90.)
    path = write_image(tmp_path, textured_image())
    joints = [[52., 50., 0.], [36., 50., 0.], [52., 34., 0.], [68., 50., 0.]]
    _, joint_img, _, _ = Loader(FakeDB([entry(path, joints)]), None, True, None, small_cfg)[0]
    np.testing.assert_allclose(joint_img[:, :2], [[8., 8.], [8., 12.], [4., 8.], [8., 4.]],
                               atol=1e-4)


def test_rotated_patch_content():
    img = textured_image()
    plain, _ = generate_patch_image(img, BOX, False, 1.0, 0.0, False, input_shape=(64, 64))
    rot, _ = generate_patch_image(img, BOX, False, 1.0, 90.0, False, input_shape=(64, 64))
    # patch (u, v) of the rotated crop shows image point centre + (-(v-32), u-32),
    # i.e. plain patch pixel (32 - (v - 32), 32 + (u - 32)) = (64 - v, u)
    for u, v in [(40, 20), (10, 50), (33, 33)]:
        np.testing.assert_array_equal(rot[v, u], plain[u, 64 - v])


# -- occlusion -------------------------------------------------------------------------------------
@pytest.mark.parametrize('bbox', [[20., 18., 64., 64.], [-20., -10., 64., 64.],
                                  [80., 60., 50., 50.]])
def test_occlusion_rectangle_inside_image_and_only_there(bbox):
    for seed in range(20):
        img = np.full((IMG_H, IMG_W, 3), 7, dtype=np.uint8)
        np.random.seed(seed)
        rect = add_synthetic_occlusion(img, bbox)
        assert rect is not None
        x0, y0, w, h = rect
        assert x0 >= 0 and y0 >= 0 and x0 + w <= IMG_W and y0 + h <= IMG_H
        # starts no further right/down than the box allows; at most 0.7 of the box area
        assert x0 <= bbox[0] + bbox[2] and y0 <= bbox[1] + bbox[3]
        assert w * h <= 0.7 * bbox[2] * bbox[3]
        changed = np.any(img != 7, axis=-1)
        outside = np.ones_like(changed)
        outside[y0:y0 + h, x0:x0 + w] = False
        assert not changed[outside].any()
        if w * h > 0:
            assert changed[~outside].mean() > 0.95


def test_occlusion_gives_up_when_box_misses_image():
    img = np.zeros((10, 10, 3), dtype=np.uint8)
    assert add_synthetic_occlusion(img, [100., 100., 20., 20.], max_tries=50) is None
    assert not img.any()


def test_occlusion_in_patch_changes_only_the_rectangle(small_cfg):
    img = textured_image()
    plain, _ = generate_patch_image(img, BOX, False, 1.0, 0.0, False, (64, 64))
    np.random.seed(11)
    occluded, _ = generate_patch_image(img, BOX, False, 1.0, 0.0, True, (64, 64))
    np.random.seed(11)                                   # same draws -> same rectangle
    x0, y0, w, h = add_synthetic_occlusion(img.copy(), BOX)
    assert w * h > 0
    # scale 1: image (x, y) -> patch (x - 20, y - 18)
    in_image = np.zeros(img.shape[:2], dtype=bool)
    in_image[y0:y0 + h, x0:x0 + w] = True
    mask = in_image[18:82, 20:84]
    assert mask.any()
    diff = np.any(occluded != plain, axis=-1)
    assert not diff[~mask].any()
    assert diff[mask].mean() > 0.9
    np.testing.assert_array_equal(img, textured_image())      # the input image is untouched


# -- colour ----------------------------------------------------------------------------------------
def test_color_scale_per_rgb_channel_and_clipping(tmp_path, small_cfg, monkeypatch):
    bgr = np.empty((IMG_H, IMG_W, 3), dtype=np.uint8)
    bgr[...] = (100, 200, 150)                              # B, G, R
    path = write_image(tmp_path, bgr)
    fixed_aug(monkeypatch, color=(2.0, 0.5, 1.1))           # R, G, B factors
    img, _, _, _ = Loader(FakeDB([entry(path, np.zeros((4, 3)))]), None, True, None, small_cfg)[0]
    assert img.dtype == np.float32 and img.shape == (64, 64, 3)
    # R 150*2 = 300 -> 255, G 200*0.5 = 100, B 100*1.1 = 110
    np.testing.assert_allclose(img[10, 20], [255., 100., 110.], atol=1e-4)
    assert img.max() == 255. and img.min() >= 0.


# -- reference joint set ---------------------------------------------------------------------------
def test_ref_joints_name_mapping(tmp_path, small_cfg, monkeypatch):
    fixed_aug(monkeypatch)
    path = write_image(tmp_path, textured_image())
    joints = [[52., 50., 0.], [40., 60., 100.], [70., 54., -100.], [56., 26., 0.]]
    loader = Loader(FakeDB([entry(path, joints)]), ('Head', 'Neck', 'Pelvis', 'L_Hand'),
                           True, None, small_cfg)
    _, joint_img, joint_vis, _ = loader[0]
    assert joint_img.shape == (4, 3) and joint_vis.shape == (4, 1)
    np.testing.assert_allclose(joint_img, [[9., 2., 32.], [0., 0., 0.], [8., 8., 32.],
                                           [5., 10.5, 35.2]], atol=1e-4)
    np.testing.assert_array_equal(joint_vis[:, 0], [1., 0., 1., 1.])


# -- test mode ---------------------------------------------------------------------------------------
def test_test_mode_returns_normalised_0_255_tensor(tmp_path, small_cfg, monkeypatch):
    bgr = np.empty((IMG_H, IMG_W, 3), dtype=np.uint8)
    bgr[...] = (10, 20, 30)
    path = write_image(tmp_path, bgr)
    # test mode never draws augmentation
    monkeypatch.setattr(ds, 'get_aug_config', lambda: pytest.fail('augmented in test mode'))
    db = FakeDB([{'img_path': path, 'bbox': np.array(BOX)}])    # no joints needed
    loader = Loader(db, None, False, transform_of(small_cfg), small_cfg)
    img = loader[0]
    assert isinstance(img, torch.Tensor) and img.shape == (3, 64, 64) and img.dtype == torch.float32
    # RGB (30, 20, 10), not divided by 255 (compat): (v - mean) / std
    expected = [(30 - 0.485) / 0.229, (20 - 0.456) / 0.224, (10 - 0.406) / 0.225]
    np.testing.assert_allclose(img[:, 5, 7].numpy(), expected, rtol=1e-5)
    assert len(loader) == 1


def test_get_transform_uses_the_given_mean_std():
    t = get_transform((1., 2., 3.), (2., 4., 8.))(np.full((2, 2, 3), 9., dtype=np.float32))
    np.testing.assert_allclose(t[:, 0, 0].numpy(), [4., 1.75, 0.75])


# -- augmentation parameters --------------------------------------------------------------------------
def test_aug_config_ranges_and_reproducibility():
    np.random.seed(5)
    draws = [get_aug_config() for _ in range(400)]
    np.random.seed(5)
    assert [get_aug_config() for _ in range(400)] == draws
    scale = np.array([d[0] for d in draws])
    rot = np.array([d[1] for d in draws])
    color = np.array([d[3] for d in draws])
    assert scale.min() >= 0.75 and scale.max() <= 1.25 and (scale == 1.25).any()
    assert np.abs(rot).max() <= 60. and 0.3 < (rot == 0).mean() < 0.5
    assert color.shape == (400, 3) and color.min() >= 0.8 and color.max() <= 1.2
    assert 0.4 < np.mean([d[2] for d in draws]) < 0.6
    assert 0.4 < np.mean([d[4] for d in draws]) < 0.6
    assert all(isinstance(d[2], bool) and isinstance(d[4], bool) for d in draws)


def test_training_samples_are_reproducible_with_seed(tmp_path, small_cfg):
    path = write_image(tmp_path, textured_image())
    joints = [[52., 50., 0.], [40., 60., 100.], [70., 54., -100.], [56., 26., 0.]]
    loader = Loader(FakeDB([entry(path, joints)]), None, True, transform_of(small_cfg), small_cfg)
    np.random.seed(123)
    first = loader[0]
    np.random.seed(123)
    second = loader[0]
    assert torch.equal(first[0], second[0])
    for a, b in zip(first[1:], second[1:]):
        np.testing.assert_array_equal(a, b)


# -- errors ------------------------------------------------------------------------------------------
def test_unreadable_image_names_the_path(tmp_path, small_cfg):
    missing = str(tmp_path / 'nope.jpg')
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'not an image')
    for path in (missing, str(broken)):
        loader = Loader(FakeDB([{'img_path': path, 'bbox': np.array(BOX)}]), None, False,
                               None, small_cfg)
        with pytest.raises(PoseNetError, match='cannot read image') as info:
            loader[0]
        assert path in str(info.value)


# -- MultipleDatasets --------------------------------------------------------------------------------
def named(name, n):
    return [(name, i) for i in range(n)]


def test_multiple_datasets_concatenation():
    mixed = MultipleDatasets([named('a', 3), named('b', 0), named('c', 2)], make_same_len=False)
    assert len(mixed) == 5
    assert [mixed[i] for i in range(5)] == [('a', 0), ('a', 1), ('a', 2), ('c', 0), ('c', 1)]
    assert mixed[-1] == ('c', 1)
    with pytest.raises(IndexError):
        mixed[5]


def test_multiple_datasets_same_length():
    mixed = MultipleDatasets([named('a', 5), named('b', 2), named('c', 3)], make_same_len=True)
    assert len(mixed) == 15
    np.random.seed(0)
    items = [mixed[i] for i in range(15)]
    # a: 0..4; b: 5 // 2 = 2 repetitions (k < 4) then random; c: one repetition (k < 3) then random
    assert items[:9] == [('a', 0), ('a', 1), ('a', 2), ('a', 3), ('a', 4),
                         ('b', 0), ('b', 1), ('b', 0), ('b', 1)]
    assert items[10:13] == [('c', 0), ('c', 1), ('c', 2)]
    assert items[9][0] == 'b' and items[13][0] == 'c' and items[14][0] == 'c'
    for seed in range(10):          # the modular part never depends on the random state
        np.random.seed(seed)
        assert [mixed[i] for i in (5, 6, 7, 8, 10, 11, 12)] == [
            ('b', 0), ('b', 1), ('b', 0), ('b', 1), ('c', 0), ('c', 1), ('c', 2)]
    seen_b = {mixed[9][1] for _ in range(50)}
    seen_c = {mixed[14][1] for _ in range(60)}
    assert seen_b == {0, 1} and seen_c == {0, 1, 2}      # random over the whole dataset
    np.random.seed(0)
    assert [mixed[i] for i in range(15)] == items          # repeatable with np.random.seed
    with pytest.raises(IndexError):
        mixed[15]


def test_multiple_datasets_nested_and_empty():
    inner3d = MultipleDatasets([named('h36m', 4), named('muco', 2)], make_same_len=False)
    inner2d = MultipleDatasets([], make_same_len=False)
    assert len(inner2d) == 0
    outer = MultipleDatasets([inner3d, inner2d], make_same_len=True)
    assert len(outer) == 6
    assert [outer[i] for i in range(6)] == named('h36m', 4) + named('muco', 2)
    both = MultipleDatasets([inner3d, named('mpii', 4)], make_same_len=True)
    assert len(both) == 12
    np.random.seed(1)
    assert [both[i] for i in range(6, 10)] == named('mpii', 4)
    assert both[10][0] == 'mpii' and both[11][0] == 'mpii'
