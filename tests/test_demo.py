"""demo/demo.py: boxes and roots in, image/camera-space poses and three files out.

Fast: a ResNet-18 with 64x64 input and random weights for the end-to-end runs; a stub model with
fixed outputs for the geometry (where the joints land in the photo, and at which depth).
"""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

import demo.demo as demo
from common.nets.posenet import get_pose_net
from common.utils.errors import PoseNetError
from common.utils.snapshot import save_snapshot
from data.MuCo.MuCo import MuCo
from main.config import cfg

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SMALL_CFG = ['resnet_type=18', 'pretrained_backbone=False', 'input_shape=(64, 64)']
IMG_W, IMG_H = 320, 240


class FixedPoseNet(torch.nn.Module):
    """Stub PoseNet: every joint of every person at `coord` (heatmap units), or per person.

    Records the batches it was given."""

    def __init__(self, coord, joint_num=21):
        super().__init__()
        self.coord = torch.as_tensor(np.asarray(coord, dtype=np.float32))
        self.joint_num = joint_num
        self.calls = []

    def forward(self, x):
        self.calls.append(x.detach().clone())
        if self.coord.dim() == 1:
            return self.coord.expand(x.shape[0], self.joint_num, 3).clone()
        return self.coord[:x.shape[0]].clone()


def draw_person_image(path):
    """A 320x240 photo-like test image: grey background, one stick figure; written to `path`."""
    img = np.full((IMG_H, IMG_W, 3), 90, np.uint8)
    cv2.rectangle(img, (0, 180), (IMG_W - 1, IMG_H - 1), (60, 110, 60), -1)
    cv2.circle(img, (150, 50), 12, (180, 200, 230), -1)
    for p, q in (((150, 62), (150, 130)), ((150, 80), (120, 110)), ((150, 80), (180, 110)),
                 ((150, 130), (130, 190)), ((150, 130), (170, 190))):
        cv2.line(img, p, q, (40, 40, 200), 6)
    assert cv2.imwrite(str(path), img)
    return img


@pytest.fixture
def small_cfg():
    cfg.apply_overrides(SMALL_CFG)
    return cfg


@pytest.fixture
def snapshot(tmp_path, small_cfg):
    torch.manual_seed(0)
    model = get_pose_net(small_cfg, True, 21)
    return str(save_snapshot(str(tmp_path / 'snapshot_3.pth.tar'), 3, model))


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / 'people.jpg'
    draw_person_image(path)
    return str(path)


def demo_args(photo, snapshot, out, *extra):
    return ['--input', photo, '--snapshot', snapshot, '--out', str(out), *extra,
            '--cfg', *SMALL_CFG]


# -- joint set ------------------------------------------------------------------------------------
def test_joint_set_is_mucos():
    assert demo.JOINTS_NAME == tuple(MuCo.joints_name)
    assert demo.SKELETON == tuple(tuple(p) for p in MuCo.skeleton)
    assert demo.FLIP_PAIRS == tuple(tuple(p) for p in MuCo.flip_pairs)
    assert demo.JOINT_NUM == 21 and demo.JOINTS_NAME[14] == 'Pelvis'


