"""demo/demo.py, the command line of the pipeline: photo / folder / video in, files out.

Fast: ResNet-18 networks with 64x64 input and random weights; a stub detector where the real one
would need downloaded weights. The geometry is checked in tests/test_pipeline.py.
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
from common.nets.rootnet import get_root_net
from common.utils.errors import PoseNetError
from common.utils.html_view import plotly_js_name
from data.detections import read_bbox_root, read_detections, select_image, write_bbox_root
from data.MuCo.MuCo import MuCo
from main.checkpoint import ModelSettings, save_snapshot
from main.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SMALL_CFG = ['resnet_type=18', 'pretrained_backbone=False', 'input_shape=(64, 64)']
IMG_W, IMG_H = 320, 240


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
    return Config().with_overrides(SMALL_CFG)


@pytest.fixture
def snapshot(tmp_path, small_cfg):
    """A MuCo 21-joint PoseNet snapshot without settings (like the official one)."""
    torch.manual_seed(0)
    model = get_pose_net(small_cfg, True, 21)
    return str(save_snapshot(str(tmp_path / 'snapshot_3.pth.tar'), 3, model))


@pytest.fixture
def rootnet(tmp_path, small_cfg):
    """A RootNet snapshot that records its settings (as this project writes them)."""
    torch.manual_seed(1)
    model = get_root_net(small_cfg, True)
    return str(save_snapshot(str(tmp_path / 'rootnet.pth.tar'), 2, model, None,
                             ModelSettings.from_config(small_cfg, 'RootNet')))


class StubDetector:
    """Stands in for torchvision's detector (whose weights would be downloaded): two people."""
    boxes = np.array([[100., 30., 110., 170.], [10., 20., 60., 120.]])

    def __init__(self, name, weights_path=None, score_thresh=0.5, device='cpu', backend='torch'):
        self.name, self.weights_path, self.score_thresh = name, weights_path, score_thresh
        self.backend = backend

    def __call__(self, img):
        return self.boxes.copy(), np.array([0.95, 0.6])


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / 'people.jpg'
    draw_person_image(path)
    return str(path)


def demo_args(photo, snapshot, out, *extra):
    return ['--input', photo, '--snapshot', snapshot, '--out', str(out), *extra,
            '--cfg', *SMALL_CFG]


# -- one photo -------------------------------------------------------------------------------------
def test_demo_writes_three_outputs(tmp_path, photo, snapshot):
    out = tmp_path / 'out'
    boxes = [[100, 30, 110, 170], [10, 20, 60, 120]]
    result = demo.main(demo_args(photo, snapshot, out, '--bbox', *map(str, boxes[0]),
                                 '--bbox', *map(str, boxes[1]),
                                 '--root_depth', '4500', 'prior', '--focal', '1000', '1100'))
    files = result['files']
    assert set(files) == {'pose_2d', 'pose_3d', 'json', 'html'}
    assert files['pose_2d'] == str(out / 'output_pose_2d.jpg')
    assert files['html'] == str(out / 'output_pose_3d.html')
    page = open(files['html']).read()
    assert f'"text":"{osp.basename(photo)}"' in page                  # titled by the input
    assert 'person 1' in page and 'person 2' in page and plotly_js_name() in page
    assert files['pose_3d'] == str(out / 'output_pose_3d.png')
    drawn = cv2.imread(files['pose_2d'])
    assert drawn.shape == (IMG_H, IMG_W, 3)
    assert cv2.imread(files['pose_3d']) is not None
    assert not [f for f in os.listdir(out) if f.endswith('.tmp')]

    with open(files['json']) as f:
        meta = json.load(f)
    assert meta['joints_name'] == list(MuCo.joints_name)
    assert meta['models']['posenet'] == osp.abspath(snapshot)
    assert meta['models']['posenet_epoch'] == 3
    assert meta['models']['rootnet'] is None and meta['models']['detector'] is None
    assert meta['camera'] == {'focal': [1000.0, 1100.0], 'princpt': [160.0, 120.0],
                              'source': 'given'}
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


