"""The synthetic data generator: files in the published formats, geometry, rendering cues."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import scipy.io

from common.utils.errors import PoseNetError
from common.utils.pose_utils import cam2pixel, world2cam
from data import joint_sets
from tool import synthetic_data as sd
from tests.synthetic_helpers import make_tree

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory, 'synthetic', h36m_subjects=(1, 11))


def load(path):
    with open(path) as f:
        return json.load(f)


def test_every_published_file_is_written(tree):
    out, gt = tree
    expected = [
        'Human36M/annotations/Human36M_subject1_data.json',
        'Human36M/annotations/Human36M_subject11_camera.json',
        'Human36M/annotations/Human36M_subject11_joint_3d.json',
        'Human36M/bbox_root/bbox_root_human36m_output.json',
        'MPII/annotations/train.json',
        'MSCOCO/annotations/person_keypoints_train2017.json',
        'MSCOCO/annotations/person_keypoints_val2017.json',
        'MSCOCO/bbox_root/bbox_root_coco_output.json',
        'MuCo/data/MuCo-3DHP.json',
        'MuPoTS/data/MuPoTS-3D.json',
        'MuPoTS/bbox_root/bbox_root_mupots_output.json',
        'MuPoTS/data/MultiPersonTestSet/TS1/annot.mat',
        'MuPoTS/data/MultiPersonTestSet/TS2/occlusion.mat',
    ]
    for rel in expected:
        assert osp.isfile(osp.join(out, rel)), rel
    image_dirs = {'Human36M': 'Human36M/images', 'MPII': 'MPII', 'MuCo': 'MuCo/data',
                  'MuPoTS': 'MuPoTS/data/MultiPersonTestSet'}
    for name, folder in image_dirs.items():
        for info in gt[name]['images'].values():
            img = cv2.imread(osp.join(out, folder, info['file_name']))
            assert img is not None and img.shape == (128, 128, 3)
    for info in gt['MSCOCO']['images'].values():
        assert osp.isfile(osp.join(out, 'MSCOCO/images', info['split'], info['file_name']))


def test_human36m_files_carry_every_field_and_camera_convention(tree):
    out, gt = tree
    ann_dir = osp.join(out, 'Human36M', 'annotations')
    data = load(osp.join(ann_dir, 'Human36M_subject11_data.json'))
    cams = load(osp.join(ann_dir, 'Human36M_subject11_camera.json'))
    joints = load(osp.join(ann_dir, 'Human36M_subject11_joint_3d.json'))
    img = data['images'][0]
    for key in ('id', 'file_name', 'width', 'height', 'subject', 'action_name', 'action_idx',
                'subaction_idx', 'cam_idx', 'frame_idx'):
        assert key in img
    assert img['action_name'] == joint_sets.H36M_ACTIONS[img['action_idx'] - 2]
    assert img['file_name'].endswith(f"_{img['frame_idx'] + 1:06d}.jpg")
    ann = data['annotations'][0]
    assert {'id', 'image_id', 'bbox', 'keypoints_vis'} <= set(ann)
    assert sorted(cams) == ['1', '2', '3', '4']
    cam = cams[str(img['cam_idx'])]
    R, t = np.array(cam['R']), np.array(cam['t'])
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-9)
    assert np.linalg.det(R) == pytest.approx(1.0)
    centre = -R.T @ t                                  # camera position, world mm
    assert 4400 < np.hypot(centre[0], centre[1]) < 5600 and 1200 < centre[2] < 1800
    world = np.array(joints[str(img['action_idx'])][str(img['subaction_idx'])][
        str(img['frame_idx'])])
    assert world.shape == (17, 3)
    truth = gt['Human36M']['images'][img['id']]
    np.testing.assert_allclose(world2cam(world, R, t), truth['joint_cam'], atol=1e-6)
    np.testing.assert_allclose(cam2pixel(truth['joint_cam'], cam['f'], cam['c'])[:, :2],
                               truth['joint_img'], atol=1e-6)
    # standing on the floor (z up): feet lowest, head highest
    assert world[:, 2].min() >= 0 and world[:, 2].argmax() in (9, 10)


def test_skeletons_have_plausible_symmetric_bones(tree):
    _, gt = tree
    names = joint_sets.H36M_JOINTS
    for truth in list(gt['Human36M']['images'].values())[:10]:
        j = truth['joint_cam']

        def bone(a, b):
            return np.linalg.norm(j[names.index(a)] - j[names.index(b)])
        for side in 'LR':
            assert 380 < bone(f'{side}_Hip', f'{side}_Knee') < 510
            assert 240 < bone(f'{side}_Shoulder', f'{side}_Elbow') < 330
        assert bone('L_Hip', 'L_Knee') == pytest.approx(bone('R_Hip', 'R_Knee'))
        assert bone('L_Elbow', 'L_Wrist') == pytest.approx(bone('R_Elbow', 'R_Wrist'))


def test_mupots_universal_skeleton_is_the_same_pose_with_standard_bones(tree):
    _, gt = tree
    parents = {c: p for p, c in joint_sets.MUPOTS_SKELETON}
    rest = {n: np.linalg.norm(sd.REST_OFFSET[sd.BODY_INDEX[n]]) for n in ('R_Knee', 'L_Ankle')}
    for truth in gt['MuPoTS']['images'].values():
        for cam, univ in zip(truth['joint_cam'], truth['univ_cam']):
            np.testing.assert_allclose(univ[14], cam[14], atol=1e-9)     # same pelvis
            for child in (9, 13):                                       # R_Knee, L_Ankle
                a = cam[child] - cam[parents[child]]
                b = univ[child] - univ[parents[child]]
                np.testing.assert_allclose(a / np.linalg.norm(a), b / np.linalg.norm(b), atol=1e-9)
            assert np.linalg.norm(univ[9] - univ[8]) == pytest.approx(rest['R_Knee'])
            assert np.linalg.norm(univ[13] - univ[12]) == pytest.approx(rest['L_Ankle'])


def test_mupots_kit_files_round_trip_and_match_the_json(tree):
    out, gt = tree
    seq_dir = osp.join(out, 'MuPoTS', 'data', 'MultiPersonTestSet', 'TS2')
    annots = scipy.io.loadmat(osp.join(seq_dir, 'annot.mat'))['annotations']
    occl = scipy.io.loadmat(osp.join(seq_dir, 'occlusion.mat'))['occlusion_labels']
    frames = sorted((t for t in gt['MuPoTS']['images'].values() if t['sequence'] == 2),
                    key=lambda t: t['frame'])
    people = len(frames[0]['joint_cam'])
    assert annots.shape == occl.shape == (len(frames), people)
    doc = load(osp.join(out, 'MuPoTS', 'data', 'MuPoTS-3D.json'))
    anns = {a['id']: a for a in doc['annotations']}
    for i, truth in enumerate(frames):
        for k in range(people):
            cell = annots[i, k]
            assert cell.shape == (1, 1)
            assert set(cell.dtype.names) == {'annot2', 'annot3', 'univ_annot3', 'isValidFrame'}
            ann = anns[truth['ann_ids'][k]]
            np.testing.assert_allclose(cell['annot2'][0, 0], np.array(ann['keypoints_img']).T)
            np.testing.assert_allclose(cell['annot3'][0, 0], np.array(ann['keypoints_cam']).T)
            np.testing.assert_allclose(cell['univ_annot3'][0, 0], truth['univ_cam'][k].T)
            assert float(cell['isValidFrame'][0, 0].squeeze()) == ann['is_valid']
            assert occl[i, k].shape == (1, 17)
            np.testing.assert_array_equal(occl[i, k][0].astype(bool), truth['occluded'][k])
    image = next(im for im in doc['images'] if im['file_name'] == 'TS2/img_000001.jpg')
    assert len(image['intrinsic']) == 4


def test_coco_files_have_categories_crowd_and_virtual_camera_roots(tree):
    out, gt = tree
    doc = load(osp.join(out, 'MSCOCO', 'annotations', 'person_keypoints_train2017.json'))
    cat = doc['categories'][0]
    assert cat['id'] == 1 and cat['name'] == 'person' and len(cat['keypoints']) == 17
    assert cat['keypoints'][:3] == ['nose', 'left_eye', 'right_eye']
    crowd = [a for a in doc['annotations'] if a['iscrowd']]
    assert len(crowd) == 1 and crowd[0]['num_keypoints'] == 0
    people = [a for a in doc['annotations'] if not a['iscrowd']]
    for a in people:
        v = np.array(a['keypoints']).reshape(17, 3)[:, 2]
        assert set(v) <= {0, 1, 2} and a['num_keypoints'] == (v > 0).sum()
    records = gt['MSCOCO']['bbox_root']
    assert records == load(osp.join(out, 'MSCOCO', 'bbox_root', 'bbox_root_coco_output.json'))
    by_image = {}
    for rec in records:
        by_image.setdefault(rec['image_id'], []).append(rec)
    for img_id, recs in by_image.items():
        truth = gt['MSCOCO']['images'][img_id]
        for rec, root_px in zip(recs, truth['root_img']):
            px = cam2pixel(np.array([rec['root_cam']]), (1500, 1500), (64, 64))[0, :2]
            np.testing.assert_allclose(px, root_px, atol=1e-6)


def test_body_model_is_right_handed():
    """Anatomical sides: right x forward = up (a mirrored body would swap left and right)."""
    rng = np.random.default_rng(1)
    offsets = sd.sample_bodies(rng, 5)
    local = np.broadcast_to(np.eye(3), (5, len(sd.BODY), 3, 3))
    heading = np.stack([cv2.Rodrigues(np.array([0., 0., a]))[0] for a in rng.uniform(-3, 3, 5)])
    body = sd.forward_kinematics(offsets, local, heading)
    i = sd.BODY_INDEX
    right = body[:, i['R_Hip']] - body[:, i['L_Hip']]
    forward = body[:, i['Nose']] - body[:, i['Head']]
    assert (np.cross(right, forward)[:, 2] > 0).all()


def test_render_colours_sides_and_marks_occlusion_by_nearer_people():
    rng = np.random.default_rng(0)
    offsets = sd.sample_bodies(rng, 1)
    local = np.broadcast_to(np.eye(3), (1, len(sd.BODY), 3, 3))
    facing_camera = np.diag([-1., -1., 1.])[None]     # heading 180 deg: looks along -y
    body = sd.forward_kinematics(offsets, local, facing_camera)[0]
    # camera at the origin looking along +y (world z up -> image y down)
    cam = {'R': np.array([[1., 0, 0], [0, 0, -1], [0, 1, 0]]), 't': np.zeros(3),
           'f': np.array([200., 200.]), 'c': np.array([64., 64.])}
    far, near = body + [0, 6000, 0], body + [0, 3000, 0]
    shot = sd.Shot(rng, (128, 128), cam, np.stack([far, near]))
    # the near person covers the far one standing right behind it
    assert shot.occluded[1].sum() == 0
    assert shot.occluded[0, sd.BODY_INDEX['Spine']]
    # facing the camera, the person's left is on the image's right
    assert shot.pix[1, sd.BODY_INDEX['L_Elbow'], 0] > shot.pix[1, sd.BODY_INDEX['R_Elbow'], 0]
    # left limbs warm (red > blue), right limbs cool, at the near person's elbows
    for name, warm in (('L_Elbow', True), ('R_Elbow', False)):
        x, y = np.round(shot.pix[1, sd.BODY_INDEX[name]]).astype(int)
        b, g, r = shot.img[y, x].astype(int)
        assert (r > b) == warm, (name, (b, g, r))
    # nearer segments are drawn thicker and brighter
    prims_near = sd.person_primitives(shot.pix[1], shot.body_cam[1, :, 2], 200.)
    prims_far = sd.person_primitives(shot.pix[0], shot.body_cam[0, :, 2], 200.)
    width = {p[0] > 4500: p[4] for p in prims_near + prims_far if p[1] == 'line'}
    assert width[False] > 1.8 * width[True]
    dark, bright = sd.shade((100, 100, 100), 300), sd.shade((100, 100, 100), -300)
    assert bright[0] > dark[0]


def test_same_seed_same_files_other_seed_other_people(tmp_path):
    a = sd.generate(str(tmp_path / 'a'), ['MuCo'], seed=1, num_images=2, img_size=64)
    b = sd.generate(str(tmp_path / 'b'), ['MuCo'], seed=1, num_images=2, img_size=64)
    c = sd.generate(str(tmp_path / 'c'), ['MuCo'], seed=2, num_images=2, img_size=64)
    path = osp.join('MuCo', 'data', 'MuCo-3DHP.json')
    assert load(tmp_path / 'a' / path) == load(tmp_path / 'b' / path)
    assert load(tmp_path / 'a' / path) != load(tmp_path / 'c' / path)
    np.testing.assert_array_equal(a['MuCo']['images'][1]['joint_cam'],
                                  b['MuCo']['images'][1]['joint_cam'])
    assert c['MuCo']['images'][1]['joint_cam'].shape[1:] == (21, 3)


def test_regenerating_replaces_synthetic_data_but_never_real_data(tmp_path):
    sd.generate(str(tmp_path), ['MuCo'], num_images=3, img_size=64)
    sd.generate(str(tmp_path), ['MuCo'], num_images=1, img_size=64)
    files = os.listdir(tmp_path / 'MuCo' / 'data' / 'unaugmented_set')
    assert files == ['000001.jpg']                       # stale images removed
    real = tmp_path / 'real' / 'MPII' / 'annotations'
    real.mkdir(parents=True)
    (real / 'train.json').write_text('{}')
    with pytest.raises(PoseNetError, match='refusing to overwrite'):
        sd.generate(str(tmp_path / 'real'), ['MPII'], num_images=1, img_size=64)
    assert (real / 'train.json').read_text() == '{}'


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(PoseNetError, match='unknown dataset'):
        sd.generate(str(tmp_path), ['Human3.6M'])
    with pytest.raises(PoseNetError, match='people per image'):
        sd.generate(str(tmp_path), ['MuCo'], min_people=3, max_people=2)


def test_command_line_writes_a_tree(tmp_path):
    out = tmp_path / 'cli'
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tool', 'synthetic_data.py'), '--out',
                           str(out), '--datasets', 'MPII', 'MuPoTS', '--img_size', '96', '64',
                           '--num_images', '2', '--num_sequences', '1', '--seed', '5'],
                          capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert 'MuPoTS: 3 images' in proc.stdout
    doc = load(out / 'MPII' / 'annotations' / 'train.json')
    assert len(doc['images']) == 2 and doc['images'][0]['width'] == 96
    img = cv2.imread(str(out / 'MuPoTS' / 'data' / 'MultiPersonTestSet' / 'TS1' / 'img_000002.jpg'))
    assert img.shape == (64, 96, 3)
