"""`evaluate` of the three test sets and the heatmap <-> camera mappings it relies on."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import scipy.io
from scipy.spatial.transform import Rotation

from common.utils.errors import PoseNetError
from common.utils.pose_utils import heatmap_to_pixel, pixel2cam
from common.utils.pose_utils import cam_to_heatmap, heatmap_to_cam
from data.joint_sets import H36M_ACTIONS
from data.Human36M.Human36M import Human36M
from data.MSCOCO.MSCOCO import MSCOCO
from data.MuPoTS.MuPoTS import MuPoTS
from main.config import Config
from tests.synthetic_helpers import make_tree, perfect_predictions


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory, 'evaluate', datasets=['Human36M', 'MSCOCO', 'MuPoTS'],
                     h36m_subjects=(9, 11), h36m_actions=3)


@pytest.fixture
def cfg(tree):
    return Config(data_dir=tree[0])


@pytest.fixture
def gt(tree):
    return tree[1]


def gt_cam(db):
    return np.stack([e['joint_cam'] for e in db.data])


def shift_non_root(joint_cam, root_idx, offset):
    """Ground truth with every joint but the root moved by `offset (N, 3)` mm."""
    moved = joint_cam + np.asarray(offset, dtype=np.float64)[:, None, :]
    moved[:, root_idx] = joint_cam[:, root_idx]
    return moved


# -- mappings -------------------------------------------------------------------------------------
def test_heatmap_to_cam_matches_the_per_sample_helpers_and_inverts():
    space = ((64, 48), 64, (2000, 2000, 2000))      # heatmap of a 256 x 192 input
    rng = np.random.default_rng(0)
    coord = rng.uniform([0, 0, 0], [48, 64, 64], size=(5, 17, 3))
    bbox = np.column_stack([rng.uniform(0, 100, (5, 2)), rng.uniform(50, 300, (5, 2))])
    root_z = rng.uniform(2000, 6000, 5)
    f = rng.uniform(900, 1600, (5, 2))
    c = rng.uniform(400, 600, (5, 2))
    pixel, cam = heatmap_to_cam(coord, bbox, root_z, f, c, *space)
    for n in range(5):
        expected = heatmap_to_pixel(coord[n], bbox[n], root_z[n], (64, 48), 64, (2000, 2000, 2000))
        np.testing.assert_allclose(pixel[n], expected, rtol=1e-12)
        np.testing.assert_allclose(cam[n], pixel2cam(expected, f[n], c[n]), rtol=1e-12)
    np.testing.assert_allclose(cam_to_heatmap(cam, bbox, root_z, f, c, *space), coord, atol=1e-9)
    # the root depth maps to the middle bin, 1000 mm in front to bin 0
    z = cam_to_heatmap([[[0, 0, 3000.], [0, 0, 2000.]]], bbox[:1], [3000.], f[:1], c[:1], *space)
    np.testing.assert_allclose(z[0, :, 2], [32., 0.])


# -- Human36M -------------------------------------------------------------------------------------
def test_human36m_ground_truth_predictions_give_zero_error(cfg, gt, tmp_path):
    db = Human36M('test', cfg)
    metrics = db.evaluate(perfect_predictions(db), str(tmp_path))
    assert metrics['protocol'] == 2 and metrics['metric'] == 'MPJPE'
    assert metrics['num_samples'] == len(db.data) == 2 * 3 * 2 * 3
    assert metrics['error'] == pytest.approx(0, abs=1e-6)
    actions = {H36M_ACTIONS[e['action_idx'] - 2] for e in db.data}
    assert set(metrics['per_action']) == actions and len(actions) == 3
    assert all(v == pytest.approx(0, abs=1e-6) for v in metrics['per_action'].values())
    assert len(metrics['per_joint']) == 17 and 'Thorax' not in metrics['per_joint']
    saved = json.load(open(metrics['result_path']))
    assert metrics['result_path'] == osp.join(str(tmp_path), 'bbox_root_pose_human36m_output.json')
    assert len(saved) == len(db.data)
    for rec, e in zip(saved, db.data):
        assert rec['image_id'] == e['img_id']
        rel = e['joint_cam'][:17] - e['joint_cam'][0]
        np.testing.assert_allclose(rec['joint_cam'], rel, atol=1e-6)
        np.testing.assert_allclose(rec['bbox'], e['bbox'])
        np.testing.assert_allclose(rec['root_cam'], e['root_cam'])
    assert [f for f in os.listdir(tmp_path) if f.endswith('.tmp')] == []


def test_human36m_shifted_predictions_give_the_exact_offset_per_action(cfg, gt, tmp_path):
    db = Human36M('test', cfg)
    action_idx = np.array([e['action_idx'] for e in db.data])
    actions = sorted(set(action_idx))
    offsets = {a: 10. * (k + 1) for k, a in enumerate(actions)}       # 10, 20, 30 mm
    directions = np.random.default_rng(0).normal(size=(len(db.data), 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    shift = directions * np.array([offsets[a] for a in action_idx])[:, None]
    preds = perfect_predictions(db, shift_non_root(gt_cam(db), db.root_idx, shift))
    metrics = db.evaluate(preds, str(tmp_path))
    # 16 of the 17 evaluated joints moved, the root did not
    for a in actions:
        name = H36M_ACTIONS[a - 2]
        assert metrics['per_action'][name] == pytest.approx(offsets[a] * 16 / 17, abs=1e-6)
    assert metrics['error'] == pytest.approx(20. * 16 / 17, abs=1e-6)
    assert metrics['per_joint']['Pelvis'] == pytest.approx(0, abs=1e-6)
    assert metrics['per_joint']['R_Knee'] == pytest.approx(20., abs=1e-6)


def test_human36m_protocol1_aligns_rigidly_and_optionally_with_scale(cfg, gt, tmp_path):
    db = Human36M('test', cfg, protocol=1)
    joint_cam = gt_cam(db)
    root = joint_cam[:, :1]
    rot = Rotation.from_euler('xyz', [20, -30, 45], degrees=True).as_matrix()
    rotated = (joint_cam - root) @ rot.T + root
    metrics = db.evaluate(perfect_predictions(db, rotated), str(tmp_path))
    assert metrics['metric'] == 'PA MPJPE'
    assert metrics['error'] == pytest.approx(0, abs=1e-6)
    scaled = (joint_cam - root) * 1.1 + root
    rigid = db.evaluate(perfect_predictions(db, scaled), str(tmp_path))['error']
    assert rigid > 5
    db.scaled_procrustes = True
    metrics = db.evaluate(perfect_predictions(db, scaled), str(tmp_path))
    assert metrics['metric'] == 'PA MPJPE (scaled)'
    assert metrics['error'] == pytest.approx(0, abs=1e-6)
    # protocol 2 does not align: a rotation is an error there
    db2 = Human36M('test', cfg, protocol=2)
    joint_cam2 = gt_cam(db2)
    rotated2 = (joint_cam2 - joint_cam2[:, :1]) @ rot.T + joint_cam2[:, :1]
    assert db2.evaluate(perfect_predictions(db2, rotated2), str(tmp_path))['error'] > 50


def test_human36m_without_gt_info_evaluates_with_rootnet_roots(cfg, gt, tmp_path, monkeypatch):
    cfg = cfg.replace(use_gt_info=False)
    db = Human36M('test', cfg)
    preds = perfect_predictions(db)        # same crops and roots as the entries
    metrics = db.evaluate(preds, str(tmp_path))
    assert metrics['error'] == pytest.approx(0, abs=1e-6)
    saved = json.load(open(metrics['result_path']))
    np.testing.assert_allclose([r['root_cam'] for r in saved], [e['root_cam'] for e in db.data])


def test_evaluate_rejects_predictions_of_the_wrong_shape(cfg, gt, tmp_path):
    db = Human36M('test', cfg)
    with pytest.raises(PoseNetError, match=rf'expected \({len(db.data)}, 18, 3\)'):
        db.evaluate(np.zeros((len(db.data) - 1, 18, 3)), str(tmp_path))
    mupots = MuPoTS('test', cfg)
    with pytest.raises(PoseNetError, match='one per test sample'):
        mupots.evaluate(np.zeros((len(mupots.data), 17, 3)), str(tmp_path))


# -- MuPoTS / MSCOCO .mat export ------------------------------------------------------------------
def load_mat(path):
    return {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith('__')}


def test_mupots_mat_files_hold_the_ground_truth_per_image(cfg, gt, tmp_path):
    db = MuPoTS('test', cfg)
    metrics = db.evaluate(perfect_predictions(db), str(tmp_path))
    assert metrics['pred_2d_path'] == osp.join(str(tmp_path), 'preds_2d_kpt_mupots.mat')
    assert metrics['pred_3d_path'] == osp.join(str(tmp_path), 'preds_3d_kpt_mupots.mat')
    pred_2d, pred_3d = load_mat(metrics['pred_2d_path']), load_mat(metrics['pred_3d_path'])
    expected = {}
    for e in db.data:
        folder, name = e['img_path'].split(os.sep)[-2:]
        expected.setdefault(f"{folder}_{name[:-4]}", []).append(e)
    assert 'TS1_img_000000' in expected
    assert set(pred_2d) == set(pred_3d) == set(expected)
    assert metrics['num_images'] == len(expected) and metrics['num_samples'] == len(db.data)
    for key, entries in expected.items():
        assert pred_2d[key].shape == (len(entries), 17, 2)
        assert pred_3d[key].shape == (len(entries), 17, 3)
        np.testing.assert_allclose(pred_3d[key], [e['joint_cam'] for e in entries], atol=1e-6)
        np.testing.assert_allclose(pred_2d[key], [e['joint_img'][:, :2] for e in entries],
                                   atol=1e-6)


def test_mupots_export_uses_only_the_first_17_joints(cfg, gt, tmp_path):
    db = MuPoTS('test', cfg)
    preds = perfect_predictions(db)
    preds[:, 17:] = 1e6                     # hands and toes: never exported
    metrics = db.evaluate(preds, str(tmp_path))
    for value in load_mat(metrics['pred_3d_path']).values():
        assert np.abs(value).max() < 1e5


def test_mscoco_mat_files_are_keyed_by_image_and_use_the_rootnet_roots(cfg, gt, tmp_path):
    db = MSCOCO('test', cfg)
    preds = np.zeros((len(db.data), 21, 3))
    preds[..., 0], preds[..., 1] = cfg.output_shape[1] / 2, cfg.output_shape[0] / 2
    preds[..., 2] = cfg.depth_dim / 2        # every joint at the crop centre, at root depth
    metrics = db.evaluate(preds, str(tmp_path))
    pred_2d, pred_3d = load_mat(metrics['pred_2d_path']), load_mat(metrics['pred_3d_path'])
    assert metrics['pred_3d_path'].endswith('preds_3d_kpt_coco.mat')
    groups = {}
    for e in db.data:
        groups.setdefault('coco_' + osp.basename(e['img_path'])[:-4], []).append(e)
    assert set(pred_2d) == set(groups) and all(len(k) == len('coco_000001000001') for k in groups)
    for key, entries in groups.items():
        assert pred_2d[key].shape == (len(entries), 17, 2)
        assert pred_3d[key].shape == (len(entries), 17, 3)
        for p, e in enumerate(entries):
            centre = e['bbox'][:2] + e['bbox'][2:] / 2
            np.testing.assert_allclose(pred_2d[key][p], np.tile(centre, (17, 1)), atol=1e-9)
            np.testing.assert_allclose(pred_3d[key][p, :, 2], e['root_cam'][2], atol=1e-9)
            np.testing.assert_allclose(pred_3d[key][p, 0, :2],
                                       (centre - e['c']) / e['f'] * e['root_cam'][2], atol=1e-9)


def test_mscoco_train_split_cannot_be_evaluated(cfg, gt, tmp_path):
    with pytest.raises(PoseNetError, match='test split'):
        MSCOCO('train', cfg).evaluate(np.zeros((1, 19, 3)), str(tmp_path))


# -- equivalence with the straightforward per-entry procedure (tool/reference.py) -----------------
def noisy_predictions(db, seed=0):
    rng = np.random.default_rng(seed)
    preds = perfect_predictions(db)
    return preds + rng.normal(0, 1.5, preds.shape)


@pytest.fixture
def small_chunks(monkeypatch):
    """Evaluation batches of 5 entries, so that the tiny sets cross batch boundaries."""
    import data.entries
    import data.Human36M.Human36M as h36m_module
    monkeypatch.setattr(data.entries, 'EVAL_CHUNK', 5)
    monkeypatch.setattr(h36m_module, 'EVAL_CHUNK', 5)


def same_json(a, b):
    """Parsed JSON values equal with equal types, floats bit for bit."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    return np.float64(a).tobytes() == np.float64(b).tobytes() if isinstance(a, float) else a == b


