"""main/pipeline.py and main/predictor.py: detector -> RootNet -> PoseNet on one image.

Stub networks with fixed outputs check the geometry (where the joints land in the photo, and at
which depth) by hand; small random-weight ResNet-18 networks check the plumbing.
"""
import numpy as np
import pytest
import torch

from common.nets.posenet import get_pose_net
from common.nets.rootnet import get_root_net
from common.utils.errors import PoseNetError
from data.joint_sets import MUCO_FLIP_PAIRS, MUCO_JOINTS
from data.MuCo.MuCo import MuCo
from main.checkpoint import ModelSettings, save_snapshot
from main.config import Config
from main.pipeline import Pipeline, camera_distance_prior, default_camera, process_boxes
from main.predictor import PoseNetPredictor, RootNetPredictor

IMG_W, IMG_H = 320, 240
BLACK = np.zeros((IMG_H, IMG_W, 3), np.uint8)


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


class FixedRootNet(torch.nn.Module):
    """Stub RootNet: `(x, y, depth)` for every crop; records `k`."""

    def __init__(self, out):
        super().__init__()
        self.out = torch.as_tensor(np.asarray(out, dtype=np.float32))
        self.k = []

    def forward(self, x, k):
        self.k.append(k.detach().clone())
        return self.out.expand(x.shape[0], 3).clone()


def small_cfg(**fields):
    return Config(**dict({'input_shape': (64, 64)}, **fields))


def pose_predictor(model, cfg, flip=False):
    return PoseNetPredictor(model, ModelSettings.from_config(cfg, 'PoseNet', MuCo),
                            MUCO_FLIP_PAIRS if flip else None)


# -- PoseNet geometry -----------------------------------------------------------------------------
def test_centre_output_maps_to_box_centre_and_root_depth():
    # non-square, and a heatmap scaled unlike the input on each axis (x: /4, y: /8)
    cfg = small_cfg(input_shape=(64, 48), output_shape=(8, 12), depth_dim=32)
    model = FixedPoseNet([12 / 2, 8 / 2, 32 / 2])
    pipeline = Pipeline(pose_predictor(model, cfg))
    res = pipeline(BLACK, (1000.0, 800.0), (160.0, 120.0),
                   bbox=[[100, 50, 81, 161], [20, 10, 41, 31]], root_depth=[5000.0, 2500.0])
    people = res['people']
    assert len(model.calls) == 1 and model.calls[0].shape == (2, 3, 64, 48)   # one batch
    # box 1 clipped: x 100..180, y 50..210 -> centre (140, 130); box 2: centre (40, 25)
    np.testing.assert_allclose(people[0]['pose_2d'], np.tile([140.0, 130.0], (21, 1)), atol=1e-3)
    np.testing.assert_allclose(people[1]['pose_2d'], np.tile([40.0, 25.0], (21, 1)), atol=1e-3)
    assert np.all(people[0]['pose_3d'][:, 2] == 5000.0)
    assert np.all(people[1]['pose_3d'][:, 2] == 2500.0)
    # X = (140 - 160) / 1000 * 5000 = -100, Y = (130 - 120) / 800 * 5000 = 62.5
    np.testing.assert_allclose(people[0]['pose_3d'], np.tile([-100.0, 62.5, 5000.0], (21, 1)),
                               atol=1e-2)
    assert [p['root_source'] for p in people] == ['given', 'given']
    np.testing.assert_allclose(people[0]['root_cam'], [-100.0, 62.5, 5000.0], atol=1e-2)
    assert [p['score'] for p in people] == [1.0, 1.0]
    assert res['joints_name'] == MUCO_JOINTS


def test_heatmap_corners_map_to_processed_box_corners_and_depth_range():
    cfg = small_cfg()
    box = [100, 50, 81, 161]          # processed: 200 x 200 around (140, 130) -> x0 40, y0 30
    top_left = Pipeline(pose_predictor(FixedPoseNet([0, 0, 0]), cfg))(
        BLACK, bbox=[box], root_depth=[5000.0])['people'][0]
    np.testing.assert_allclose(top_left['bbox_processed'], [40, 30, 200, 200])
    np.testing.assert_allclose(top_left['pose_2d'], np.tile([40, 30], (21, 1)), atol=1e-3)
    assert np.all(top_left['pose_3d'][:, 2] == 4000.0)      # z = 0 -> root - 1000 mm
    far = Pipeline(pose_predictor(FixedPoseNet([16, 16, 64]), cfg))(
        BLACK, bbox=[box], root_depth=[5000.0])['people'][0]
    np.testing.assert_allclose(far['pose_2d'], np.tile([240, 230], (21, 1)), atol=1e-3)
    assert np.all(far['pose_3d'][:, 2] == 6000.0)           # z = D -> root + 1000 mm