def test_no_box_runs_the_detector_and_no_root_runs_rootnet(tmp_path, photo, snapshot, rootnet,
                                                           monkeypatch):
    monkeypatch.setattr('common.nets.detector.PersonDetector', StubDetector)
    meta = demo.main(demo_args(photo, snapshot, tmp_path, '--rootnet', rootnet,
                               '--score_thresh', '0.3'))
    assert meta['bbox_source'] == 'detector fasterrcnn_resnet50_fpn_v2 (score >= 0.3)'
    assert meta['models']['detector'] == 'fasterrcnn_resnet50_fpn_v2'
    assert meta['models']['rootnet'] == osp.abspath(rootnet)
    people = meta['people']
    assert [p['bbox'] for p in people] == StubDetector.boxes.tolist()
    assert [p['score'] for p in people] == [0.95, 0.6]
    assert [p['root_source'] for p in people] == ['rootnet', 'rootnet']
    for p in people:     # RootNet's root, PoseNet's joints around its depth
        assert np.all(np.abs(np.array(p['pose_3d'])[:, 2] - p['root_cam'][2]) <= 1000)
    # the default camera is stated
    assert meta['camera']['source'].startswith('default: focal 1500 px')


def test_snapshot_with_settings_needs_no_cfg(tmp_path, photo, small_cfg):
    torch.manual_seed(0)
    settings = ModelSettings.from_config(small_cfg, 'PoseNet', MuCo)
    path = str(save_snapshot(str(tmp_path / 's.pth.tar'), 1, get_pose_net(small_cfg, True, 21),
                             None, settings))
    meta = demo.main(['--input', photo, '--snapshot', path, '--out', str(tmp_path),
                      '--bbox', '100', '30', '110', '170', '--root_depth', '3000'])
    assert meta['models']['input_shape'] == [64, 64]
    with pytest.raises(PoseNetError, match="'resnet_type' was given as 50 but the model"):
        demo.main(['--input', photo, '--snapshot', path, '--out', str(tmp_path), '--bbox',
                   '100', '30', '110', '170', '--root_depth', '3000', '--cfg', 'resnet_type=50'])


def test_model_dir_holds_the_official_models(tmp_path, photo, snapshot, rootnet, monkeypatch):
    from main import model_store
    models = tmp_path / 'models'
    models.mkdir()
    # files already in the model folder are used as they are (here tiny stand-ins)
    os.link(snapshot, model_store.model_path('posenet', str(models)))
    os.link(rootnet, model_store.model_path('rootnet', str(models)))
    monkeypatch.setattr(demo, 'DEFAULT_ROOTNET', str(tmp_path / 'no_rootnet_18.pth.tar'))
    out = tmp_path / 'out'
    meta = demo.main(['--input', photo, '--out', str(out), '--model_dir', str(models),
                      '--bbox', '100', '30', '110', '170', '--no_progress', '--cfg', *SMALL_CFG])
    assert meta['models']['posenet'] == model_store.model_path('posenet', str(models))
    assert meta['models']['rootnet'] == model_store.model_path('rootnet', str(models))
    assert meta['people'][0]['root_source'] == 'rootnet'
    # the detector's weights: from the model folder once tool/fetch_models.py put them there
    args = demo.parse_args(['--model_dir', str(models)])
    assert demo.detector_weights(args) == 'fasterrcnn_resnet50_fpn_v2'
    weights = model_store.model_path('detector', str(models))
    open(weights, 'wb').close()
    assert demo.detector_weights(args) == weights
    other = demo.parse_args(['--model_dir', str(models), '--detector',
                             'fasterrcnn_mobilenet_v3_large_fpn'])
    assert demo.detector_weights(other) == 'fasterrcnn_mobilenet_v3_large_fpn'