# -- end to end -----------------------------------------------------------------------------------
def test_demo_writes_three_outputs(tmp_path, photo, snapshot):
    out = tmp_path / 'out'
    boxes = [[100, 30, 110, 170], [10, 20, 60, 120]]
    result = demo.main(demo_args(photo, snapshot, out, '--bbox', *map(str, boxes[0]),
                                 '--bbox', *map(str, boxes[1]),
                                 '--root_depth', '4500', 'prior', '--focal', '1000', '1100'))
    files = result['files']
    assert set(files) == {'pose_2d', 'pose_3d', 'json'}
    assert files['pose_2d'] == str(out / 'output_pose_2d.jpg')
    assert files['pose_3d'] == str(out / 'output_pose_3d.png')
    drawn = cv2.imread(files['pose_2d'])
    assert drawn.shape == (IMG_H, IMG_W, 3)
    assert cv2.imread(files['pose_3d']) is not None
    assert not [f for f in os.listdir(out) if f.endswith('.tmp')]

    with open(files['json']) as f:
        meta = json.load(f)
    assert meta['joints_name'] == list(MuCo.joints_name)
    assert meta['snapshot'] == osp.abspath(snapshot) and meta['snapshot_epoch'] == 3
    assert meta['camera'] == {'focal': [1000.0, 1100.0], 'princpt': [160.0, 120.0],
                              'princpt_source': 'image centre'}
    assert meta['bbox_source'] == 'command line'
    people = meta['people']
    assert [p['bbox'] for p in people] == boxes
    assert [p['root_source'] for p in people] == ['given', 'prior']
    assert people[0]['root_depth'] == 4500.0
    prior = math.sqrt(1000 * 1100 * 2000 * 2000 / (people[1]['bbox_processed'][2]
                                                   * people[1]['bbox_processed'][3]))
    assert people[1]['root_depth'] == pytest.approx(prior)

    for p in people:
        pose_2d, pose_3d = np.array(p['pose_2d']), np.array(p['pose_3d'])
        assert pose_2d.shape == (21, 2) and pose_3d.shape == (21, 3)
        bx, by, bw, bh = p['bbox_processed']
        # soft-argmax outputs lie inside the heatmap, so the joints lie inside the crop box
        assert np.all((pose_2d[:, 0] >= bx) & (pose_2d[:, 0] <= bx + bw))
        assert np.all((pose_2d[:, 1] >= by) & (pose_2d[:, 1] <= by + bh))
        # relative depth spans +-1000 mm about the root; camera X, Y follow from pixel2cam
        assert np.all(np.abs(pose_3d[:, 2] - p['root_depth']) <= 1000)
        np.testing.assert_allclose(pose_3d[:, 0], (pose_2d[:, 0] - 160) / 1000 * pose_3d[:, 2])
        np.testing.assert_allclose(pose_3d[:, 1], (pose_2d[:, 1] - 120) / 1100 * pose_3d[:, 2])
    # the returned dict is the JSON content
    assert result['people'] == people


def test_without_boxes_the_whole_image_is_one_person(tmp_path, photo, snapshot):
    meta = demo.main(demo_args(photo, snapshot, tmp_path))
    assert meta['bbox_source'].startswith('whole image')
    assert len(meta['people']) == 1
    person = meta['people'][0]
    assert person['bbox'] == [0.0, 0.0, IMG_W, IMG_H]
    assert person['root_source'] == 'prior'
    # 319 x 239 clipped, widened to 1:1 (319), x1.25 -> 398.75 px square
    assert person['bbox_processed'][2] == pytest.approx(398.75)
    assert person['root_depth'] == pytest.approx(1500 * 2000 / 398.75)


# -- geometry -------------------------------------------------------------------------------------
def test_centre_output_maps_to_box_centre_and_root_depth():
    # non-square, and a heatmap scaled unlike the input on each axis (x: /4, y: /8)
    cfg.update(input_shape=(64, 48), output_shape=(8, 12), depth_dim=32)
    img = np.zeros((IMG_H, IMG_W, 3), np.uint8)
    model = FixedPoseNet([12 / 2, 8 / 2, 32 / 2])
    focal, princpt = (1000.0, 800.0), (160.0, 120.0)
    boxes = [[100, 50, 81, 161], [20, 10, 41, 31]]
    res = demo.run_demo(model, img, boxes, [5000.0, 2500.0], focal, princpt, cfg)

    assert len(model.calls) == 1 and model.calls[0].shape == (2, 3, 64, 48)   # one batch
    # box 1 clipped: x 100..180, y 50..210 -> centre (140, 130); box 2: centre (40, 25)
    np.testing.assert_allclose(res['pose_2d'][0], np.tile([140.0, 130.0], (21, 1)), atol=1e-3)
    np.testing.assert_allclose(res['pose_2d'][1], np.tile([40.0, 25.0], (21, 1)), atol=1e-3)
    assert np.all(res['pose_3d'][0, :, 2] == 5000.0)
    assert np.all(res['pose_3d'][1, :, 2] == 2500.0)
    # X = (140 - 160) / 1000 * 5000 = -100, Y = (130 - 120) / 800 * 5000 = 62.5
    np.testing.assert_allclose(res['pose_3d'][0], np.tile([-100.0, 62.5, 5000.0], (21, 1)),
                               atol=1e-2)
    assert res['root_source'] == ['given', 'given']