def test_a_placed_person_is_recovered_in_camera_space():
    """Heatmap coordinates of a known 3D person (what a perfect network outputs) come back as
    that person's camera-space joints."""
    cfg = small_cfg(input_shape=(64, 48), output_shape=(8, 12))
    rng = np.random.default_rng(3)
    focal, princpt = np.array([1200.0, 1300.0]), np.array([150.0, 110.0])
    root = np.array([200.0, 150.0, 6000.0])
    joint_cam = root + rng.uniform(-600, 600, size=(21, 3))
    px = joint_cam[:, :2] / joint_cam[:, 2:] * focal + princpt
    box = [px[:, 0].min() - 10, px[:, 1].min() - 10, np.ptp(px[:, 0]) + 20,
           np.ptp(px[:, 1]) + 20]
    bx, by, bw, bh = process_boxes(np.array([box]), IMG_W, IMG_H, cfg.input_shape)[0]
    coord = np.stack([(px[:, 0] - bx) / bw * 12, (px[:, 1] - by) / bh * 8,
                      ((joint_cam[:, 2] - root[2]) / 1000 + 1) / 2 * 64], axis=1)
    res = Pipeline(pose_predictor(FixedPoseNet(coord[None]), cfg))(
        BLACK, focal, princpt, bbox=[box], root_depth=[root[2]])['people'][0]
    np.testing.assert_allclose(res['pose_2d'], px, atol=1e-3)
    np.testing.assert_allclose(res['pose_3d'], joint_cam, atol=0.05)


def test_crop_is_the_normalised_rgb_box():
    """The network sees the box content as RGB 0..255 normalised by the 0..1 ImageNet mean/std
    (compat)."""
    img = BLACK.copy()
    img[40:200, 80:240] = (10, 20, 30)                       # BGR
    model = FixedPoseNet([4, 4, 32])
    Pipeline(pose_predictor(model, small_cfg(input_shape=(32, 32))))(
        img, bbox=[[120, 80, 40, 80]], root_depth=[3000.0])
    crop = model.calls[0][0]
    expected = [(30 - 0.485) / 0.229, (20 - 0.456) / 0.224, (10 - 0.406) / 0.225]
    np.testing.assert_allclose(crop[:, 16, 16].numpy(), expected, rtol=1e-5)


def test_flip_test_runs_the_mirrored_crop_and_swaps_pairs():
    coord = np.zeros((1, 21, 3))
    coord[0, :, 0] = 4.0
    coord[0, 2] = [1.0, 5.0, 10.0]                           # R_Shoulder
    coord[0, 5] = [11.0, 6.0, 20.0]                          # L_Shoulder
    model = FixedPoseNet(coord)
    predictor = pose_predictor(model, small_cfg(), flip=True)
    res = predictor(BLACK, [[40, 30, 200, 200]], [5000.0], (1500, 1500), (160, 120))
    assert len(model.calls) == 2
    assert torch.equal(model.calls[1], torch.flip(model.calls[0], dims=[3]))
    # R_Shoulder: mean of (1, 5, 10) and the mirrored L_Shoulder (16 - 11 - 1, 6, 20)
    np.testing.assert_allclose(res['coord_hm'][0, 2], [2.5, 5.5, 15.0])
    np.testing.assert_allclose(res['coord_hm'][0, 0], [(4 + 11) / 2, 0, 0])


# -- roots: RootNet, the prior, given depths ------------------------------------------------------
def test_rootnet_root_goes_through_k_and_back_projection():
    cfg = small_cfg()
    root_model = FixedRootNet([8.0, 8.0, 4321.0])       # heatmap centre of a 16 x 16 output
    rootnet = RootNetPredictor(root_model, cfg)
    pose_model = FixedPoseNet([8.0, 8.0, 32.0])
    res = Pipeline(pose_predictor(pose_model, cfg), rootnet)(
        BLACK, (1000.0, 1000.0), (160.0, 120.0), bbox=[[100, 50, 81, 161]])
    person = res['people'][0]
    assert person['root_source'] == 'rootnet'
    # processed box 200 x 200 at (40, 30): centre (140, 130) -> X = -20/1000*4321, Y = 10/1000*4321
    np.testing.assert_allclose(person['root_cam'], [-86.42, 43.21, 4321.0], atol=1e-6)
    np.testing.assert_allclose(person['pose_3d'][:, 2], 4321.0)
    # k = sqrt(2000 * 2000 * 1000 * 1000 / (200 * 200)) = 10000 mm, fed as (N, 1)
    np.testing.assert_allclose(root_model.k[0].numpy(), [[10000.0]])