# -- folders and videos -----------------------------------------------------------------------------
def test_folder_of_photos_skips_and_reports_an_undecodable_one(tmp_path, snapshot, capsys):
    folder = tmp_path / 'photos'
    folder.mkdir()
    draw_person_image(folder / 'a.jpg')
    (folder / 'b.jpg').write_bytes(b'not an image')
    draw_person_image(folder / 'c.png')
    (folder / 'notes.txt').write_text('ignored')
    res = demo.main(demo_args(str(folder), snapshot, tmp_path / 'out', '--bbox', '100', '30',
                              '110', '170', '--root_prior', '--no_progress'))
    assert res['skipped'] == [str(folder / 'b.jpg')]
    assert [r['image'] for r in res['records']] == [str(folder / 'a.jpg'), str(folder / 'c.png')]
    assert sorted(os.listdir(tmp_path / 'out')) == [
        'a_pose.json', 'a_pose_2d.jpg', 'a_pose_3d.html', 'a_pose_3d.png', 'c_pose.json',
        'c_pose_2d.jpg', 'c_pose_3d.html', 'c_pose_3d.png', plotly_js_name()]
    # --no_html: the three files of the original only
    demo.main(demo_args(str(folder), snapshot, tmp_path / 'plain', '--bbox', '100', '30', '110',
                        '170', '--root_prior', '--no_progress', '--no_html'))
    assert sorted(os.listdir(tmp_path / 'plain')) == [
        'a_pose.json', 'a_pose_2d.jpg', 'a_pose_3d.png', 'c_pose.json', 'c_pose_2d.jpg',
        'c_pose_3d.png']
    assert f"warning: cannot decode {folder / 'b.jpg'}; skipped" in capsys.readouterr().err


def write_video(path, frames=4):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10, (IMG_W, IMG_H))
    img = draw_person_image(path.parent / 'frame.png')
    for i in range(frames):
        writer.write(np.roll(img, 5 * i, axis=1))
    writer.release()


def test_video_gives_a_drawn_video_jsonl_and_3d_views(tmp_path, snapshot):
    video = tmp_path / 'walk.mp4'
    write_video(video)
    out = tmp_path / 'out'
    res = demo.main(demo_args(str(video), snapshot, out, '--bbox', '100', '30', '110', '170',
                              '--root_prior', '--no_progress'))
    files = res['files']
    assert files['video'] == str(out / 'walk_pose.mp4')
    cap = cv2.VideoCapture(files['video'])
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    ok, frame = cap.read()
    assert ok and frame.shape == (IMG_H, IMG_W, 3)
    cap.release()
    lines = open(files['jsonl']).read().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r['frame'] for r in records] == [0, 1, 2, 3]
    assert all(len(r['people']) == 1 for r in records)
    assert sorted(os.listdir(files['pose_3d_dir'])) == [f'frame_{i:06d}.png' for i in range(4)]
    assert not [f for f in os.listdir(out) if f.startswith('.')]
    page = open(files['html']).read()
    assert files['html'] == str(out / 'walk_pose_3d.html') and 'walk.mp4' in page
    assert all(f'"name":"{i}"' in page for i in range(4))         # one plotly frame each


class FlakyCapture:
    """A video of 3 frames whose frame 1 fails to decode."""

    def __init__(self, path):
        self.frames = [draw_person_image(osp.join(osp.dirname(path), 'f.png')), None,
                       np.full((IMG_H, IMG_W, 3), 80, np.uint8)]
        self.i = 0

    def isOpened(self):
        return True

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_COUNT: 3, cv2.CAP_PROP_FPS: 5}.get(prop, 0)

    def read(self):
        frame = self.frames[self.i]
        self.i += 1
        return frame is not None, frame

    def release(self):
        pass


def test_a_frame_that_fails_to_decode_is_reported_and_skipped(tmp_path, snapshot, monkeypatch,
                                                              capsys):
    video = tmp_path / 'clip.avi'
    video.write_bytes(b'')
    monkeypatch.setattr(demo.cv2, 'VideoCapture', FlakyCapture)
    res = demo.main(demo_args(str(video), snapshot, tmp_path / 'out', '--bbox', '100', '30',
                              '110', '170', '--root_prior', '--no_progress'))
    assert res['skipped'] == [1]
    assert [r['frame'] for r in res['records']] == [0, 2]
    err = capsys.readouterr()
    assert 'warning: frame 1 of' in err.err and 'cannot be decoded; skipped' in err.err
    assert '2 frame(s)' in err.out and '1 skipped (frames 1)' in err.out


