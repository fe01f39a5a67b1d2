"""demo/demo.py on videos and folders: the real chain end to end on an encoded video (tiny
ResNet-18 snapshots written here, boxes from a detection file), resuming, and the checks that
run before any model loads (issue 19's rows of the demo)."""
import json
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
from common.utils.html_view import plotly_js_name
from main.checkpoint import save_snapshot
from main.config import Config
from main.pipeline import Pipeline
from tool.synthetic_clips import make_clip, noisy_estimates, write_video

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SMALL_CFG = ['resnet_type=18', 'pretrained_backbone=False', 'input_shape=(64, 64)']
FRAMES = 8


@pytest.fixture(scope='module')
def snapshot(tmp_path_factory):
    cfg = Config().with_overrides(SMALL_CFG)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('snap') / 'snapshot_3.pth.tar'
    return str(save_snapshot(str(path), 3, get_pose_net(cfg, True, 21)))


@pytest.fixture(scope='module')
def clip_files(tmp_path_factory):
    """An encoded crossing clip and its detection file (image_id = frame index)."""
    folder = tmp_path_factory.mktemp('clip')
    clip = make_clip('crossing', seed=0, num_frames=FRAMES)
    video = str(folder / 'crossing.mp4')
    write_video(video, clip.images, clip.fps)
    detections = [{'image_id': t, 'category_id': 1, 'bbox': p['bbox'].tolist(), 'score': 0.9}
                  for t, people in enumerate(noisy_estimates(clip, seed=1)) for p in people]
    det = folder / 'det.json'
    det.write_text(json.dumps(detections))
    return clip, video, str(det), detections


def args(video, snapshot, out, *extra):
    return ['--input', video, '--snapshot', snapshot, '--out', str(out), '--root_prior',
            '--backend', 'torch', '--no_progress', *extra, '--cfg', *SMALL_CFG]


def test_real_chain_on_an_encoded_video(tmp_path, snapshot, clip_files):
    clip, video, det, detections = clip_files
    out = tmp_path / 'out'
    res = demo.main(args(video, snapshot, out, '--detections', det, '--smooth', 'median',
                         '--smooth_window', '3', '--focal', *map(str, clip.f)))
    files = res['files']
    assert sorted(os.listdir(out)) == ['crossing_pose.jsonl', 'crossing_pose.mp4',
                                       'crossing_pose_3d', 'crossing_pose_3d.html',
                                       'crossing_tracks.npz', plotly_js_name()]
    records = list(res['records'])
    assert [r['frame'] for r in records] == list(range(FRAMES))
    assert sorted(os.listdir(files['pose_3d_dir'])) == [f'frame_{i:06d}.png'
                                                        for i in range(FRAMES)]
    cap = cv2.VideoCapture(files['video'])
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    cap.release()
    track_of_box = {}
    for r in records:
        boxes = [d['bbox'] for d in detections if d['image_id'] == r['frame']]
        # every person is estimated from a box of the file, and carries a track id
        assert sorted(p['bbox'] for p in r['people']) == sorted(boxes)
        for p in r['people']:
            assert isinstance(p['track_id'], int) and p['track_id'] >= 1
            assert np.array(p['pose_3d_raw']).shape == (21, 3)
            track_of_box[tuple(p['bbox'])] = p['track_id']
    assert {p['track_id'] for r in records for p in r['people']} == {1, 2}
    tracks = np.load(files['tracks'])
    assert tracks['track_ids'].tolist() == [1, 2]
    for t in (1, 2):
        assert tracks[f't{t}_pose_3d'].shape == (len(tracks[f't{t}_frames']), 21, 3)
    # the tiny network's poses are random, but the smoothed root lies between its raw ones
    first = records[1]['people'][0]
    assert first['root_cam'] != first['root_cam_raw']


def test_interrupted_video_keeps_the_earlier_result_and_resumes(tmp_path, snapshot, clip_files,
                                                                monkeypatch, capsys):
    clip, video, det, _ = clip_files
    out = tmp_path / 'out'
    run = args(video, snapshot, out, '--detections', det, '--no_views_3d')
    demo.main(run)
    first = (out / 'crossing_pose.jsonl').read_text()
    real_call = Pipeline.__call__
    calls = []

    def ctrl_c_at_frame_5(self, img, *a, **k):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return real_call(self, img, *a, **k)

    monkeypatch.setattr(Pipeline, '__call__', ctrl_c_at_frame_5)
    with pytest.raises(KeyboardInterrupt):
        demo.main(run)
    assert 'stopped after 5 complete frame(s); continue with --resume' in capsys.readouterr().err
    assert (out / 'crossing_pose.jsonl').read_text() == first     # the earlier result is intact
    assert sorted(os.listdir(out)) == ['.crossing_pose.partial', 'crossing_pose.jsonl',
                                       'crossing_pose.mp4', 'crossing_pose_3d.html',
                                       'crossing_tracks.npz', plotly_js_name()]
    with pytest.raises(PoseNetError, match='continue it with --resume'):
        demo.main(run)
    with pytest.raises(PoseNetError, match=r'other settings or another video \(detect_every'):
        demo.main(run + ['--resume', '--detect_every', '2'])
    monkeypatch.undo()
    demo.main(run + ['--resume'])
    assert 'resuming crossing after 5 frame record(s) (frame 5 on)' in capsys.readouterr().out
    assert (out / 'crossing_pose.jsonl').read_text() == first
    page = (out / 'crossing_pose_3d.html').read_text()     # made again for the whole clip
    assert all(f'"name":"{i}"' in page for i in range(FRAMES)) and 'crossing.mp4' in page
    cap = cv2.VideoCapture(str(out / 'crossing_pose.mp4'))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    cap.release()
    assert not osp.exists(out / '.crossing_pose.partial')


