"""Every input checked at the door (issue 19, items 4 and 5): detection, bbox_root and annotation
files field by field (with property-based tests), images and boxes of the Python API, detector
names, snapshot messages."""
import json
import os
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.nets.detector import DEFAULT_DETECTOR, DETECTORS, resolve_detector
from common.nets.weights import load_into
from common.utils.crop import as_bgr_image
from common.utils.errors import PoseNetError, PoseNetWarning
from data.annotations import check_coco_dict
from data.detections import read_bbox_root, read_detections, select_image
from data.joint_sets import MUCO_JOINTS
from data.MuCo.MuCo import MuCo
from main.checkpoint import ModelSettings, load_snapshot, save_snapshot
from main.config import Config
from main.pipeline import Pipeline
from main.predictor import PoseNetPredictor, RootNetPredictor


def write(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f)
    return str(path)


# -- detection and bbox_root files -----------------------------------------------------------------
DET = {'image_id': 139, 'category_id': 1, 'bbox': [10, 20, 30, 40], 'score': 0.9}


@pytest.mark.parametrize('field,value,expected', [
    ('score', [0.9], 'a finite number'),
    ('score', 'x', 'a finite number'),
    ('score', float('nan'), 'a finite number'),
    ('score', True, 'a finite number'),
    ('image_id', [139], 'an integer or a string'),
    ('image_id', None, 'an integer or a string'),
    ('category_id', '1', 'an integer'),
    ('bbox', [10, 20, 30], r'4 finite numbers'),
    ('bbox', [10, 20, 'a', 40], r'4 finite numbers'),
    ('bbox', [[10, 20], [30, 40]], r'4 finite numbers'),
    ('bbox', [10, 20, -30, 40], r'\[x, y, width, height\] px with a width and height >= 0'),
])
def test_a_bad_detection_field_names_file_record_and_field(tmp_path, field, value, expected):
    path = write(tmp_path / 'det.json', [DET, dict(DET, **{field: value})])
    with pytest.raises(PoseNetError, match=fr'^detection file {path}: record 1 has {field} .*; '
                                           fr'expected {expected}'):
        read_detections(path)


@pytest.mark.parametrize('field,value,expected', [
    ('root_cam', [1, 2, 0], r'\[X, Y, Z\] mm with a depth Z > 0'),
    ('root_cam', [1, 2, float('inf')], '3 finite numbers'),
    ('score', 'high', 'a finite number'),
    ('image_id', {'a': 1}, 'an integer or a string'),
])
def test_a_bad_bbox_root_field_names_file_record_and_field(tmp_path, field, value, expected):
    good = {'image_id': 1, 'bbox': [1, 2, 3, 4], 'root_cam': [0, 0, 3000]}
    path = write(tmp_path / 'br.json', [good, dict(good, **{field: value})])
    with pytest.raises(PoseNetError, match=fr'^bbox_root file {path}: record 1 has {field} '
                                           fr'.*; expected {expected}'):
        read_bbox_root(path)


def test_all_boxes_below_the_score_threshold_say_so(tmp_path):
    path = write(tmp_path / 'det.json', [dict(DET, score=0.3), dict(DET, score=0.41),
                                         dict(DET, image_id=7, score=0.9)])
    records = read_detections(path, score_thresh=0.5)
    assert [r['image_id'] for r in records] == [7]
    message = (f"detection file {path}: all 2 person box(es) of image_id 139 score below "
               "--score_thresh 0.5 (best 0.41); lower --score_thresh")
    with pytest.raises(PoseNetError) as e:
        select_image(records, path, 'detection file', image_id=139)
    assert str(e.value) == message
    with pytest.raises(PoseNetError) as e:     # chosen by the image's file name
        select_image(records, path, 'detection file', img_path='/x/000000000139.jpg')
    assert str(e.value) == message
    only_low = read_detections(write(tmp_path / 'low.json', [dict(DET, score=0.2)]), 0.5)
    with pytest.raises(PoseNetError, match=r'every person box scores below --score_thresh 0.5 '
                                           r'\(best 0.2\)'):
        select_image(only_low, path, 'detection file', img_path='/x/photo.jpg')


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() |
                    st.text(max_size=5), lambda kids: st.lists(kids, max_size=5) |
                    st.dictionaries(st.sampled_from(['image_id', 'bbox', 'score', 'category_id',
                                                     'root_cam', 'x']), kids, max_size=5),
                    max_leaves=20)