# -- model files ------------------------------------------------------------------------------------
def test_missing_model_files_are_one_clear_line_each(tmp_path, photo, snapshot, monkeypatch):
    with pytest.raises(PoseNetError, match=r'PoseNet snapshot not found: .*nope\.pth\.tar.*official '
                                           r'pretrained MuCo snapshot'):
        demo.main(demo_args(photo, str(tmp_path / 'nope.pth.tar'), tmp_path))
    expected = osp.join(REPO, 'demo', 'snapshot_987.pth.tar')
    with pytest.raises(PoseNetError, match=f'PoseNet snapshot not found: {expected}'):
        demo.main(['--input', photo, '--test_epoch', '987', '--out', str(tmp_path)])
    # no PoseNet given: the official one is fetched; offline that is one line naming the file
    # and where to put it (here a mirror where nothing listens stands for "no network")
    from tests.model_server import refused_url
    monkeypatch.setenv('POSENET_MODEL_MIRROR', refused_url().rsplit('/', 1)[0])
    monkeypatch.setenv('POSENET_MODEL_DIR', str(tmp_path / 'models'))
    with pytest.raises(PoseNetError, match=r'posenet model: could not download posenet_muco_'
                                           r'snapshot_24\.pth\.tar .* put it at .*models'):
        demo.main(['--input', photo, '--out', str(tmp_path), '--no_progress'])
    # no root depth: RootNet is needed; offline its file is named with where to get it
    with pytest.raises(PoseNetError, match=r'rootnet model: could not download rootnet_muco_'
                                           r'snapshot_18\.pth\.tar.*--root_prior'):
        demo.main(demo_args(photo, snapshot, tmp_path, '--bbox', '10', '10', '50', '50'))
    with pytest.raises(PoseNetError, match=r'RootNet snapshot not found: .*none\.pth\.tar.*'
                                           r'3DMPPE_ROOTNET_RELEASE.*--root_prior'):
        demo.main(demo_args(photo, snapshot, tmp_path, '--bbox', '10', '10', '50', '50',
                            '--rootnet', str(tmp_path / 'none.pth.tar')))
    # no box: the detector's weights; offline that is one line naming the file and the folder
    import torchvision.models as tvm
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))

    def offline(self, *args, **kwargs):
        raise OSError('Temporary failure in name resolution')

    monkeypatch.setattr(tvm.WeightsEnum, 'get_state_dict', offline)
    with pytest.raises(PoseNetError) as err:
        demo.main(demo_args(photo, snapshot, tmp_path, '--root_prior'))
    msg = str(err.value)
    assert 'fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth' in msg and '\n' not in msg
    assert str(tmp_path / 'torch' / 'hub' / 'checkpoints') in msg and '--detector PATH' in msg


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
    records = read_detections(path)
    image_id, recs = select_image(records, path, 'detection file', image_id='7')
    np.testing.assert_array_equal([r['bbox'] for r in recs], [[10, 20, 30, 40], [70, 25, 35, 45]])
    assert [r['score'] for r in recs] == [0.9, 0.5] and image_id == 7
    _, recs = select_image(read_detections(path, score_thresh=0.2), path, 'f', image_id=7)
    assert [r['score'] for r in recs] == [0.9, 0.3, 0.5]
    # no --image_id: taken from a COCO-style file name, else an error naming the choice
    image_id, recs = select_image(records, path, 'f', img_path='/x/000000000008.jpg')
    assert image_id == 8 and [r['bbox'].tolist() for r in recs] == [[1, 2, 3, 4]]
    with pytest.raises(PoseNetError, match='--image_id'):
        select_image(records, path, 'detection file')
    with pytest.raises(PoseNetError, match='no record with image_id 9'):
        select_image(records, path, 'detection file', image_id=9)