def test_heatmap_corners_map_to_processed_box_corners_and_depth_range():
    cfg.update(input_shape=(64, 64))
    img = np.zeros((IMG_H, IMG_W, 3), np.uint8)
    box = [100, 50, 81, 161]          # processed: 200 x 200 around (140, 130) -> x0 40, y0 30
    top_left = demo.run_demo(FixedPoseNet([0, 0, 0]), img, [box], [5000.0], (1500, 1500),
                             (160, 120), cfg)
    np.testing.assert_allclose(top_left['bbox_processed'][0], [40, 30, 200, 200])
    np.testing.assert_allclose(top_left['pose_2d'][0], np.tile([40, 30], (21, 1)), atol=1e-3)
    assert np.all(top_left['pose_3d'][0, :, 2] == 4000.0)      # z = 0 -> root - 1000 mm
    far = demo.run_demo(FixedPoseNet([16, 16, 64]), img, [box], [5000.0], (1500, 1500),
                        (160, 120), cfg)
    np.testing.assert_allclose(far['pose_2d'][0], np.tile([240, 230], (21, 1)), atol=1e-3)
    assert np.all(far['pose_3d'][0, :, 2] == 6000.0)           # z = D -> root + 1000 mm


def test_a_placed_person_is_recovered_in_camera_space():
    """Heatmap coordinates of a known 3D person (what a perfect network outputs) come back as
    that person's camera-space joints."""
    cfg.update(input_shape=(64, 48), output_shape=(8, 12))
    rng = np.random.default_rng(3)
    focal, princpt = np.array([1200.0, 1300.0]), np.array([150.0, 110.0])
    root = np.array([200.0, 150.0, 6000.0])
    joint_cam = root + rng.uniform(-600, 600, size=(21, 3))
    px = joint_cam[:, :2] / joint_cam[:, 2:] * focal + princpt
    box = [px[:, 0].min() - 10, px[:, 1].min() - 10, np.ptp(px[:, 0]) + 20,
           np.ptp(px[:, 1]) + 20]
    bx, by, bw, bh = demo.process_boxes([box], IMG_W, IMG_H, cfg.input_shape)[0]
    coord = np.stack([(px[:, 0] - bx) / bw * 12, (px[:, 1] - by) / bh * 8,
                      ((joint_cam[:, 2] - root[2]) / 1000 + 1) / 2 * 64], axis=1)
    res = demo.run_demo(FixedPoseNet(coord[None]), np.zeros((IMG_H, IMG_W, 3), np.uint8),
                        [box], [root[2]], focal, princpt, cfg)
    np.testing.assert_allclose(res['pose_2d'][0], px, atol=1e-3)
    np.testing.assert_allclose(res['pose_3d'][0], joint_cam, atol=0.05)