NUMBER = st.integers(-10 ** 6, 10 ** 6) | st.floats(allow_nan=True, allow_infinity=True)
RECORD = st.fixed_dictionaries(
    {'image_id': st.integers() | st.text(max_size=3) | JSON,
     'bbox': st.lists(NUMBER, min_size=0, max_size=5) | JSON},
    optional={'score': NUMBER | JSON, 'category_id': st.integers(0, 3) | JSON,
              'root_cam': st.lists(NUMBER, min_size=2, max_size=4) | JSON})
FILES = st.lists(RECORD, max_size=4) | JSON


def check_valid_detection(r):
    assert set(r) == {'image_id', 'bbox', 'score'}
    assert type(r['image_id']) in (int, str)
    assert r['bbox'].shape == (4,) and np.all(np.isfinite(r['bbox']))
    assert r['bbox'][2] >= 0 and r['bbox'][3] >= 0
    assert r['score'] is None or (type(r['score']) is float and np.isfinite(r['score']))


def check_valid_bbox_root(r):
    assert type(r['image_id']) in (int, str)
    assert r['bbox'].shape == (4,) and np.all(np.isfinite(r['bbox']))
    assert r['root_cam'].shape == (3,) and np.all(np.isfinite(r['root_cam']))
    assert r['root_cam'][2] > 0 and np.isfinite(r['score'])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=FILES, cut=st.none() | st.integers(0, 200))
def test_readers_give_only_valid_records_or_one_error(tmp_path, content, cut):
    """Arbitrary JSON values and truncated files: valid records or PoseNetError, nothing else."""
    text = json.dumps(content)          # NaN / Infinity too: Python's json reads them back
    path = tmp_path / 'f.json'
    path.write_text(text if cut is None else text[:cut])
    for read, check in ((lambda p: read_detections(p, score_thresh=0.), check_valid_detection),
                        (read_bbox_root, check_valid_bbox_root)):
        try:
            records = read(str(path))
        except PoseNetError as e:
            assert str(path) in str(e) and '\n' not in str(e)
            continue
        for r in records:
            check(r)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(images=st.lists(st.fixed_dictionaries({'id': JSON | st.integers(),
                                               'file_name': JSON | st.text(max_size=4),
                                               'width': NUMBER | JSON}), max_size=3) | JSON,
       anns=st.lists(st.fixed_dictionaries({'id': st.integers() | JSON,
                                             'image_id': st.integers() | JSON,
                                             'bbox': st.lists(NUMBER, max_size=5) | JSON}),
                     max_size=3) | JSON)
def test_annotation_check_gives_a_valid_dict_or_one_error(images, anns):
    dataset = {'images': images, 'annotations': anns}
    try:
        check_coco_dict(dataset, 'a.json', 'MPII annotation file', ('id', 'file_name', 'width'))
    except PoseNetError as e:
        assert str(e).startswith('MPII annotation file a.json: ') and '\n' not in str(e)
        return
    for img in images:
        assert type(img['id']) in (int, str) and type(img['file_name']) is str
        assert type(img['width']) in (int, float) and np.isfinite(img['width'])
        assert img['width'] > 0
    for ann in anns:
        assert type(ann['image_id']) in (int, str) and len(ann['bbox']) == 4
        assert all(type(v) in (int, float) and np.isfinite(v) for v in ann['bbox'])


def test_a_bad_annotation_field_names_the_record(tmp_path):
    dataset = {'images': [{'id': 1, 'file_name': 'a.jpg'}, {'id': [2], 'file_name': 'b.jpg'}],
               'annotations': []}
    with pytest.raises(PoseNetError, match=r"^MuCo annotation file m.json: images\[1\] has id "
                                           r"\[2\], expected an integer or a string; the file is "
                                           "not in the published format"):
        check_coco_dict(dataset, 'm.json', 'MuCo annotation file')


# -- images and boxes of the Python API ------------------------------------------------------------
class CentrePoseNet(torch.nn.Module):
    """Stub PoseNet: every joint at the crop centre, at the root depth; records the crops."""

    def __init__(self):
        super().__init__()
        self.crops = []

    def forward(self, x):
        self.crops.append(x.clone())
        return torch.tensor([8., 8., 8.]).expand(x.shape[0], len(MUCO_JOINTS), 3).clone()


def pipeline(model=None):
    cfg = Config(input_shape=(64, 64), depth_dim=16)
    return Pipeline(PoseNetPredictor(model or CentrePoseNet(),
                                     ModelSettings.from_config(cfg, 'PoseNet', MuCo)))


GREY = np.random.default_rng(0).integers(0, 256, (48, 64), dtype=np.uint8)