def test_read_bbox_root(tmp_path):
    path = write_json(tmp_path / 'bbox_root_coco_output.json', [
        {'image_id': 139, 'bbox': [40, 30, 120, 160], 'root_cam': [100.0, -50.0, 11250.5]},
        {'image_id': 139, 'bbox': [200, 10, 60, 80], 'root_cam': [900.0, -80.0, 15522.8],
         'score': 0.7}])
    records = read_bbox_root(path)
    np.testing.assert_array_equal([r['bbox'] for r in records],
                                  [[40, 30, 120, 160], [200, 10, 60, 80]])
    assert [r['root_cam'][2] for r in records] == [11250.5, 15522.8]
    assert [r['score'] for r in records] == [1.0, 0.7]
    # written by RootNet testing, read back the same
    again = write_bbox_root(str(tmp_path / 'again.json'), [139, 139],
                            [r['bbox'] for r in records], [r['root_cam'] for r in records],
                            [r['score'] for r in records])
    assert json.load(open(again)) == [
        {'image_id': 139, 'bbox': [40.0, 30.0, 120.0, 160.0],
         'root_cam': [100.0, -50.0, 11250.5], 'score': 1.0},
        {'image_id': 139, 'bbox': [200.0, 10.0, 60.0, 80.0],
         'root_cam': [900.0, -80.0, 15522.8], 'score': 0.7}]


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
    assert meta['models']['rootnet'] is None          # the file's roots: no RootNet run
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


def test_snapshot_of_another_joint_set(tmp_path, photo, small_cfg):
    path = str(save_snapshot(str(tmp_path / 's.pth.tar'), 1, get_pose_net(small_cfg, True, 18)))
    with pytest.raises(PoseNetError, match='does not fit this model: it holds ResNet-18, 1152 '
                                           r'output maps .* the model is ResNet-18, 1344'):
        demo.main(demo_args(photo, path, tmp_path, '--bbox', '10', '10', '50', '50',
                            '--root_depth', '3000'))


def test_unreadable_and_missing_image(tmp_path, snapshot):
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not a jpeg at all')
    with pytest.raises(PoseNetError, match=r'cannot read input image .*bad\.jpg'):
        demo.main(demo_args(str(bad), snapshot, tmp_path))
    with pytest.raises(PoseNetError, match=r'input not found: .*missing\.jpg'):
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
    box = ['--bbox', '10', '10', '50', '50']
    with pytest.raises(PoseNetError, match="--root_depth 'far'"):
        demo.main(demo_args(photo, snapshot, tmp_path, *box, '--root_depth', 'far'))
    with pytest.raises(PoseNetError, match='root depth -5 of person 1 must be a positive'):
        demo.main(demo_args(photo, snapshot, tmp_path, *box, '--root_depth', '-5'))
    with pytest.raises(PoseNetError, match='focal lengths must be positive'):
        demo.main(demo_args(photo, snapshot, tmp_path, *box, '--root_prior', '--focal', '0',
                            '1500'))


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
    show = ['--bbox', '100', '30', '110', '170', '--root_prior']
    meta = demo.main(demo_args(photo, snapshot, tmp_path, *show, '--show'))
    assert [k for k, _ in shown] == ['2d', '3d']
    np.testing.assert_array_equal(shown[0][1].shape, (IMG_H, IMG_W, 3))
    np.testing.assert_allclose(shown[1][1][0], meta['people'][0]['pose_3d'])
    shown.clear()
    demo.main(demo_args(photo, snapshot, tmp_path, *show))   # headless by default
    assert shown == []


# -- docs/demo.md's quick start photo -----------------------------------------------------------
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
                      '--bbox', '20', '20', '480', '580', '--root_prior', '--cfg', *SMALL_CFG])
    assert meta['image_size'] == [512, 600]
    assert len(meta['people']) == 1 and meta['people'][0]['root_source'] == 'prior'
    assert cv2.imread(str(tmp_path / 'output_pose_2d.jpg')).shape == (600, 512, 3)
    assert osp.getsize(tmp_path / 'output_pose_3d.png') > 0