def test_people_of_the_synthetic_generator_are_mapped_back(tmp_path, snapshot):
    """MuCo images of `tool/synthetic_data.py`: the heatmap coordinates a perfect network would
    output for each annotated person come back as that person's pixels and camera joints; the
    demo also runs end to end on the rendered photo with the file's boxes, roots and camera."""
    synthetic = pytest.importorskip('tool.synthetic_data')
    synthetic.generate(str(tmp_path / 'data'), datasets=['MuCo'], seed=1, num_images=1,
                       img_size=160)
    with open(tmp_path / 'data' / 'MuCo' / 'data' / 'MuCo-3DHP.json') as f:
        annot = json.load(f)
    image = annot['images'][0]
    anns = [a for a in annot['annotations'] if a['image_id'] == image['id']]
    img_path = str(tmp_path / 'data' / 'MuCo' / 'data' / image['file_name'])
    img = cv2.imread(img_path)
    joint_cam = np.array([a['keypoints_cam'] for a in anns], dtype=np.float64)   # (P, 21, 3)
    joint_px = np.array([a['keypoints_img'] for a in anns], dtype=np.float64)    # (P, 21, 2)
    boxes = np.array([a['bbox'] for a in anns], dtype=np.float64)
    roots = joint_cam[:, MuCo.root_idx, 2]
    assert len(anns) >= 2

    processed = demo.process_boxes(boxes, img.shape[1], img.shape[0], cfg.input_shape)
    (out_h, out_w), depth = cfg.output_shape, cfg.depth_dim
    coord = np.stack([(joint_px[..., 0] - processed[:, None, 0]) / processed[:, None, 2] * out_w,
                      (joint_px[..., 1] - processed[:, None, 1]) / processed[:, None, 3] * out_h,
                      ((joint_cam[..., 2] - roots[:, None]) / 1000 + 1) / 2 * depth], axis=2)
    res = demo.run_demo(FixedPoseNet(coord), img, boxes, list(roots), image['f'], image['c'],
                        cfg)
    np.testing.assert_allclose(res['pose_2d'], joint_px, atol=1e-3)
    np.testing.assert_allclose(res['pose_3d'], joint_cam, atol=0.05)

    args = ['--focal', *map(str, image['f']), '--princpt', *map(str, image['c']),
            '--root_depth', *map(str, roots)]
    for box in boxes:
        args += ['--bbox', *map(str, box)]
    meta = demo.main(demo_args(img_path, snapshot, tmp_path / 'out', *args))
    assert [p['root_depth'] for p in meta['people']] == pytest.approx(list(roots))
    assert meta['camera']['princpt_source'] == 'given'
    for name in ('output_pose_2d.jpg', 'output_pose_3d.png', 'output_pose.json'):
        assert osp.getsize(tmp_path / 'out' / name) > 0


def test_crop_is_the_normalised_rgb_box():
    """The network sees the box content as RGB 0..255 normalised by the 0..1 ImageNet mean/std
    (compat)."""
    cfg.update(input_shape=(32, 32))
    img = np.zeros((IMG_H, IMG_W, 3), np.uint8)
    img[40:200, 80:240] = (10, 20, 30)                       # BGR
    model = FixedPoseNet([4, 4, 32])
    demo.run_demo(model, img, [[120, 80, 40, 80]], [3000.0], (1500, 1500), (160, 120), cfg)
    crop = model.calls[0][0]
    expected = [(30 - 0.485) / 0.229, (20 - 0.456) / 0.224, (10 - 0.406) / 0.225]
    np.testing.assert_allclose(crop[:, 16, 16].numpy(), expected, rtol=1e-5)


def test_flip_test_runs_the_mirrored_crop_and_swaps_pairs():
    cfg.update(input_shape=(64, 64))
    coord = np.zeros((1, 21, 3))
    coord[0, :, 0] = 4.0
    coord[0, 2] = [1.0, 5.0, 10.0]                           # R_Shoulder
    coord[0, 5] = [11.0, 6.0, 20.0]                          # L_Shoulder
    model = FixedPoseNet(coord)
    res = demo.run_demo(model, np.zeros((IMG_H, IMG_W, 3), np.uint8), [[100, 50, 81, 161]],
                        [5000.0], (1500, 1500), (160, 120), cfg, flip_test=True)
    assert len(model.calls) == 2
    assert torch.equal(model.calls[1], torch.flip(model.calls[0], dims=[3]))
    # R_Shoulder: mean of (1, 5, 10) and the mirrored L_Shoulder (16 - 11 - 1, 6, 20)
    np.testing.assert_allclose(res['coord_hm'][0, 2], [2.5, 5.5, 15.0])
    np.testing.assert_allclose(res['coord_hm'][0, 0], [(4 + 11) / 2, 0, 0])