@pytest.mark.parametrize('protocol,scaled,gt_info', [(2, False, True), (2, False, False),
                                                     (1, False, True), (1, True, True)])
def test_human36m_evaluate_equals_the_per_entry_reference(cfg, tmp_path, small_chunks, protocol,
                                                           scaled, gt_info, monkeypatch):
    from tool import reference
    cfg = cfg.replace(use_gt_info=gt_info)
    db = Human36M('test', cfg, protocol=protocol, scaled_procrustes=scaled)
    preds = noisy_predictions(db)
    ours = db.evaluate(preds, str(tmp_path / 'ours'))
    os.makedirs(tmp_path / 'ref')
    errors, ref_path = reference.h36m_evaluate(db, preds, str(tmp_path / 'ref'))
    assert ours['error'] == pytest.approx(errors.mean(), rel=1e-12)
    ours_saved, ref_saved = (json.load(open(p)) for p in (ours['result_path'], ref_path))
    if protocol == 2:       # the same arithmetic: the same floats
        assert same_json(ours_saved, ref_saved)
        assert ours['error'] == errors.mean()
    else:                   # batched SVD: equal to ~1e-9 mm
        assert [list(r) for r in ours_saved] == [list(r) for r in ref_saved]
        assert same_json([{k: v for k, v in r.items() if k != 'joint_cam'} for r in ours_saved],
                         [{k: v for k, v in r.items() if k != 'joint_cam'} for r in ref_saved])
        np.testing.assert_allclose([r['joint_cam'] for r in ours_saved],
                                   [r['joint_cam'] for r in ref_saved], rtol=0, atol=1e-9)
    for name, err in ours['per_action'].items():
        sel = [H36M_ACTIONS[e['action_idx'] - 2] == name for e in db.data]
        assert err == pytest.approx(errors[sel].mean(), rel=1e-12)