@pytest.mark.parametrize('img', [GREY, GREY[:, :, None],
                                 np.dstack([np.dstack([GREY] * 3), np.full_like(GREY, 7)])])
def test_grey_and_bgra_images_are_converted_as_files_are(img):
    model = CentrePoseNet()
    pipeline(model)(img, bbox=[[8, 8, 32, 24]], root_depth=[3000.])
    reference = CentrePoseNet()
    pipeline(reference)(np.dstack([GREY] * 3), bbox=[[8, 8, 32, 24]], root_depth=[3000.])
    assert torch.equal(model.crops[0], reference.crops[0])
    np.testing.assert_array_equal(as_bgr_image(img), np.dstack([GREY] * 3))


@pytest.mark.parametrize('img,message', [
    (None, r'image is None \(cv2.imread returns None for a missing or undecodable file\)'),
    ([[0, 0, 0]], 'image is a list, not a numpy array'),
    (np.zeros((48, 64, 3)) + 0.5, r'image has dtype float64 \(48, 64, 3\); expected BGR uint8 '
                                  r'\(H, W, 3\) \(a float image in \[0, 1\]: '),
    (np.zeros((48, 64, 3), np.uint16), r'image has dtype uint16 \(48, 64, 3\)'),
    (np.zeros((0, 0, 3), np.uint8), r'image has shape \(0, 0, 3\); expected BGR uint8'),
    (np.zeros((48, 64, 2), np.uint8), r'image has shape \(48, 64, 2\)'),
    (np.zeros((2, 48, 64, 3), np.uint8), r'image has shape \(2, 48, 64, 3\)'),
])
def test_images_that_are_not_bgr_uint8_are_refused_by_pipeline_and_predictors(img, message):
    with pytest.raises(PoseNetError, match=message):
        pipeline()(img, bbox=[[8, 8, 32, 24]], root_depth=[3000.])
    cfg = Config(input_shape=(64, 64))
    with pytest.raises(PoseNetError, match=message):
        PoseNetPredictor(CentrePoseNet(), cfg)(img, [[0, 0, 64, 64]], [3000.], (1500, 1500),
                                               (32, 24))
    with pytest.raises(PoseNetError, match=message):
        RootNetPredictor(CentrePoseNet(), cfg)(img, [[0, 0, 64, 64]], (1500, 1500), (32, 24))


IMG = np.zeros((480, 640, 3), np.uint8)


@pytest.mark.parametrize('depth', [[3000.], None])
def test_a_box_with_negative_width_or_height_is_an_error_in_the_users_terms(depth):
    with pytest.raises(PoseNetError) as e:
        pipeline()(IMG, bbox=[[300, 300, -100, -200]], root_depth=depth, root_prior=True)
    assert str(e.value) == ('box 1 [300, 300, -100, -200] has a width or height <= 0; boxes are '
                            'x y width height in pixels (not x1 y1 x2 y2)')
    with pytest.raises(PoseNetError, match=r'box 2 \[1, 2, 30, 0\] has a width or height <= 0'):
        pipeline()(IMG, bbox=[[1, 2, 3, 4], [1, 2, 30, 0]], root_depth=depth, root_prior=True)


def test_a_box_past_the_image_edge_gives_one_warning_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        result = pipeline()(IMG, bbox=[[100, 100, 50, 60], [500, 300, 600, 400]],
                            root_depth=[3000., 4000.])
    assert [str(w.message) for w in caught if w.category is PoseNetWarning] == [
        'box(es) 2 [500, 300, 600, 400] (x y width height) run past the image 640x480; only '
        'the part inside is used (width and height, not x2 y2?)']
    assert len(result['people']) == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        pipeline()(IMG, bbox=[[100, 100, 50, 60]], root_depth=[3000.])
    assert not caught


def test_scalar_root_depth_and_focal_mean_one_box_and_both_axes():
    one = pipeline()(IMG, focal=1200, bbox=[[100, 100, 50, 60]], root_depth=3000)
    two = pipeline()(IMG, focal=(1200, 1200), bbox=[[100, 100, 50, 60]], root_depth=[3000.])
    np.testing.assert_array_equal(one['focal'], [1200., 1200.])
    np.testing.assert_array_equal(one['people'][0]['pose_3d'], two['people'][0]['pose_3d'])
    with pytest.raises(PoseNetError, match=r'1 root depth\(s\) for 2 box\(es\)'):
        pipeline()(IMG, bbox=[[1, 2, 3, 4], [5, 6, 7, 8]], root_depth=3000)
    with pytest.raises(PoseNetError, match="root depth 'far' of person 1 must be a number"):
        pipeline()(IMG, bbox=[[1, 2, 3, 4]], root_depth='far')
    with pytest.raises(PoseNetError, match=r"focal \(1, 2, 3\): expected one number or two"):
        pipeline()(IMG, focal=(1, 2, 3), bbox=[[1, 2, 3, 4]], root_depth=3000)