# -- camera-distance prior ------------------------------------------------------------------------
def test_prior_equals_formula_for_a_hand_worked_box():
    cfg.update(input_shape=(64, 64))
    # [100, 50, 81, 161] -> clipped 80 x 160 -> 160 x 160 (1:1) -> x1.25 = 200 x 200 = 40000 px^2
    processed = demo.process_boxes([[100, 50, 81, 161]], IMG_W, IMG_H, cfg.input_shape)[0]
    np.testing.assert_allclose(processed, [40, 30, 200, 200])
    # sqrt(1500 * 1500 * 4e6 / 4e4) = 1500 * 10
    assert demo.camera_distance_prior(processed, (1500, 1500)) == pytest.approx(15000.0)
    # sqrt(1000 * 1600 * 4e6 / 4e4) = sqrt(1.6e8)
    assert demo.camera_distance_prior(processed, (1000, 1600)) == pytest.approx(12649.110640673)
    res = demo.run_demo(FixedPoseNet([8, 8, 32]), np.zeros((IMG_H, IMG_W, 3), np.uint8),
                        [[100, 50, 81, 161]], None, (1500, 1500), (160, 120), cfg)
    assert res['root_source'] == ['prior']
    assert res['root_depth'][0] == pytest.approx(15000.0)
    np.testing.assert_allclose(res['pose_3d'][0, :, 2], 15000.0)


# -- input files ----------------------------------------------------------------------------------
def write_json(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f)
    return str(path)


def test_read_detections(tmp_path):
    path = write_json(tmp_path / 'det.json', [
        {'image_id': 7, 'category_id': 1, 'bbox': [10, 20, 30, 40], 'score': 0.9},
        {'image_id': 7, 'category_id': 1, 'bbox': [50, 20, 30, 40], 'score': 0.3},
        {'image_id': 7, 'category_id': 2, 'bbox': [0, 0, 9, 9], 'score': 0.99},
        {'image_id': 8, 'category_id': 1, 'bbox': [1, 2, 3, 4], 'score': 0.8},
        {'image_id': 7, 'category_id': 1, 'bbox': [70, 25, 35, 45], 'score': 0.5}])
    boxes, scores, image_id = demo.read_detections(path, image_id='7')
    np.testing.assert_array_equal(boxes, [[10, 20, 30, 40], [70, 25, 35, 45]])
    assert scores == [0.9, 0.5] and image_id == 7
    boxes, scores, _ = demo.read_detections(path, image_id=7, score_thresh=0.2)
    assert len(boxes) == 3 and scores == [0.9, 0.3, 0.5]
    # no --image_id: taken from a COCO-style file name, else an error naming the choice
    boxes, _, image_id = demo.read_detections(path, img_path='/x/000000000008.jpg')
    assert image_id == 8 and boxes.tolist() == [[1, 2, 3, 4]]
    with pytest.raises(PoseNetError, match='--image_id'):
        demo.read_detections(path)
    with pytest.raises(PoseNetError, match='no record with image_id 9'):
        demo.read_detections(path, image_id=9)
    with pytest.raises(PoseNetError, match='no person box of image 8 with score >= 0.95'):
        demo.read_detections(path, image_id=8, score_thresh=0.95)


def test_read_bbox_root(tmp_path):
    path = write_json(tmp_path / 'bbox_root_coco_output.json', [
        {'image_id': 139, 'bbox': [40, 30, 120, 160], 'root_cam': [100.0, -50.0, 11250.5]},
        {'image_id': 139, 'bbox': [200, 10, 60, 80], 'root_cam': [900.0, -80.0, 15522.8]}])
    boxes, depths, image_id = demo.read_bbox_root(path)
    np.testing.assert_array_equal(boxes, [[40, 30, 120, 160], [200, 10, 60, 80]])
    assert depths == [11250.5, 15522.8] and image_id == 139


