"""RootNet's targets and evaluation on the same dataset entries as PoseNet (docs/SPEC.md §13)."""
import json
import math

import cv2
import numpy as np
import pytest

import data.dataset as ds
from common.utils.errors import PoseNetError
from data.dataset import RootNetLoader, get_root_aug_config
from data.Human36M.Human36M import Human36M
from data.MPII.MPII import MPII
from data.MuCo.MuCo import MuCo
from data.MuPoTS.MuPoTS import MuPoTS
from main.config import Config
from tests.synthetic_helpers import make_tree

IMG_W, IMG_H = 120, 100


class FakeDB:
    root_idx = 0
    joints_have_depth = True

    def __init__(self, data):
        self.data = data


def entry(path, root_xy, depth=4000., bbox=(20., 18., 64., 64.), f=(1000., 1200.), vis=1.):
    joint_img = np.array([[root_xy[0], root_xy[1], 0.], [0., 0., 100.]])
    return {'img_path': path, 'bbox': np.array(bbox), 'joint_img': joint_img,
            'joint_vis': np.ones((2, 1)), 'root_cam': np.array([10., 20., depth]),
            'root_vis': vis, 'f': np.array(f), 'c': np.array([60., 50.])}


@pytest.fixture
def photo(tmp_path):
    path = str(tmp_path / 'img.png')
    assert cv2.imwrite(path, np.full((IMG_H, IMG_W, 3), 100, np.uint8))
    return path


def loader(db, is_train=True):
    return RootNetLoader(db, is_train, None, input_shape=(64, 64), output_shape=(16, 16))


def no_aug(monkeypatch, rot=0.0, flip=False):
    monkeypatch.setattr(ds, 'get_root_aug_config', lambda: (rot, flip, [1., 1., 1.]))


def test_root_at_the_box_centre_is_the_output_centre_and_k_by_hand(photo, monkeypatch):
    no_aug(monkeypatch)
    img, k, root_img, root_vis, have_depth = loader(FakeDB([entry(photo, (52., 50.))]))[0]
    assert img.shape == (64, 64, 3)
    np.testing.assert_allclose(root_img, [8., 8., 4000.])          # 64 px crop -> 16 px output
    assert root_vis.tolist() == [1.] and have_depth.tolist() == [1.]
    # k = sqrt(2000 * 2000 * 1000 * 1200 / (64 * 64)) mm, float32 (1,)
    assert k.dtype == np.float32 and k.shape == (1,)
    assert k[0] == pytest.approx(math.sqrt(4e6 * 1.2e6 / 4096), rel=1e-6)
    # the test item is the crop and k only
    img, k2 = loader(FakeDB([entry(photo, (52., 50.))]), is_train=False)[0]
    assert k2 == k


def test_flip_mirrors_the_root_and_visibility_needs_the_crop(photo, monkeypatch):
    no_aug(monkeypatch, flip=True)
    # x = 36 is a quarter box left of the centre: flipped it lands a quarter right (x_out 12)
    _, _, root_img, root_vis, _ = loader(FakeDB([entry(photo, (36., 50.))]))[0]
    np.testing.assert_allclose(root_img[:2], [12., 8.], atol=1e-4)
    assert root_vis.tolist() == [1.]
    no_aug(monkeypatch)
    _, _, root_img, root_vis, _ = loader(FakeDB([entry(photo, (100., 50.))]))[0]
    assert root_img[0] > 16 and root_vis.tolist() == [0.]           # outside the crop
    _, _, _, root_vis, _ = loader(FakeDB([entry(photo, (52., 50.), vis=0.)]))[0]
    assert root_vis.tolist() == [0.]                                # annotated invisible


def test_root_aug_config_draws_no_scale_and_no_occlusion():
    np.random.seed(0)
    draws = [get_root_aug_config() for _ in range(400)]
    rots = np.array([d[0] for d in draws])
    assert np.all(np.abs(rots) <= 60) and 0.3 < np.mean(rots == 0) < 0.5
    assert 0.4 < np.mean([d[1] for d in draws]) < 0.6
    colors = np.array([d[2] for d in draws])
    assert colors.shape == (400, 3) and colors.min() >= 0.8 and colors.max() <= 1.2


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory, 'rootnet', datasets=['Human36M', 'MPII', 'MuCo',
                                                            'MuPoTS'],
                     h36m_subjects=(1, 9, 11), num_images=4)