def test_prior_equals_formula_for_a_hand_worked_box():
    # [100, 50, 81, 161] -> clipped 80 x 160 -> 160 x 160 (1:1) -> x1.25 = 200 x 200 = 40000 px^2
    processed = process_boxes(np.array([[100, 50, 81, 161]]), IMG_W, IMG_H, (64, 64))[0]
    np.testing.assert_allclose(processed, [40, 30, 200, 200])
    # sqrt(1500 * 1500 * 4e6 / 4e4) = 1500 * 10
    assert camera_distance_prior(processed, (1500, 1500)) == pytest.approx(15000.0)
    # sqrt(1000 * 1600 * 4e6 / 4e4) = sqrt(1.6e8)
    assert camera_distance_prior(processed, (1000, 1600)) == pytest.approx(12649.110640673)
    res = Pipeline(pose_predictor(FixedPoseNet([8, 8, 32]), small_cfg()))(
        BLACK, bbox=[[100, 50, 81, 161]], root_prior=True)
    assert res['people'][0]['root_source'] == 'prior'
    assert res['people'][0]['root_cam'][2] == pytest.approx(15000.0)


def test_missing_root_without_rootnet_or_prior_is_one_clear_error():
    pipeline = Pipeline(pose_predictor(FixedPoseNet([8, 8, 32]), small_cfg()))
    with pytest.raises(PoseNetError, match='no root depth and no RootNet.*--root_prior'):
        pipeline(BLACK, bbox=[[100, 50, 81, 161]])
    with pytest.raises(PoseNetError, match=r'2 root depth\(s\) for 1 box\(es\)'):
        pipeline(BLACK, bbox=[[100, 50, 81, 161]], root_depth=[3000., 4000.])
    with pytest.raises(PoseNetError, match='root depth -5 of person 1 must be a positive'):
        pipeline(BLACK, bbox=[[100, 50, 81, 161]], root_depth=[-5.])
    with pytest.raises(PoseNetError, match=r'box 1 \[400, 300, 50, 50\].*outside the image'):
        pipeline(BLACK, bbox=[[400, 300, 50, 50]], root_depth=[3000.])
    with pytest.raises(PoseNetError, match='not a list of'):
        pipeline(BLACK, bbox=[[1, 2, 3]], root_depth=[3000.])
    with pytest.raises(PoseNetError, match='no person boxes and no detector'):
        pipeline(BLACK, root_depth=None)
    with pytest.raises(PoseNetError, match='focal lengths must be positive'):
        default_camera(IMG_W, IMG_H, (0, 1500))


# -- detector ---------------------------------------------------------------------------------------
def test_detector_boxes_and_scores_reach_the_people():
    calls = []

    def detector(img):
        calls.append(img.shape)
        return np.array([[100., 50., 81., 161.], [20., 10., 41., 31.]]), np.array([0.9, 0.7])

    pipeline = Pipeline(pose_predictor(FixedPoseNet([8, 8, 32]), small_cfg()), None, detector)
    res = pipeline(BLACK, root_prior=True)
    assert calls == [(IMG_H, IMG_W, 3)]
    assert [p['score'] for p in res['people']] == [0.9, 0.7]
    np.testing.assert_allclose(res['people'][0]['bbox'], [100., 50., 81., 161.])
    # no detection: no people, and no network call
    empty = Pipeline(pose_predictor(FixedPoseNet([8, 8, 32]), small_cfg()), None,
                     lambda img: (np.zeros((0, 4)), np.zeros(0)))(BLACK, root_prior=True)
    assert empty['people'] == []