@pytest.mark.parametrize('name', ['MuPoTS', 'MSCOCO'])
def test_mat_export_equals_the_per_entry_reference(cfg, tmp_path, small_chunks, name):
    from data.result_files import coco_key, mupots_key
    from tool import reference
    db = MuPoTS('test', cfg) if name == 'MuPoTS' else MSCOCO('test', cfg)
    db.data_dir = str(tmp_path)                       # no evaluation kit: export only
    # three copies, the last one shuffled: images of the copies interleave
    rng = np.random.default_rng(1)
    copies = [dict(e, img_path=e['img_path'].replace('.jpg', f'_{k}.jpg'))
              for k in range(3) for e in db.data]
    tail = len(db.data)
    db.data = copies[:-tail] + [copies[-tail:][i] for i in rng.permutation(tail)]
    preds = noisy_predictions(db) if name == 'MuPoTS' else rng.uniform(0, 60, (len(db.data), 21, 3))
    dataset, key = ('mupots', mupots_key) if name == 'MuPoTS' else ('coco', coco_key)
    ours = db.evaluate(preds, str(tmp_path / 'ours'))
    os.makedirs(tmp_path / 'ref')
    ref_2d, ref_3d = reference.export_mats(db, preds, str(tmp_path / 'ref'), dataset, key)
    for dim, ref in (('2d', ref_2d), ('3d', ref_3d)):
        got = scipy.io.loadmat(ours[f'pred_{dim}_path'])
        expected = scipy.io.loadmat(str(tmp_path / 'ref' / f'preds_{dim}_kpt_{dataset}.mat'))
        keys = [k for k in got if not k.startswith('__')]
        assert keys == [k for k in expected if not k.startswith('__')] == list(ref)
        for k in keys:
            assert got[k].dtype == expected[k].dtype == np.float64
            np.testing.assert_array_equal(got[k], expected[k])
        # the same bytes as scipy.io.savemat, past the header's time stamp
        with open(ours[f'pred_{dim}_path'], 'rb') as f:
            ours_bytes = f.read()
        with open(str(tmp_path / 'ref' / f'preds_{dim}_kpt_{dataset}.mat'), 'rb') as f:
            assert ours_bytes[116:] == f.read()[116:]
    assert ours['num_images'] == len(ref_2d)


