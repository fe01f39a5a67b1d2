"""The five dataset classes on a generated tree: entries equal the generator's ground truth."""
import json
import os
import os.path as osp

import numpy as np
import pytest

from common.utils.errors import PoseNetError
from common.utils.pose_utils import process_bbox
from data import joint_sets
from data.Human36M.Human36M import Human36M
from data.MPII.MPII import MPII
from data.MSCOCO.MSCOCO import MSCOCO
from data.MuCo.MuCo import MuCo, pick_people
from data.MuPoTS.MuPoTS import MuPoTS
from main.config import Config
from tests.synthetic_helpers import make_tree

TOL = 1e-3


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory, 'datasets', num_images=4, invalid_prob=0.3)


@pytest.fixture
def cfg(tree):
    """A configuration whose data_dir is the generated tree."""
    return Config(data_dir=tree[0])


@pytest.fixture
def gt(tree):
    return tree[1]


def h36m_truth(gt, entry):
    return gt['Human36M']['images'][entry['img_id']]


def assert_person_entry(e, truth, p, root_idx=14):
    """Entry `e` of a multi-person 3D set equals person `p` of a generator image `truth`."""
    joint_cam = truth['joint_cam'][p]
    np.testing.assert_allclose(e['joint_cam'], joint_cam, atol=TOL)
    np.testing.assert_allclose(e['joint_img'][:, :2], truth['joint_img'][p], atol=TOL)
    np.testing.assert_allclose(e['joint_img'][:, 2], joint_cam[:, 2] - joint_cam[root_idx, 2],
                               atol=TOL)
    np.testing.assert_allclose(e['root_cam'], joint_cam[root_idx], atol=TOL)
    np.testing.assert_allclose(e['f'], truth['f'])
    np.testing.assert_allclose(e['c'], truth['c'])
    assert e['joint_vis'].shape == (len(joint_cam), 1) and (e['joint_vis'] == 1).all()


# -- joint sets -----------------------------------------------------------------------------------
@pytest.mark.parametrize('make', [lambda cfg: Human36M('test', cfg), lambda cfg: MPII('train', cfg),
                                  lambda cfg: MSCOCO('train', cfg), lambda cfg: MSCOCO('test', cfg),
                                  lambda cfg: MuCo('train', cfg), lambda cfg: MuPoTS('test', cfg)])
def test_joint_set_attributes_are_consistent(cfg, make):
    db = make(cfg)
    assert db.joint_num == len(db.joints_name) == len(set(db.joints_name))
    for a, b in db.flip_pairs:
        name_a, name_b = db.joints_name[a], db.joints_name[b]
        assert {name_a[:2], name_b[:2]} == {'L_', 'R_'} and name_a[2:] == name_b[2:]
    names = getattr(db, 'original_joints_name', db.joints_name)
    assert all(0 <= j < len(names) for bone in db.skeleton for j in bone)
    if hasattr(db, 'root_idx'):
        assert db.joints_name[db.root_idx] == 'Pelvis'
    assert isinstance(db.joints_have_depth, bool) and len(db.data) > 0


def test_mupots_and_coco_test_expose_output_and_evaluated_joint_sets(cfg, gt):
    for db in (MuPoTS('test', cfg), MSCOCO('test', cfg)):
        assert db.joint_num == 21 and db.joints_name == joint_sets.MUCO_JOINTS
        assert db.original_joint_num == 17
        assert db.original_joints_name == joint_sets.MUCO_JOINTS[:17]
        assert db.original_joints_name[-1] == 'Head' and db.original_joints_name[0] == 'Head_top'
        assert db.flip_pairs == ((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13))