def test_demo_reads_both_file_formats(tmp_path, photo, snapshot):
    det = write_json(tmp_path / 'det.json', [
        {'image_id': 3, 'category_id': 1, 'bbox': [100, 30, 110, 170], 'score': 0.97},
        {'image_id': 3, 'category_id': 1, 'bbox': [10, 20, 60, 120], 'score': 0.2}])
    meta = demo.main(demo_args(photo, snapshot, tmp_path / 'a', '--detections', det,
                               '--root_depth', '7000'))
    assert [p['bbox'] for p in meta['people']] == [[100, 30, 110, 170]]
    assert meta['people'][0]['score'] == 0.97 and meta['image_id'] == 3
    assert meta['people'][0]['root_source'] == 'given'
    assert meta['people'][0]['root_depth'] == 7000.0

    root = write_json(tmp_path / 'bbox_root.json', [
        {'image_id': 5, 'bbox': [40, 30, 120, 160], 'root_cam': [100.0, -50.0, 11250.5]},
        {'image_id': 5, 'bbox': [200, 10, 60, 80], 'root_cam': [900.0, -80.0, 15522.8]},
        {'image_id': 6, 'bbox': [0, 0, 50, 50], 'root_cam': [0.0, 0.0, 3000.0]}])
    meta = demo.main(demo_args(photo, snapshot, tmp_path / 'b', '--bbox_root', root,
                               '--image_id', '5'))
    people = meta['people']
    assert [p['root_source'] for p in people] == ['rootnet', 'rootnet']
    assert [p['root_depth'] for p in people] == [11250.5, 15522.8]
    # RootNet boxes are processed already: used as they are
    assert [p['bbox_processed'] for p in people] == [[40, 30, 120, 160], [200, 10, 60, 80]]
    for p in people:
        assert np.all(np.abs(np.array(p['pose_3d'])[:, 2] - p['root_depth']) <= 1000)


# -- errors ---------------------------------------------------------------------------------------
def test_box_outside_the_image(tmp_path, photo, snapshot):
    with pytest.raises(PoseNetError, match=r'box 2 \[400, 300, 50, 50\].*outside the image '
                                           r'320x240'):
        demo.main(demo_args(photo, snapshot, tmp_path, '--bbox', '10', '10', '50', '50',
                            '--bbox', '400', '300', '50', '50'))
    assert not osp.exists(tmp_path / 'output_pose.json')


def test_missing_snapshot(tmp_path, photo):
    with pytest.raises(PoseNetError, match=r'snapshot not found: .*nope\.pth\.tar.*official '
                                           r'pretrained MuCo snapshot'):
        demo.main(demo_args(photo, str(tmp_path / 'nope.pth.tar'), tmp_path))
    expected = osp.join(REPO, 'demo', 'snapshot_987.pth.tar')
    with pytest.raises(PoseNetError, match=f'snapshot not found: {expected}'):
        demo.main(['--input', photo, '--test_epoch', '987', '--out', str(tmp_path)])
    with pytest.raises(PoseNetError, match='--test_epoch N .* or --snapshot PATH'):
        demo.main(['--input', photo, '--out', str(tmp_path)])


def test_snapshot_of_another_joint_set(tmp_path, photo, small_cfg):
    path = str(save_snapshot(str(tmp_path / 's.pth.tar'), 1, get_pose_net(small_cfg, True, 18)))
    with pytest.raises(PoseNetError, match='does not fit this model.*MuCo 21-joint'):
        demo.main(demo_args(photo, path, tmp_path))


def test_unreadable_and_missing_image(tmp_path, snapshot):
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not a jpeg at all')
    with pytest.raises(PoseNetError, match=r'cannot read input image .*bad\.jpg'):
        demo.main(demo_args(str(bad), snapshot, tmp_path))
    with pytest.raises(PoseNetError, match=r'input image not found: .*missing\.jpg'):
        demo.main(demo_args(str(tmp_path / 'missing.jpg'), snapshot, tmp_path))