@pytest.mark.parametrize('path', [
    'a/TS1/img_000000.jpg', '/d/TS12/img_000001.png', 'img_000000.jpg', 'TS1//img.jpg',
    '/img.jpg', '//img.jpg', 'a/.hidden', 'a/..jpg', 'a/b.c.d', 'a/b.', 'a/.b.c', 'noext',
    'dir.x/file', '', 'a/', 'a//', '/', 'x/y/', '...', 'a/.../b..c'])
def test_image_keys_equal_the_os_path_definitions(path):
    from data import result_files
    stem = osp.splitext(osp.basename(path))[0]
    assert result_files.image_stem(path) == stem
    assert result_files.mupots_key(path) == osp.basename(osp.dirname(path)) + '_' + stem
    assert result_files.coco_key(path) == 'coco_' + stem


def test_group_by_key_keeps_first_appearance_and_data_order():
    from data.result_files import group_by_key
    keys = ['b', 'a', 'b', 'c', 'a', 'b']
    values = np.arange(6.)[:, None] * [1., 10.]
    by_key, twice = group_by_key(keys, values, 2 * values)
    assert list(by_key) == ['b', 'a', 'c']
    np.testing.assert_array_equal(by_key['b'], values[[0, 2, 5]])
    np.testing.assert_array_equal(by_key['a'], values[[1, 4]])
    np.testing.assert_array_equal(twice['c'], 2 * values[[3]])
    together = group_by_key(['x', 'x', 'y'], values[:3])[0]       # already grouped: views
    np.testing.assert_array_equal(together['x'], values[:2])