# -- Human36M -------------------------------------------------------------------------------------
def test_human36m_entries_equal_the_ground_truth(cfg, gt):
    db = Human36M('train', cfg)
    assert len(db.data) > 0
    for e in db.data:
        truth = h36m_truth(gt, e)
        np.testing.assert_allclose(e['joint_cam'][:17], truth['joint_cam'], atol=TOL)
        thorax = (truth['joint_cam'][11] + truth['joint_cam'][14]) / 2
        np.testing.assert_allclose(e['joint_cam'][17], thorax, atol=TOL)
        np.testing.assert_allclose(e['joint_img'][:17, :2], truth['joint_img'], atol=TOL)
        np.testing.assert_allclose(e['joint_img'][:, 2], e['joint_cam'][:, 2] - e['root_cam'][2],
                                   atol=TOL)
        np.testing.assert_allclose(e['root_cam'], truth['joint_cam'][0], atol=TOL)
        np.testing.assert_allclose(e['bbox'], process_bbox(truth['bbox'], 128, 128, (256, 256)), atol=TOL)
        assert e['joint_img'].shape == (18, 3) and e['joint_vis'].shape == (18, 1)
        assert e['img_path'] == osp.join(cfg.data_dir, 'Human36M', 'images', truth['file_name'])
        assert e['action_idx'] == truth['action_idx']
        cam = gt['Human36M']['cameras'][truth['subject']][truth['cam_idx']]
        np.testing.assert_allclose(e['f'], cam['f'])
        np.testing.assert_allclose(e['c'], cam['c'])


@pytest.mark.parametrize('protocol, split, subjects, ratio', [
    (1, 'train', {1, 5, 6, 7, 8, 9}, 5), (1, 'test', {11}, 64),
    (2, 'train', {1, 5, 6, 7, 8}, 5), (2, 'test', {9, 11}, 64)])
def test_human36m_protocols_and_subsampling(cfg, gt, protocol, split, subjects, ratio):
    db = Human36M(split, cfg, protocol=protocol)
    assert db.protocol == protocol
    expected = sorted(i for i, t in gt['Human36M']['images'].items()
                      if t['subject'] in subjects and t['frame_idx'] % ratio == 0)
    assert sorted(e['img_id'] for e in db.data) == expected
    frames = {h36m_truth(gt, e)['frame_idx'] for e in db.data}
    assert frames == ({0, 5, 10, 65} if split == 'train' else {0, 64, 128})


def test_human36m_without_gt_info_reads_the_bbox_root_file(cfg, gt, monkeypatch):
    cfg = cfg.replace(use_gt_info=False)
    db = Human36M('test', cfg)
    records = {r['image_id']: r for r in gt['Human36M']['bbox_root']}
    assert len(db.data) == 24
    for e in db.data:
        rec = records[e['img_id']]
        np.testing.assert_allclose(e['bbox'], rec['bbox'])
        np.testing.assert_allclose(e['root_cam'], rec['root_cam'])
        # the joints stay ground truth, the root is RootNet's (off by its depth error)
        np.testing.assert_allclose(e['joint_cam'][:17], h36m_truth(gt, e)['joint_cam'], atol=TOL)
    assert any(abs(e['root_cam'][2] - e['joint_cam'][0, 2]) > 1 for e in db.data)


def test_human36m_bbox_root_file_must_cover_the_test_images(cfg, gt, tree, monkeypatch, tmp_path):
    cfg = cfg.replace(use_gt_info=False)
    folder = tmp_path / 'Human36M'
    (folder / 'bbox_root').mkdir(parents=True)
    os.symlink(osp.join(tree[0], 'Human36M', 'annotations'), folder / 'annotations')
    (folder / 'bbox_root' / 'bbox_root_human36m_output.json').write_text(
        json.dumps(gt['Human36M']['bbox_root'][1:]))
    cfg = cfg.replace(data_dir=str(tmp_path))
    with pytest.raises(PoseNetError, match='no box/root for image_id'):
        Human36M('test', cfg)


# -- MuCo -----------------------------------------------------------------------------------------
def test_muco_entries_equal_the_ground_truth_of_the_picked_people(cfg, gt):
    db = MuCo('train', cfg)
    by_image = {}
    for e in db.data:
        by_image.setdefault(e['img_id'], []).append(e)
    assert set(by_image) == set(gt['MuCo']['images'])
    for img_id, entries in by_image.items():
        truth = gt['MuCo']['images'][img_id]
        picks = [p for p in pick_people(truth['joint_cam'][:, 14])
                 if process_bbox(truth['bbox'][p], 128, 128, (256, 256)) is not None]
        assert len(entries) == len(picks)
        assert picks[0] == int(np.argmin(truth['joint_cam'][:, 14, 2]))
        for e, p in zip(entries, picks):
            assert_person_entry(e, truth, p)