def test_muco_drops_people_nearer_than_1500_or_farther_than_7500_mm(tree):
    db = MuCo('train', Config(data_dir=tree[0]))
    db.data[0]['root_cam'] = db.data[0]['root_cam'] * 0 + [0., 0., 1499.]
    db.data[1]['root_cam'] = db.data[1]['root_cam'] * 0 + [0., 0., 7500.]
    kept = loader(db).db
    assert len(kept) == len(db.data) - 1
    assert not any(e is db.data[0] for e in kept) and any(e is db.data[1] for e in kept)


def test_2d_sets_have_no_depth_and_the_assumed_focal(tree, monkeypatch):
    no_aug(monkeypatch)
    db = MPII('train', Config(data_dir=tree[0]))
    _, k, root_img, _, have_depth = loader(db)[0]
    assert have_depth.tolist() == [0.] and root_img[2] == 0.
    bbox = db.data[0]['bbox']
    assert k[0] == pytest.approx(math.sqrt(4e6 * 1500 * 1500 / (bbox[2] * bbox[3])), rel=1e-6)


def outputs_for(db, root_cam):
    """RootNet outputs `(N, 3)` that give `root_cam (N, 3)` back for each entry's box."""
    out_h, out_w = db.heatmap[0]
    coord = []
    for e, root in zip(db.data, root_cam):
        x = root[0] / root[2] * e['f'][0] + e['c'][0]
        y = root[1] / root[2] * e['f'][1] + e['c'][1]
        bx, by, bw, bh = e['bbox']
        coord.append([(x - bx) / bw * out_w, (y - by) / bh * out_h, root[2]])
    return np.array(coord)


def test_human36m_mrpe_is_zero_for_perfect_roots_and_the_shift_otherwise(tree, tmp_path):
    db = Human36M('test', Config(data_dir=tree[0]))
    gt = np.stack([e['root_cam'] for e in db.data])
    perfect = db.evaluate_root(outputs_for(db, gt), str(tmp_path))
    assert perfect['metric'] == 'MRPE' and perfect['error'] == pytest.approx(0, abs=1e-6)
    shifted = db.evaluate_root(outputs_for(db, gt + [30., 40., 0.]), str(tmp_path))
    assert shifted['error'] == pytest.approx(50.)
    assert (shifted['x'], shifted['y'], shifted['z']) == (pytest.approx(30.), pytest.approx(40.),
                                                          pytest.approx(0, abs=1e-6))
    assert all(v == pytest.approx(50.) for v in shifted['per_action'].values())
    records = json.load(open(shifted['result_path']))
    assert shifted['result_path'].endswith('bbox_root_human36m_output.json')
    assert [r['image_id'] for r in records] == [e['img_id'] for e in db.data]
    np.testing.assert_allclose([r['root_cam'] for r in records], gt + [30., 40., 0.], atol=1e-6)
    with pytest.raises(PoseNetError, match=r'expected \(\d+, 3\) — one root per test sample'):
        db.evaluate_root(np.zeros((len(db.data), 2)), str(tmp_path))


def test_mupots_ap_root_and_the_file_posenet_reads_back(tree, tmp_path):
    cfg = Config(data_dir=tree[0])
    db = MuPoTS('test', cfg)
    gt = np.stack([e['root_cam'] for e in db.data])
    perfect = db.evaluate_root(outputs_for(db, gt), str(tmp_path))
    m = len(db.valid_roots[0])
    assert m == len(db.data)
    assert perfect['ap_root_complete'] == pytest.approx(1.0)
    assert perfect['ap_root'] == pytest.approx((m - 1) / m)       # the original's arithmetic
    far = db.evaluate_root(outputs_for(db, gt + [0., 0., 300.]), str(tmp_path / 'far'))
    assert far['ap_root'] == far['ap_root_complete'] == 0.
    # PoseNet testing without ground-truth boxes reads the written file as it is
    back = MuPoTS('test', cfg.replace(use_gt_info=False,
                                      bbox_root_file=perfect['result_path']))
    assert len(back.data) == len(db.data)
    for a, b in zip(db.data, back.data):
        assert a['img_id'] == b['img_id']
        np.testing.assert_allclose(a['bbox'], b['bbox'])
        np.testing.assert_allclose(a['root_cam'], b['root_cam'], atol=1e-6)


def test_mupots_rootnet_detection_mode_reads_the_detection_file(tree):
    cfg = Config(data_dir=tree[0], network='RootNet', use_gt_info=False)
    db = MuPoTS('test', cfg)
    detections = json.load(open(f"{tree[0]}/MuPoTS/bbox/bbox_mupots_output.json"))
    assert len(db.data) == len(detections) > 0
    assert [e['score'] for e in db.data] == [d['score'] for d in detections]
    img, k = RootNetLoader(db, False, None, input_shape=(64, 64), output_shape=(16, 16))[0]
    assert img.shape == (64, 64, 3) and k[0] > 0