# -- detector names, snapshots ---------------------------------------------------------------------
def test_an_unknown_detector_name_lists_the_names(tmp_path):
    names = ', '.join(DETECTORS)
    with pytest.raises(PoseNetError) as e:
        resolve_detector('yolov8')
    assert str(e.value) == (f"unknown detector 'yolov8'; choose one of {names} (torchvision's "
                            f"COCO models), or give the path of a weights file of "
                            f"{DEFAULT_DETECTOR}")
    with pytest.raises(PoseNetError, match=f'^weights file not found: {tmp_path}/d.pth; choose '
                                           'one of'):
        resolve_detector(str(tmp_path / 'd.pth'))
    weights = tmp_path / 'w.pth'
    weights.write_bytes(b'')
    assert resolve_detector(str(weights)) == (DEFAULT_DETECTOR, str(weights))
    assert resolve_detector('fasterrcnn_mobilenet_v3_large_fpn') == \
        ('fasterrcnn_mobilenet_v3_large_fpn', None)


def test_a_snapshot_of_random_bytes_never_advises_weights_only_false(tmp_path):
    path = tmp_path / 'snapshot_1.pth.tar'
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(PoseNetError) as e:
        load_snapshot(str(path))
    assert 'weights_only' not in str(e.value)
    assert str(e.value).startswith(f'snapshot {path} could not be read (')
    assert str(e.value).endswith('); it is corrupt or not a PoseNet snapshot')
    from common.nets.weights import load_torchvision_state_dict
    from torchvision.models.detection import FasterRCNN_MobileNet_V3_Large_FPN_Weights as W
    with pytest.raises(PoseNetError) as e:
        load_torchvision_state_dict(W.COCO_V1, 'COCO weights', weights_file=str(path))
    assert 'weights_only' not in str(e.value) and len(str(e.value)) < 400


def test_a_posenet_snapshot_given_as_detector_weights_is_one_short_line(tmp_path):
    path = str(tmp_path / 's.pth.tar')
    save_snapshot(path, 0, torch.nn.Linear(3, 2))
    detector = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 2))
    with pytest.raises(PoseNetError) as e:
        load_into(detector, torch.load(path, weights_only=True), 'COCO weights of detector x')
    assert str(e.value) == ('COCO weights of detector x: the file is a PoseNet/RootNet snapshot '
                            'of this project, not weights of this network; use the file made '
                            'for it')
    big = {f'layer{i}.weight': torch.zeros(1) for i in range(500)}
    with pytest.raises(PoseNetError) as e:
        load_into(detector, big, 'COCO weights of detector x')
    assert len(str(e.value)) < 400 and "(497 more)" in str(e.value)


# -- the demo's command line (rows of the table handled outside the demo's rewrite) ----------------
from tests.test_demo import SMALL_CFG, photo, small_cfg, snapshot  # noqa: E402,F401 (fixtures)


@pytest.mark.parametrize('extra,message', [
    (['--cfg', 'testset=Foo'], "config key 'testset': 'Foo' is not one of Human36M, MuPoTS, "
                               "MSCOCO"),
    (['--detector', 'yolov8', '--root_prior'], "unknown detector 'yolov8'; choose one of "),
    (['--bbox', '300', '300', '-100', '-200', '--root_depth', '3000'],
     'box 1 [300, 300, -100, -200] has a width or height <= 0; boxes are x y width height in '
     'pixels (not x1 y1 x2 y2)'),
    (['--bbox', '300', '300', '-100', '-200', '--root_prior'], 'box 1 [300, 300, -100, -200] '
                                                               'has a width or height <= 0'),
])
def test_demo_mistakes_are_one_line_in_the_users_terms(tmp_path, photo, snapshot, extra,
                                                        message):
    from demo import demo as demo_main
    out = tmp_path / 'out'
    with pytest.raises(PoseNetError) as e:
        demo_main.main(['--input', photo, '--snapshot', snapshot, '--out', str(out), *extra,
                        '--cfg', *SMALL_CFG])
    assert str(e.value).startswith(message)
    assert 'k_value' not in str(e.value) and 'process_bbox' not in str(e.value)
    assert not out.exists() or not os.listdir(out)
