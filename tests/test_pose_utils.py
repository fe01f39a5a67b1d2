"""Geometry helpers of docs/SPEC.md §2, checked against hand-computed values."""
import numpy as np
import pytest

from common.utils.pose_utils import (cam2pixel, fliplr_joints, get_bbox, heatmap_to_pixel,
                                     pixel2cam, process_bbox, process_bboxes, rigid_align,
                                     rigid_transform_3D, similarity_transform_3D, swap_flip_pairs,
                                     transform_joint_to_other_db, world2cam)
from tool.reference import align_one   # the straightforward single-pair alignment


def rotation(axis, deg):
    """Rotation matrix about a unit axis (Rodrigues)."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    a = np.deg2rad(deg)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * K + (1 - np.cos(a)) * K @ K


# -- projections ------------------------------------------------------------------------------
def test_cam2pixel_hand_value():
    pix = cam2pixel(np.array([[100., -200., 2000.], [0., 0., 4000.]]), (1000., 1100.), (320., 240.))
    np.testing.assert_allclose(pix, [[370., 130., 2000.], [320., 240., 4000.]], atol=1e-9)


def test_pixel2cam_hand_value():
    cam = pixel2cam(np.array([[370., 130., 2000.]]), (1000., 1100.), (320., 240.))
    np.testing.assert_allclose(cam, [[100., -200., 2000.]], atol=1e-9)


def test_cam2pixel_pixel2cam_round_trip():
    rng = np.random.default_rng(0)
    cam = np.column_stack([rng.uniform(-800, 800, 20), rng.uniform(-900, 900, 20),
                           rng.uniform(2000, 7000, 20)])
    f, c = np.array([1145.0, 1143.8]), np.array([512.5, 515.5])
    np.testing.assert_allclose(pixel2cam(cam2pixel(cam, f, c), f, c), cam, rtol=1e-9, atol=1e-6)
    pix = cam2pixel(cam, f, c)
    np.testing.assert_allclose(cam2pixel(pixel2cam(pix, f, c), f, c), pix, rtol=1e-9, atol=1e-6)


def test_world2cam_known_rotation_translation():
    R = np.array([[0., -1., 0.], [1., 0., 0.], [0., 0., 1.]])   # 90 degrees about z
    t = np.array([10., 20., 30.])
    cam = world2cam(np.array([[1., 2., 3.], [0., 0., 0.]]), R, t)
    np.testing.assert_allclose(cam, [[8., 21., 33.], [10., 20., 30.]], atol=1e-12)


# -- rigid alignment ----------------------------------------------------------------------------
@pytest.fixture
def cloud():
    return np.random.default_rng(1).normal(scale=300., size=(17, 3))


def test_rigid_transform_recovers_rotation_and_translation(cloud):
    R = rotation([1., 2., 3.], 40.)
    t = np.array([100., -50., 3000.])
    B = cloud @ R.T + t
    R_est, t_est = rigid_transform_3D(cloud, B)
    np.testing.assert_allclose(R_est, R, atol=1e-9)
    np.testing.assert_allclose(t_est, t, atol=1e-6)
    np.testing.assert_allclose(rigid_align(cloud, B), B, atol=1e-6)


def test_rigid_transform_never_returns_a_reflection(cloud):
    mirrored = cloud * np.array([-1., 1., 1.])
    R_est, _ = rigid_transform_3D(cloud, mirrored)
    assert np.linalg.det(R_est) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(R_est @ R_est.T, np.eye(3), atol=1e-9)


def test_rigid_align_has_no_scale_by_default_and_scaled_option(cloud):
    R = rotation([0., 1., 1.], -75.)
    t = np.array([5., 6., 7.])
    B = 1.7 * cloud @ R.T + t
    s, R_est, t_est = similarity_transform_3D(cloud, B)
    assert s == pytest.approx(1.7, rel=1e-9)
    np.testing.assert_allclose(R_est, R, atol=1e-9)
    np.testing.assert_allclose(t_est, t, atol=1e-6)
    np.testing.assert_allclose(rigid_align(cloud, B, scale=True), B, atol=1e-6)
    # without scale the fit keeps the size of A: the centred norms stay those of A
    aligned = rigid_align(cloud, B)
    centred = aligned - aligned.mean(0)
    np.testing.assert_allclose(np.linalg.norm(centred, axis=1),
                               np.linalg.norm(cloud - cloud.mean(0), axis=1), rtol=1e-9)
    np.testing.assert_allclose(aligned.mean(0), B.mean(0), atol=1e-6)
    assert np.abs(aligned - B).max() > 10.


@pytest.mark.parametrize('scale', [False, True])
def test_batched_alignment_equals_the_per_pair_reference(scale):
    rng = np.random.default_rng(5)
    A = rng.normal(scale=300., size=(200, 17, 3))
    B = A @ np.stack([rotation(rng.normal(size=3), rng.uniform(-180, 180))
                      for _ in range(200)]).transpose(0, 2, 1) * rng.uniform(.8, 1.2, (200, 1, 1))
    B += rng.normal(scale=30., size=B.shape)
    B[::3] *= np.array([-1., 1., 1.])           # mirrored: the determinant fix is needed
    A[7] = 5.                                   # a single point: zero variance (scale 1)
    expected = np.stack([align_one(a, b, scale) for a, b in zip(A, B)])
    np.testing.assert_allclose(rigid_align(A, B, scale=scale), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rigid_align(A[3], B[3], scale=scale), expected[3], atol=1e-9)
    R = similarity_transform_3D(A, B)[1] if scale else rigid_transform_3D(A, B)[0]
    np.testing.assert_allclose(np.linalg.det(R), 1., atol=1e-9)
    assert rigid_align(A[:0], B[:0], scale=scale).shape == (0, 17, 3)


def test_process_bboxes_equals_process_bbox_row_by_row():
    rng = np.random.default_rng(3)
    boxes = np.column_stack([rng.uniform(-300, 1100, (400, 2)), rng.uniform(-50, 600, (400, 2))])
    boxes[::7, 2:] = rng.integers(-2, 3, (len(boxes[::7]), 2))       # tiny, empty, negative
    boxes[1::11] = np.round(boxes[1::11])                             # integer boxes
    special = [[np.nan, 5, 10, 10], [5, np.nan, 10, 10], [5, 5, np.nan, 10], [np.inf, 5, 10, 10],
               [-np.inf, 5, 10, 10], [5, 5, np.inf, 10], [-0.0, -0.0, 1, 1], [999, 999, 5, 5]]
    boxes = np.concatenate([boxes, special])
    width, height = rng.integers(200, 1300, len(boxes)), rng.integers(200, 1300, len(boxes))
    width[-1] = height[-1] = 1000
    for shape in ((256, 256), (256, 192), (192, 256)):
        got, valid = process_bboxes(boxes, width, height, shape)
        for n in range(len(boxes)):
            expected = process_bbox(boxes[n], width[n], height[n], shape)
            assert valid[n] == (expected is not None), boxes[n]
            if expected is not None:
                assert got[n].tobytes() == expected.tobytes(), boxes[n]
    assert valid.sum() > 100 and (~valid).sum() > 10


# -- boxes --------------------------------------------------------------------------------------
def test_get_bbox_hand_value():
    joints = np.array([[10., 20., 0.], [30., 60., 5.], [25., 40., -3.]])
    # centre (20, 40); w = (30-10-1)*1.2 = 22.8, h = (60-20-1)*1.2 = 46.8
    np.testing.assert_allclose(get_bbox(joints), [8.6, 16.6, 22.8, 46.8], atol=1e-9)


@pytest.mark.parametrize('bbox, expected', [
    # inside: w=49, h=99, centre (34.5, 69.5); square 99; x1.25 = 123.75
    ([10, 20, 50, 100], [-27.375, 7.625, 123.75, 123.75]),
    # clipped top-left: x1=y1=0, x2=49, y2=59 -> centre (24.5, 29.5), side 59*1.25 = 73.75
    ([-10, -20, 50, 60], [-12.375, -7.375, 73.75, 73.75]),
    # clipped bottom-right: x2=639, y2=479 -> w=39, h=79, centre (619.5, 439.5), side 98.75
    ([600, 400, 100, 100], [570.125, 390.125, 98.75, 98.75]),
    # float input: w=49.5, h=99.5, centre (35.25, 70), side 124.375
    ([10.5, 20.25, 50.5, 100.5], [-26.9375, 7.8125, 124.375, 124.375]),
])
def test_process_bbox_square_input(bbox, expected):
    np.testing.assert_allclose(process_bbox(bbox, 640, 480, input_shape=(256, 256)), expected,
                               atol=1e-9)


def test_process_bbox_integer_box_is_not_truncated():
    # w=50, h=100, centre (35, 70), side 125: the original truncated x to -27 (known bug)
    out = process_bbox(np.array([10, 20, 51, 101], dtype=np.int64), 640, 480, input_shape=(256, 256))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [-27.5, 7.5, 125., 125.], atol=1e-12)


def test_process_bbox_wide_and_tall_for_non_square_input():
    # input (H, W) = (256, 192): aspect w/h = 0.75
    wide = process_bbox([100, 100, 201, 101], 640, 480, input_shape=(256, 192))
    # w=200, h=100 -> h = 200/0.75; x1.25 -> 250 x 333.33 about centre (200, 150)
    np.testing.assert_allclose(wide, [75., 150. - 1000. / 6., 250., 1000. / 3.], atol=1e-9)
    tall = process_bbox([100, 100, 51, 201], 640, 480, input_shape=(256, 192))
    # w=50, h=200 -> w = 150; x1.25 -> 187.5 x 250 about centre (125, 200)
    np.testing.assert_allclose(tall, [31.25, 75., 187.5, 250.], atol=1e-9)
    assert wide[2] / wide[3] == pytest.approx(0.75) and tall[2] / tall[3] == pytest.approx(0.75)


def test_process_bbox_takes_the_input_shape_it_uses():
    # no global configuration below the drivers: the aspect ratio is an argument
    with pytest.raises(TypeError):
        process_bbox([100, 100, 51, 201], 640, 480)
    np.testing.assert_allclose(process_bbox([100, 100, 51, 201], 640, 480, (256, 192)),
                               [31.25, 75., 187.5, 250.], atol=1e-9)


@pytest.mark.parametrize('bbox', [
    [700, 10, 50, 50],     # right of the image: x1 = 700 > x2 = 639
    [10, 500, 50, 50],     # below the image
    [10, 10, 0, 50],       # zero width
    [10, 10, 50, -5],      # negative height
])
def test_process_bbox_outside_or_empty_is_none(bbox):
    assert process_bbox(bbox, 640, 480, input_shape=(256, 256)) is None


# -- joint sets and flips --------------------------------------------------------------------
def test_transform_joint_to_other_db():
    src = np.array([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]])
    out = transform_joint_to_other_db(src, ('A', 'B', 'C'), ('C', 'X', 'A', 'B'))
    np.testing.assert_array_equal(out, [[7., 8., 9.], [0., 0., 0.], [1., 2., 3.], [4., 5., 6.]])
    vis = transform_joint_to_other_db(np.array([[1.], [0.], [1.]]), ('A', 'B', 'C'), ('X', 'B', 'C'))
    np.testing.assert_array_equal(vis, [[0.], [0.], [1.]])


def test_fliplr_joints_hand_value_and_twice_is_identity():
    joints = np.array([[10., 5., 1.], [20., 6., 2.], [30., 7., 3.], [40., 8., 4.]])
    pairs = ((1, 3),)
    flipped = fliplr_joints(joints, 100, pairs)
    np.testing.assert_array_equal(flipped, [[89., 5., 1.], [59., 8., 4.], [69., 7., 3.],
                                            [79., 6., 2.]])
    np.testing.assert_array_equal(fliplr_joints(flipped, 100, pairs), joints)
    np.testing.assert_array_equal(joints[0], [10., 5., 1.])   # input untouched


def test_swap_flip_pairs():
    vis = np.array([[1.], [0.], [1.], [0.]])
    np.testing.assert_array_equal(swap_flip_pairs(vis, ((0, 1), (2, 3))), [[0.], [1.], [0.], [1.]])
    np.testing.assert_array_equal(vis[:, 0], [1., 0., 1., 0.])


def test_heatmap_to_pixel_hand_value():
    coord = np.array([[16., 32., 48.], [0., 0., 32.]])
    out = heatmap_to_pixel(coord, [10., 20., 200., 100.], 5000., output_shape=(64, 32),
                           depth_dim=64, bbox_3d_shape=(2000, 2000, 2000))
    # x = 16/32*200 + 10, y = 32/64*100 + 20, z = (48/64*2 - 1)*1000 + 5000
    np.testing.assert_allclose(out, [[110., 70., 5500.], [10., 20., 5000.]], atol=1e-9)