def test_bad_outputs_and_video_options_fail_before_models_load(tmp_path, clip_files):
    _, video, _, _ = clip_files
    missing = str(tmp_path / 'no_snapshot.pth.tar')    # loading it would be another error
    a_file = tmp_path / 'file.txt'
    a_file.write_text('x')
    photo = tmp_path / 'photo.jpg'
    draw(photo)
    for out, message in ((a_file, r'--out .*file\.txt: .*file\.txt is a file, not a folder'),
                         (a_file / 'sub', r'--out .*sub: .*file\.txt is a file, not a folder'),
                         ('/sys/kernel/posenet_out', r'--out /sys/kernel/posenet_out: cannot '
                                                     r'write /sys/kernel/posenet_out: .* free\)$')):
        for source in (str(photo), video, osp.dirname(video)):
            with pytest.raises(PoseNetError, match=message):
                demo.main(args(source, missing, out))
    out = tmp_path / 'out'
    for extra, message in ((['--detect_every', '0'], '--detect_every 0: give a whole number'),
                           (['--smooth', 'median', '--smooth_window', '11'],
                            r'--smooth_window 11 is longer than the clip \(8 frames\)'),
                           (['--smooth', 'median', '--smooth_window', '4'], 'odd window')):
        with pytest.raises(PoseNetError, match=message):
            demo.main(args(video, missing, out, *extra))
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'not a video at all' * 50)
    with pytest.raises(PoseNetError, match=r'cannot open video .*bad\.mp4: not a video'):
        demo.main(args(str(bad), missing, out))
    with pytest.raises(PoseNetError, match=r'cannot open the stream http://127\.0\.0\.1:1/live'):
        demo.main(args('http://127.0.0.1:1/live', missing, out))
    with pytest.raises(PoseNetError, match='--smooth median needs future frames'):
        demo.main(args('http://127.0.0.1:1/live', missing, out, '--smooth', 'median'))
    assert not osp.exists(out) or os.listdir(out) == []


def test_cli_error_is_one_line(tmp_path, clip_files, snapshot):
    _, video, _, _ = clip_files
    proc = subprocess.run([sys.executable, osp.join(REPO, 'demo', 'demo.py'),
                           *args(video, snapshot, tmp_path, '--detect_every', '0')],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, 'PYTHONPATH': REPO})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        'error: --detect_every 0: give a whole number of frames >= 1 (1 runs the detector on '
        'every frame)']


def draw(path, value=90):
    img = np.full((120, 100, 3), value, np.uint8)
    cv2.circle(img, (50, 40), 10, (200, 200, 200), -1)
    assert cv2.imwrite(str(path), img)


def test_a_run_that_fails_before_writing_leaves_no_output_folder(tmp_path, clip_files):
    """--out folders made by a run that then fails (here: the snapshot does not exist) are
    removed again, parents included; a folder that was there before stays."""
    _, video, _, _ = clip_files
    photo = tmp_path / 'photo.jpg'
    draw(photo)
    missing = str(tmp_path / 'no_snapshot.pth.tar')
    for source in (str(photo), video):
        with pytest.raises(PoseNetError, match='no_snapshot'):
            demo.main(args(source, missing, tmp_path / 'new' / 'deeper' / 'out'))
        assert not (tmp_path / 'new').exists()
        kept = tmp_path / 'kept'
        kept.mkdir(exist_ok=True)
        with pytest.raises(PoseNetError, match='no_snapshot'):
            demo.main(args(source, missing, kept))
        assert kept.is_dir() and not any(kept.iterdir())


def test_folder_names_collisions_own_outputs_and_nothing_decodable(tmp_path, snapshot):
    folder = tmp_path / 'photos'
    folder.mkdir()
    draw(folder / 'person.jpg', 60)
    draw(folder / 'person.png', 120)
    box = ['--bbox', '10', '10', '80', '100']
    res = demo.main(args(str(folder), snapshot, folder, *box))
    assert sorted(os.listdir(folder)) == [
        'person.jpg', 'person.png', 'person_jpg_pose.json', 'person_jpg_pose_2d.jpg',
        'person_jpg_pose_3d.html', 'person_jpg_pose_3d.png', 'person_png_pose.json',
        'person_png_pose_2d.jpg', 'person_png_pose_3d.html', 'person_png_pose_3d.png',
        plotly_js_name()]
    assert json.load(open(folder / 'person_png_pose.json'))['image'] == str(folder / 'person.png')
    # a second run into the same folder reads only the two photos again
    again = demo.main(args(str(folder), snapshot, folder, *box))
    assert sorted(again['files']) == [str(folder / 'person.jpg'), str(folder / 'person.png')]
    assert len(os.listdir(folder)) == 11

    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'a.jpg').write_bytes(b'no image')
    (broken / 'b.png').write_bytes(b'no image either')
    with pytest.raises(PoseNetError, match=r'no image of .*broken could be decoded \(2 skipped\)'):
        demo.main(args(str(broken), snapshot, tmp_path / 'out2', *box))
    assert not (tmp_path / 'out2').exists()      # nothing written: the folder it made is gone
