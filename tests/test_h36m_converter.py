"""Human3.6M converter: generated per-sequence metadata -> per-subject JSON -> camera joints.

The metadata use Human3.6M's camera convention (T = camera centre in world coordinates,
X_cam = R (X_world - T)); the written JSON must satisfy the loader's `cam = R @ world + t`.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import scipy.io

from common.utils.errors import PoseNetError
from common.utils.pose_utils import cam2pixel, get_bbox
from data.Human36M.Human36M import Human36M
from main.config import Config
from tool.Human36M import convert_h36m as conv
from tool.synthetic_data import generate

# Human3.6M 17 joints (Pelvis, R_Hip, R_Knee, R_Ankle, L_Hip, L_Knee, L_Ankle, Torso, Neck,
# Nose, Head, L_Shoulder, L_Elbow, L_Wrist, R_Shoulder, R_Elbow, R_Wrist), world mm, z up
SKELETON = np.array([
    [0, 0, 950], [-130, 0, 940], [-140, 20, 500], [-150, 40, 80], [130, 0, 940],
    [140, 20, 500], [150, 40, 80], [0, 10, 1180], [0, 0, 1450], [0, -80, 1560], [0, 0, 1650],
    [180, 0, 1420], [230, 20, 1150], [250, -40, 900], [-180, 0, 1420], [-230, 20, 1150],
    [-250, -40, 900]], dtype=np.float64)
NUM_FRAMES = 70        # keeps frames 0, 64 for testing (% 64) and 0, 5, ..., 65 for training
SUBJECTS = (1, 5, 6, 7, 8, 9, 11)
SEQUENCES = {s: (4 if s in (1, 9) else 1) for s in SUBJECTS}


def look_at_camera(angle_deg, dist=4500., height=1500.):
    """Human3.6M-style camera: rotation `R` (rows = camera axes in world) and centre `T`."""
    a = np.deg2rad(angle_deg)
    T = np.array([dist * np.cos(a), dist * np.sin(a), height])
    z = np.array([0., 0., 900.]) - T
    z /= np.linalg.norm(z)
    x = np.cross(z, [0., 0., 1.])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)                      # image y points down
    return np.stack([x, y, z]), T


def make_poses(seed, n=NUM_FRAMES):
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 15, (n, 1, 3)), axis=0) * [1, 1, 0]
    return SKELETON[None] + walk + rng.normal(0, 5, (n, 17, 3))


def write_meta(meta_dir, subject, action, subaction, camera, poses, as_folder=True):
    R, T = look_at_camera(90 * camera - 45 + 7 * subject)
    folder = conv.sequence_name(subject, action, subaction, camera)
    meta = {'pose3d_world': poses, 'R': R, 'T': T[None], 'f': np.array([[1145., 1144.]]),
            'c': np.array([[512., 515.]]), 'img_width': 1000, 'img_height': 1002}
    if as_folder:
        path = osp.join(meta_dir, folder, conv.META_NAME)
        os.makedirs(osp.dirname(path), exist_ok=True)
    else:
        path = osp.join(meta_dir, folder + '.mat')
    scipy.io.savemat(path, meta)
    return folder, R, T


@pytest.fixture
def converted(tmp_path):
    """Subjects 1 and 9: two takes x two cameras each (camera 2 as `<folder>.mat`); the other
    protocol subjects one sequence each; plus the sequence that must be skipped."""
    meta_dir = str(tmp_path / 'Human36M' / 'images')
    out_dir = str(tmp_path / 'Human36M' / 'annotations')
    truth = {}
    for subject in SUBJECTS:
        takes = ((2, 1), (5, 2)) if subject in (1, 9) else ((3, 1),)
        for action, subaction in takes:
            poses = make_poses(100 * subject + 10 * action + subaction)
            for camera in ((1, 2) if subject in (1, 9) else (3,)):
                folder, R, T = write_meta(meta_dir, subject, action, subaction, camera, poses,
                                          as_folder=(camera != 2))
                truth[folder] = (poses, R, T)
    write_meta(meta_dir, 11, 2, 2, 1, make_poses(0))          # must be skipped
    files = conv.convert(meta_dir, out_dir, verbose=False)
    return {'meta_dir': meta_dir, 'out_dir': out_dir, 'truth': truth, 'files': files,
            'data_dir': str(tmp_path)}


def load(out_dir, subject, what):
    with open(osp.join(out_dir, f'Human36M_subject{subject}_{what}.json')) as f:
        return json.load(f)


def test_camera_convention():
    R, T = look_at_camera(30)
    Rw, t = conv.camera_extrinsics(R, T)
    X = SKELETON
    np.testing.assert_allclose(X @ Rw.T + t, (X - T) @ R.T, atol=1e-9)
    # people stand in front of the camera: positive depth
    assert np.all(((X - T) @ R.T)[:, 2] > 3000)


def test_files_and_records(converted):
    out_dir = converted['out_dir']
    assert sorted(osp.basename(p) for p in converted['files']) == sorted(
        f'Human36M_subject{s}_{w}.json' for s in SUBJECTS for w in ('data', 'camera', 'joint_3d'))
    ids = []
    for subject in SUBJECTS:
        data = load(out_dir, subject, 'data')
        assert len(data['images']) == SEQUENCES[subject] * NUM_FRAMES == len(data['annotations'])
        ids += [img['id'] for img in data['images']]
        assert all(ann['keypoints_vis'] == [1] * 17 for ann in data['annotations'])
    # the broken sequence is skipped
    names = [i['file_name'] for i in load(out_dir, 11, 'data')['images']]
    assert not any(n.startswith('s_11_act_02_subact_02_ca_01') for n in names)
    assert load(out_dir, 11, 'joint_3d').keys() == {'3'}
    assert len(set(ids)) == len(ids) == sum(SEQUENCES.values()) * NUM_FRAMES
    assert sorted(ids) == list(range(len(ids)))
    for subject in (1, 9):
        data = load(out_dir, subject, 'data')
        img = next(i for i in data['images'] if i['frame_idx'] == 64 and i['cam_idx'] == 2
                   and i['action_idx'] == 5)
        folder = conv.sequence_name(subject, 5, 2, 2)
        assert img['file_name'] == f'{folder}/{folder}_000065.jpg'
        assert (img['width'], img['height'], img['subject']) == (1000, 1002, subject)
        assert (img['action_name'], img['subaction_idx']) == ('Greeting', 2)
        ann = next(a for a in data['annotations'] if a['image_id'] == img['id'])
        poses, R, T = converted['truth'][folder]
        cam = (poses[64] - T) @ R.T
        expected = get_bbox(cam2pixel(cam, (1145., 1144.), (512., 515.))[:, :2])
        np.testing.assert_allclose(ann['bbox'], expected, atol=1e-6)


def test_camera_and_joints_give_camera_space_joints(converted):
    out_dir = converted['out_dir']
    for folder, (poses, R, T) in converted['truth'].items():
        subject, action, subaction, camera = (int(g) for g in conv.SEQ_RE.match(folder).groups())
        cam = load(out_dir, subject, 'camera')[str(camera)]
        joints = load(out_dir, subject, 'joint_3d')[str(action)][str(subaction)]
        assert len(joints) == NUM_FRAMES
        world = np.array([joints[str(i)] for i in range(NUM_FRAMES)])
        got = world @ np.array(cam['R']).T + np.array(cam['t'])
        np.testing.assert_allclose(got, (poses - T) @ R.T, atol=1e-3)
        assert cam['f'] == [1145., 1144.] and cam['c'] == [512., 515.]


@pytest.mark.parametrize('split', ['train', 'test'])
def test_loader_reads_back_camera_joints(converted, split):
    cfg = Config(data_dir=converted['data_dir'])
    db = Human36M(split, cfg)             # protocol 2: train 1, 5, 6, 7, 8; test 9, 11
    subjects = (1, 5, 6, 7, 8) if split == 'train' else (9, 11)
    images = {img['id']: img for s in subjects
              for img in load(converted['out_dir'], s, 'data')['images']}
    step = 5 if split == 'train' else 64
    per_seq = len(range(0, NUM_FRAMES, step))
    assert len(db.data) == sum(SEQUENCES[s] for s in subjects) * per_seq
    for entry in db.data:
        img = images[entry['img_id']]
        folder = conv.sequence_name(img['subject'], img['action_idx'], img['subaction_idx'],
                                    img['cam_idx'])
        poses, R, T = converted['truth'][folder]
        expected = (poses[img['frame_idx']] - T) @ R.T
        np.testing.assert_allclose(entry['joint_cam'][:17], expected, atol=1e-3)


def test_inconsistent_cameras_are_an_error(tmp_path):
    meta_dir = str(tmp_path / 'meta')
    poses = make_poses(1)
    write_meta(meta_dir, 1, 2, 1, 1, poses)
    path = osp.join(meta_dir, conv.sequence_name(1, 3, 1, 1), conv.META_NAME)
    os.makedirs(osp.dirname(path))
    R, T = look_at_camera(10)
    scipy.io.savemat(path, {'pose3d_world': poses, 'R': R, 'T': T, 'f': [1., 1.],
                            'c': [0., 0.], 'img_width': 10, 'img_height': 10})
    with pytest.raises(PoseNetError, match='camera 1 of subject 1 differs'):
        conv.convert(meta_dir, str(tmp_path / 'out'), verbose=False)


def test_missing_inputs_are_clear_errors(tmp_path):
    with pytest.raises(PoseNetError, match='metadata folder not found'):
        conv.convert(str(tmp_path / 'nowhere'), str(tmp_path / 'out'))
    meta_dir = str(tmp_path / 'meta')
    path = osp.join(meta_dir, conv.sequence_name(1, 2, 1, 1), conv.META_NAME)
    os.makedirs(osp.dirname(path))
    scipy.io.savemat(path, {'pose3d_world': make_poses(0), 'R': np.eye(3)})
    with pytest.raises(PoseNetError, match=r'missing variable\(s\) T, f, c, img_width'):
        conv.convert(meta_dir, str(tmp_path / 'out'), verbose=False)
    with pytest.raises(PoseNetError, match=r'for subjects \[5\]'):
        conv.convert(meta_dir, str(tmp_path / 'out'), subjects=[5], verbose=False)
    script = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tool', 'Human36M',
                      'convert_h36m.py')
    proc = subprocess.run([sys.executable, script, '--meta_dir', str(tmp_path / 'nowhere'),
                           '--out_dir', str(tmp_path / 'out')], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith('error: Human3.6M metadata folder not found')
    assert proc.stderr.count('\n') == 1


def test_agrees_with_the_synthetic_generator(tmp_path):
    """Metadata made from the generator's Human36M ground truth convert to the generator's own
    JSON records (file names, image fields, boxes, camera, world joints)."""
    truth = generate(str(tmp_path / 'gen'), datasets=['Human36M'], seed=2, img_size=160,
                         h36m_subjects=(1,), h36m_actions=1, h36m_cameras=2)['Human36M']
    gen_dir = tmp_path / 'gen' / 'Human36M' / 'annotations'
    gen_images = {i['file_name']: i for i in load(str(gen_dir), 1, 'data')['images']}
    gen_anns = {a['image_id']: a for a in load(str(gen_dir), 1, 'data')['annotations']}
    # one metadata file per sequence; frames the generator did not make repeat a made one
    seqs = {}
    for img in truth['images'].values():
        key = (img['subject'], img['action_idx'], img['subaction_idx'], img['cam_idx'])
        seqs.setdefault(key, {})[img['frame_idx']] = img['joint_world']
    meta_dir = tmp_path / 'meta'
    for key, frames in seqs.items():
        cam = truth['cameras'][key[0]][key[3]]
        R, t = np.asarray(cam['R']), np.asarray(cam['t'])
        poses = np.repeat(np.asarray(frames[min(frames)])[None], max(frames) + 1, axis=0)
        for frame_idx, world in frames.items():
            poses[frame_idx] = world
        folder = conv.sequence_name(*key)
        os.makedirs(meta_dir / folder)
        size = next(i for n, i in gen_images.items() if n.startswith(folder))
        scipy.io.savemat(str(meta_dir / folder / conv.META_NAME),
                         {'pose3d_world': poses, 'R': R, 'T': -R.T @ t, 'f': cam['f'],
                          'c': cam['c'], 'img_width': size['width'],
                          'img_height': size['height']})
    conv.convert(str(meta_dir), str(tmp_path / 'out'), verbose=False)
    ours = load(str(tmp_path / 'out'), 1, 'data')
    our_images = {i['file_name']: i for i in ours['images']}
    our_anns = {a['image_id']: a for a in ours['annotations']}
    fields = ('width', 'height', 'subject', 'action_name', 'action_idx', 'subaction_idx',
              'cam_idx', 'frame_idx')
    assert len(gen_images) == len(truth['images']) > 0
    for name, gen in gen_images.items():
        mine = our_images[name]
        assert {k: mine[k] for k in fields} == {k: gen[k] for k in fields}
        np.testing.assert_allclose(our_anns[mine['id']]['bbox'], gen_anns[gen['id']]['bbox'],
                                   atol=1e-6)
    gen_cams, our_cams = load(str(gen_dir), 1, 'camera'), load(str(tmp_path / 'out'), 1, 'camera')
    for cam_idx, cam in our_cams.items():
        for k in ('R', 't', 'f', 'c'):
            np.testing.assert_allclose(cam[k], gen_cams[cam_idx][k], atol=1e-6)
    gen_joints, our_joints = (load(str(gen_dir), 1, 'joint_3d'),
                              load(str(tmp_path / 'out'), 1, 'joint_3d'))
    for action, subs in gen_joints.items():
        for sub, frames in subs.items():
            for frame, world in frames.items():
                np.testing.assert_allclose(our_joints[action][sub][frame], world, atol=1e-9)