# a hand-made scene: root positions (mm) in file order
SCENE = [(2000., 0., 5000.),     # 300 mm from the next one in X-Y: dropped
         (0., 300., 6000.),      # 300 mm from the closest in X-Y (3 m apart in 3D): dropped
         (-2000., 0., 4000.),    # far from everyone: kept
         (0., 0., 3000.),        # closest to the camera: always kept, first
         (2300., 0., 5000.)]     # dropped (next to the first)


def test_muco_picking_rule_on_a_hand_made_scene(cfg, tmp_path, monkeypatch):
    assert pick_people(SCENE) == [3, 2]
    assert pick_people([(0., 0., 3000.), (500., 0., 3000.)]) == [0, 1]       # exactly 500: kept
    assert pick_people([(0., 0., 3000.), (499.9, 0., 9000.)]) == [0]
    assert pick_people([(0., 0., 4000.), (0., 0., 3000.)]) == [1]           # 3D 1 m, X-Y 0
    # the same scene through the loader
    images = [{'id': 7, 'file_name': 'unaugmented_set/x.jpg', 'width': 1000, 'height': 1000,
               'f': [1000., 1000.], 'c': [500., 500.]}]
    anns = []
    for i, root in enumerate(SCENE):
        joint_cam = np.tile(root, (21, 1)) + np.linspace(-400, 400, 21)[:, None] * [0.3, 1, 0.1]
        joint_cam[14] = root
        joint_img = joint_cam[:, :2] / joint_cam[:, 2:] * 1000 + 500
        anns.append({'id': i + 1, 'image_id': 7, 'category_id': 1, 'iscrowd': 0,
                     'bbox': [*joint_img.min(axis=0).tolist(), 100., 200.],
                     'keypoints_cam': joint_cam.tolist(), 'keypoints_img': joint_img.tolist()})
    folder = tmp_path / 'MuCo' / 'data'
    folder.mkdir(parents=True)
    (folder / 'MuCo-3DHP.json').write_text(json.dumps({'images': images, 'annotations': anns}))
    cfg = cfg.replace(data_dir=str(tmp_path))
    db = MuCo('train', cfg)
    np.testing.assert_allclose([e['root_cam'] for e in db.data], [SCENE[3], SCENE[2]])


# -- MuPoTS ---------------------------------------------------------------------------------------
def test_mupots_entries_are_the_valid_annotations(cfg, gt):
    db = MuPoTS('test', cfg)
    expected = []
    for img_id in sorted(gt['MuPoTS']['images']):
        truth = gt['MuPoTS']['images'][img_id]
        expected += [(truth, p) for p in range(len(truth['is_valid'])) if truth['is_valid'][p]
                     and process_bbox(truth['bbox'][p], 128, 128, (256, 256)) is not None]
    assert len(db.data) == len(expected) > 0
    assert sum((~t['is_valid']).sum() for t in gt['MuPoTS']['images'].values()) > 0
    for e, (truth, p) in zip(db.data, expected):
        assert e['img_path'] == osp.join(cfg.data_dir, 'MuPoTS', 'data', 'MultiPersonTestSet',
                                         truth['file_name'])
        assert_person_entry(e, truth, p)


def test_mupots_without_gt_info_has_one_entry_per_bbox_root_record(cfg, gt, monkeypatch):
    cfg = cfg.replace(use_gt_info=False)
    db = MuPoTS('test', cfg)
    records = gt['MuPoTS']['bbox_root']
    assert len(db.data) == len(records)
    for e, rec in zip(db.data, records):
        assert e['img_id'] == rec['image_id']
        np.testing.assert_allclose(e['bbox'], rec['bbox'])
        np.testing.assert_allclose(e['root_cam'], rec['root_cam'])
        assert not e['joint_cam'].any() and e['joint_img'].shape == (17, 3)