def test_bad_files_and_root_counts(tmp_path, photo, snapshot):
    broken = tmp_path / 'broken.json'
    broken.write_text('{"image_id": ')
    with pytest.raises(PoseNetError, match='cannot be read as JSON'):
        demo.main(demo_args(photo, snapshot, tmp_path, '--detections', str(broken)))
    not_list = write_json(tmp_path / 'obj.json', {'annotations': []})
    with pytest.raises(PoseNetError, match='must be a JSON list'):
        demo.main(demo_args(photo, snapshot, tmp_path, '--bbox_root', not_list))
    no_box = write_json(tmp_path / 'nobox.json', [{'image_id': 1, 'score': 0.9}])
    with pytest.raises(PoseNetError, match=r'record 0 is not \{image_id, bbox\}.*COCO detection'):
        demo.main(demo_args(photo, snapshot, tmp_path, '--detections', no_box))
    no_root = write_json(tmp_path / 'det.json', [{'image_id': 1, 'bbox': [0, 0, 9, 9]}])
    with pytest.raises(PoseNetError, match=r'record 0 is not \{image_id, bbox, root_cam\}'):
        demo.main(demo_args(photo, snapshot, tmp_path, '--bbox_root', no_root))
    with pytest.raises(PoseNetError, match=r'2 root depth\(s\) for 1 box\(es\)'):
        demo.main(demo_args(photo, snapshot, tmp_path, '--bbox', '10', '10', '50', '50',
                            '--root_depth', '3000', '4000'))
    with pytest.raises(PoseNetError, match="--root_depth 'far'"):
        demo.main(demo_args(photo, snapshot, tmp_path, '--root_depth', 'far'))
    with pytest.raises(PoseNetError, match='root depth -5 of person 1 must be a positive'):
        demo.main(demo_args(photo, snapshot, tmp_path, '--root_depth', '-5'))
    with pytest.raises(PoseNetError, match='focal lengths must be positive'):
        demo.main(demo_args(photo, snapshot, tmp_path, '--focal', '0', '1500'))


def test_cli_error_is_one_line_and_exit_code_2(tmp_path, snapshot):
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'\x00\x01garbage')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'demo', 'demo.py'),
                           *demo_args(str(bad), snapshot, tmp_path)],
                          capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: cannot read input image')
    assert 'Traceback' not in proc.stderr


def test_show_opens_both_views(tmp_path, photo, snapshot, monkeypatch):
    shown = []
    monkeypatch.setattr(demo, 'show_image', lambda img, title=None: shown.append(('2d', img)))
    real_3d = demo.vis_3d_multiple_skeleton

    def fake_3d(kpt_3d, vis, lines, filename=None, title=None, show=False, **kw):
        if show:
            shown.append(('3d', np.asarray(kpt_3d)))
            return None
        return real_3d(kpt_3d, vis, lines, filename=filename, title=title, **kw)

    monkeypatch.setattr(demo, 'vis_3d_multiple_skeleton', fake_3d)
    meta = demo.main(demo_args(photo, snapshot, tmp_path, '--show'))
    assert [k for k, _ in shown] == ['2d', '3d']
    np.testing.assert_array_equal(shown[0][1].shape, (IMG_H, IMG_W, 3))
    np.testing.assert_allclose(shown[1][1][0], meta['people'][0]['pose_3d'])
    shown.clear()
    demo.main(demo_args(photo, snapshot, tmp_path))          # headless by default
    assert shown == []


# -- the README's quick start photo ---------------------------------------------------------------
def sample_photo():
    try:
        import matplotlib.cbook
        path = matplotlib.cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
    except Exception:
        return None
    return str(path) if osp.isfile(path) else None


@pytest.mark.skipif(sample_photo() is None, reason="matplotlib's sample photo is not installed")
def test_demo_runs_on_matplotlib_sample_photo(tmp_path, snapshot):
    meta = demo.main(['--input', sample_photo(), '--snapshot', snapshot, '--out', str(tmp_path),
                      '--bbox', '20', '20', '480', '580', '--cfg', *SMALL_CFG])
    assert meta['image_size'] == [512, 600]
    assert len(meta['people']) == 1 and meta['people'][0]['root_source'] == 'prior'
    assert cv2.imread(str(tmp_path / 'output_pose_2d.jpg')).shape == (600, 512, 3)
    assert osp.getsize(tmp_path / 'output_pose_3d.png') > 0