def test_random_weight_detector_runs_through_the_pipeline():
    from common.nets.detector import PersonDetector
    torch.manual_seed(0)
    detector = PersonDetector('fasterrcnn_mobilenet_v3_large_320_fpn', pretrained=False,
                              score_thresh=0.0)
    img = np.random.default_rng(0).integers(0, 255, (IMG_H, IMG_W, 3)).astype(np.uint8)
    res = Pipeline(pose_predictor(FixedPoseNet([8, 8, 32]), small_cfg()), None, detector)(
        img, root_prior=True)
    scores = [p['score'] for p in res['people']]
    assert scores == sorted(scores, reverse=True)
    for p in res['people']:
        assert p['pose_3d'].shape == (21, 3) and p['root_source'] == 'prior'


# -- from snapshot files ----------------------------------------------------------------------------
def test_from_files_takes_each_networks_settings_from_its_snapshot(tmp_path):
    torch.manual_seed(0)
    pose_cfg = Config(resnet_type=18, pretrained_backbone=False, input_shape=(64, 64),
                      depth_dim=16)
    pose = get_pose_net(pose_cfg, True, 21)
    pose_path = save_snapshot(str(tmp_path / 'pose.pth.tar'), 3, pose, None,
                              ModelSettings.from_config(pose_cfg, 'PoseNet', MuCo))
    root_cfg = Config(resnet_type=18, pretrained_backbone=False, input_shape=(96, 64))
    root = get_root_net(root_cfg, True)
    root_path = save_snapshot(str(tmp_path / 'root.pth.tar'), 5, root, None,
                              ModelSettings.from_config(root_cfg, 'RootNet'))
    pipeline = Pipeline.from_files(Config(), pose_path, root_path)
    assert pipeline.posenet.input_shape == (64, 64) and pipeline.posenet.depth_dim == 16
    assert pipeline.rootnet.input_shape == (96, 64) and pipeline.posenet.epoch == 3
    res = pipeline(np.full((IMG_H, IMG_W, 3), 128, np.uint8), bbox=[[100, 50, 81, 161]])
    person = res['people'][0]
    # RootNet boxes follow RootNet's aspect ratio (w/h = 64/96), PoseNet's its own (1:1)
    np.testing.assert_allclose(person['bbox_processed'], [40, 30, 200, 200])
    assert np.all(np.isfinite(person['pose_3d'])) and person['root_source'] == 'rootnet'
    # swapped files are refused by name
    with pytest.raises(PoseNetError, match='is a RootNet snapshot, not a PoseNet one'):
        Pipeline.from_files(Config(), root_path)


def test_people_of_the_synthetic_generator_are_mapped_back(tmp_path):
    """MuCo images of `tool/synthetic_data.py`: the heatmap coordinates a perfect network would
    output for each annotated person come back as that person's pixels and camera joints."""
    import json
    import cv2
    from tool.synthetic_data import generate
    generate(str(tmp_path / 'data'), datasets=['MuCo'], seed=1, num_images=1, img_size=160)
    with open(tmp_path / 'data' / 'MuCo' / 'data' / 'MuCo-3DHP.json') as f:
        annot = json.load(f)
    image = annot['images'][0]
    anns = [a for a in annot['annotations'] if a['image_id'] == image['id']]
    img = cv2.imread(str(tmp_path / 'data' / 'MuCo' / 'data' / image['file_name']))
    joint_cam = np.array([a['keypoints_cam'] for a in anns], dtype=np.float64)   # (P, 21, 3)
    joint_px = np.array([a['keypoints_img'] for a in anns], dtype=np.float64)    # (P, 21, 2)
    boxes = np.array([a['bbox'] for a in anns], dtype=np.float64)
    roots = joint_cam[:, MUCO_JOINTS.index('Pelvis'), 2]
    assert len(anns) >= 2
    cfg = small_cfg()
    processed = process_boxes(boxes, img.shape[1], img.shape[0], cfg.input_shape)
    (out_h, out_w), depth = cfg.output_shape, cfg.depth_dim
    coord = np.stack([(joint_px[..., 0] - processed[:, None, 0]) / processed[:, None, 2] * out_w,
                      (joint_px[..., 1] - processed[:, None, 1]) / processed[:, None, 3] * out_h,
                      ((joint_cam[..., 2] - roots[:, None]) / 1000 + 1) / 2 * depth], axis=2)
    res = Pipeline(pose_predictor(FixedPoseNet(coord), cfg))(
        img, image['f'], image['c'], bbox=boxes, root_depth=list(roots))
    np.testing.assert_allclose([p['pose_2d'] for p in res['people']], joint_px, atol=1e-3)
    np.testing.assert_allclose([p['pose_3d'] for p in res['people']], joint_cam, atol=0.05)