# -- 2D sets --------------------------------------------------------------------------------------
def test_mpii_entries_hold_the_annotated_keypoints(cfg, gt):
    db = MPII('train', cfg)
    expected = [kp for img_id in sorted(gt['MPII']['images'])
                for kp in gt['MPII']['images'][img_id]['keypoints'] if (kp[:, 2] > 0).any()]
    assert len(db.data) == len(expected) > 0
    for e, kp in zip(db.data, expected):
        np.testing.assert_allclose(e['joint_img'][:, :2], kp[:, :2])
        assert not e['joint_img'][:, 2].any()
        np.testing.assert_array_equal(e['joint_vis'][:, 0], kp[:, 2])
        assert e['img_path'].startswith(osp.join(cfg.data_dir, 'MPII', 'images'))


def test_mscoco_train_adds_thorax_and_pelvis_and_skips_crowds(cfg, gt):
    db = MSCOCO('train', cfg)
    truths = [(t, kp) for t in gt['MSCOCO']['images'].values() if t['split'] == 'train2017'
              for kp in t['keypoints']]
    assert len(db.data) == len(truths)          # the crowd annotation is left out
    for e, (t, kp) in zip(db.data, truths):
        assert e['joint_img'].shape == (19, 3)
        np.testing.assert_allclose(e['joint_img'][:17, :2], kp[:, :2])
        np.testing.assert_array_equal(e['joint_vis'][:17, 0], kp[:, 2] > 0)
        np.testing.assert_allclose(e['joint_img'][17, :2], (kp[5, :2] + kp[6, :2]) / 2)
        np.testing.assert_allclose(e['joint_img'][18, :2], (kp[11, :2] + kp[12, :2]) / 2)
        assert e['joint_vis'][17, 0] == (kp[5, 2] * kp[6, 2] > 0)
        np.testing.assert_allclose(e['f'], [1500, 1500])
        np.testing.assert_allclose(e['c'], [64, 64])


def test_mscoco_test_reads_boxes_and_roots_from_the_bbox_root_file(cfg, gt):
    db = MSCOCO('test', cfg)
    records = gt['MSCOCO']['bbox_root']
    assert len(db.data) == len(records) > 0
    for e, rec in zip(db.data, records):
        np.testing.assert_allclose(e['root_cam'], rec['root_cam'])
        np.testing.assert_allclose(e['bbox'], rec['bbox'])
        assert e['img_path'] == osp.join(cfg.data_dir, 'MSCOCO', 'images', 'val2017',
                                         f"{rec['image_id']:012d}.jpg")


# -- errors ---------------------------------------------------------------------------------------
def test_data_dir_is_read_at_construction_and_missing_files_are_named(cfg, tree, tmp_path, monkeypatch):
    cfg = cfg.replace(data_dir=str(tmp_path))
    with pytest.raises(PoseNetError) as err:
        MuCo('train', cfg)
    assert osp.join(str(tmp_path), 'MuCo') in str(err.value)
    assert "docs/datasets.md" in str(err.value)
    (tmp_path / 'Human36M' / 'annotations').mkdir(parents=True)
    with pytest.raises(PoseNetError) as err:
        Human36M('test', cfg)
    assert osp.join(str(tmp_path), 'Human36M', 'annotations',
                    'Human36M_subject9_data.json') in str(err.value)
    (tmp_path / 'MSCOCO').mkdir()
    with pytest.raises(PoseNetError, match='person_keypoints_val2017.json'):
        MSCOCO('test', cfg)


def test_wrong_split_and_broken_files_are_clear_errors(cfg, tmp_path, monkeypatch):
    cfg = cfg.replace(data_dir=str(tmp_path))
    with pytest.raises(PoseNetError, match="no 'test' split"):
        MuCo('test', cfg)
    with pytest.raises(PoseNetError, match='protocol'):
        Human36M('test', cfg, protocol=3)
    (tmp_path / 'MPII' / 'annotations').mkdir(parents=True)
    (tmp_path / 'MPII' / 'annotations' / 'train.json').write_text('{"images": [')
    with pytest.raises(PoseNetError, match='cannot be read as JSON'):
        MPII('train', cfg)


# -- file order and file structure ------------------------------------------------------------------
def copy_h36m(tree, dst):
    """A copy of the generated Human36M annotations (no images needed to load entries)."""
    import shutil
    shutil.copytree(osp.join(tree[0], 'Human36M', 'annotations'),
                    osp.join(dst, 'Human36M', 'annotations'))
    return osp.join(dst, 'Human36M', 'annotations')


def test_human36m_entries_follow_the_files_order_not_the_ids(tree, tmp_path):
    ann_dir = copy_h36m(tree, str(tmp_path))
    path = osp.join(ann_dir, 'Human36M_subject9_data.json')
    annot = json.load(open(path))
    # reverse the annotations and give them decreasing ids: the loader keeps file order
    annot['annotations'] = annot['annotations'][::-1]
    for i, ann in enumerate(annot['annotations']):
        ann['id'] = 10 ** 6 - i
    json.dump(annot, open(path, 'w'))
    cfg = Config(data_dir=str(tmp_path))
    db = Human36M('test', cfg)
    subject9 = [e['img_id'] for e in db.data if osp.basename(e['img_path']).startswith('s_09_')]
    expected = [a['image_id'] for a in annot['annotations']
                if next(i for i in annot['images'] if i['id'] == a['image_id'])['frame_idx'] % 64
                == 0]
    assert subject9 == expected and len(expected) > 1
    # subjects in protocol order: 9 before 11
    subjects = [int(osp.basename(e['img_path'])[2:4]) for e in db.data]
    assert subjects == sorted(subjects) and set(subjects) == {9, 11}


def test_wrong_file_structure_names_the_file_and_field(tree, tmp_path):
    ann_dir = copy_h36m(tree, str(tmp_path))
    cfg = Config(data_dir=str(tmp_path))
    data_path = osp.join(ann_dir, 'Human36M_subject9_data.json')
    original = open(data_path).read()
    open(data_path, 'w').write('{}')
    with pytest.raises(PoseNetError, match=r"Human36M annotation file .*subject9_data\.json: "
                                           r"'images' is missing or not a list"):
        Human36M('test', cfg)
    annot = json.loads(original)
    del annot['images'][1]['frame_idx']
    json.dump(annot, open(data_path, 'w'))
    with pytest.raises(PoseNetError, match=r"subject9_data\.json: images\[1\] lacks 'frame_idx'"):
        Human36M('test', cfg)
    open(data_path, 'w').write(original)
    camera_path = osp.join(ann_dir, 'Human36M_subject9_camera.json')
    open(camera_path, 'w').write('[]')
    with pytest.raises(PoseNetError, match=r"Human36M camera file .*subject9_camera\.json: "
                                           r"expected \{cam_idx: \{R, t, f, c\}\}"):
        Human36M('test', cfg)
    open(camera_path, 'w').write(json.dumps({'1': {'R': [[1, 0, 0]], 't': [0, 0, 0],
                                                   'f': [1, 1], 'c': [0, 0]}}))
    with pytest.raises(PoseNetError, match=r"camera 1 needs R 3x3, t 3, f 2, c 2 numbers"):
        Human36M('test', cfg)
    # a COCO-style file without its annotations' keypoints
    (tmp_path / 'MPII' / 'annotations').mkdir(parents=True)
    (tmp_path / 'MPII' / 'annotations' / 'train.json').write_text(json.dumps(
        {'images': [{'id': 1, 'file_name': 'a.jpg', 'width': 9, 'height': 9}],
         'annotations': [{'id': 1, 'image_id': 1, 'bbox': [0, 0, 5, 5], 'num_keypoints': 3}]}))
    with pytest.raises(PoseNetError, match=r"MPII annotation file .*train\.json: "
                                           r"annotations\[0\] lacks 'keypoints'"):
        MPII('train', cfg)
