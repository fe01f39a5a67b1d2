"""main.video.estimate and main.outputs.VideoWriters on synthetic clips with known people.

A fake pipeline stands in for the networks: on a detection it returns the clip's per-frame
estimates (tool/synthetic_clips.noisy_estimates), on given boxes the estimate each box holds,
so tracking, --detect_every, smoothing, the output files and --resume are checked against
known identities and poses. The real networks run in tests/test_video_demo.py.
"""
import errno
import json
import os

import cv2
import numpy as np
import pytest

import main.outputs as outputs
from common.utils.errors import PoseNetError
from data.joint_sets import MUCO_JOINTS, MUCO_SKELETON
from main.inputs import ArrayInput, Frame
from common.utils.html_view import plotly_js_name
from common.utils.vis import cube_limits, to_plot_coords
from main.outputs import VideoWriters, read_jsonl, track_color
from main.tracking import box_iou
from main.video import VideoEstimator, estimate
from tool.synthetic_clips import make_clip, noisy_estimates

NUM_FRAMES = 40


@pytest.fixture(scope='module')
def clip():
    clip = make_clip('crossing', seed=0, num_frames=NUM_FRAMES)
    return clip, noisy_estimates(clip, seed=1)


class FakePipeline:
    """`main.pipeline.Pipeline`'s interface on known per-frame estimates. The frame is known by
    the identity of its image (the clip's own arrays). `stop_at`: raise KeyboardInterrupt
    (Ctrl-C) when asked for that frame."""
    joints_name, skeleton = MUCO_JOINTS, MUCO_SKELETON

    def __init__(self, clip, estimates, stop_at=None):
        self.frame_of = {id(img): t for t, img in enumerate(clip.images)}
        self.estimates, self.stop_at = estimates, stop_at
        self.detections, self.calls = [], []

    def __call__(self, img, focal=None, princpt=None, bbox=None, score=None, root_depth=None,
                 root_prior=False, bbox_processed=False, root_source='given'):
        t = self.frame_of[id(img)]
        if t == self.stop_at:
            raise KeyboardInterrupt
        self.calls.append(t)
        known = self.estimates[t]
        if bbox is None:                  # the detector: everyone detected in this frame
            self.detections.append(t)
            chosen = [(p, p['bbox'], p['score']) for p in known]
        else:                             # given boxes: the estimate each box overlaps most
            chosen = []
            for box in np.asarray(bbox, np.float64).reshape(-1, 4):
                iou = box_iou(box[None], np.array([p['bbox'] for p in known]).reshape(-1, 4))
                if iou.size and iou.max() > 0.1:
                    chosen.append((known[int(iou.argmax())], box, 1.0))
        people = [{'gt_id': p['gt_id'], 'bbox': np.asarray(box, np.float64),
                   'bbox_processed': np.asarray(box, np.float64), 'score': float(s),
                   'root_cam': p['root_cam'].copy(), 'root_source': 'rootnet',
                   'pose_2d': p['pose_2d'].copy(), 'pose_3d': p['pose_3d'].copy()}
                  for p, box, s in chosen]
        return {'focal': np.asarray(focal, np.float64), 'princpt': np.asarray(princpt),
                'joints_name': self.joints_name, 'skeleton': self.skeleton, 'people': people}


def run(clip, estimates, **kwargs):
    pipeline = FakePipeline(clip, estimates, kwargs.pop('stop_at', None))
    results = list(estimate(ArrayInput(clip.images, fps=clip.fps), pipeline, focal=clip.f,
                            princpt=clip.c, **kwargs))
    return pipeline, results


def id_map(results):
    """{ground-truth id: set of track ids given to that person}."""
    ids = {}
    for r in results:
        for p in r['people']:
            ids.setdefault(p['gt_id'], set()).add(p['track_id'])
    return ids


def test_people_who_cross_keep_their_track_ids(clip):
    pipeline, results = run(*clip)
    assert [r['frame'] for r in results] == list(range(NUM_FRAMES))
    assert pipeline.detections == list(range(NUM_FRAMES))
    ids = id_map(results)
    assert all(len(v) == 1 for v in ids.values()) and len(ids) == 2
    assert set.union(*ids.values()) == {1, 2}
    # no smoothing: the raw values are the pipeline's, unchanged
    estimates = clip[1]
    for r in results:
        for p in r['people']:
            known = next(e for e in estimates[r['frame']] if e['gt_id'] == p['gt_id'])
            np.testing.assert_array_equal(p['pose_3d'], known['pose_3d'])
            np.testing.assert_array_equal(p['bbox'], known['bbox'])


def test_detect_every_n_frames_follows_the_poses_in_between(clip):
    pipeline, results = run(*clip, detect_every=10)
    assert pipeline.detections == [0, 10, 20, 30]
    assert pipeline.calls == list(range(NUM_FRAMES))
    ids = id_map(results)
    assert all(len(v) == 1 for v in ids.values()) and set.union(*ids.values()) == {1, 2}
    # between detections a person's box is the box of their previous 2D pose
    from main.tracking import box_from_pose
    by_frame = {r['frame']: {p['gt_id']: p for p in r['people']} for r in results}
    w, h = clip[0].size
    for t in (1, 5, 11, 39):
        for gt_id, p in by_frame[t].items():
            np.testing.assert_allclose(
                p['bbox'], box_from_pose(by_frame[t - 1][gt_id]['pose_2d'], w, h))


def test_a_frame_that_fails_to_decode_is_bridged(clip):
    clip_, estimates = clip

    class Holey(ArrayInput):
        def frames(self, start=0):
            for f in super().frames(start):
                yield Frame(f.index, None if f.index in (7, 8) else f.image, None)

    skipped = []
    pipeline = FakePipeline(clip_, estimates)
    results = list(estimate(Holey(clip_.images), pipeline, focal=clip_.f, princpt=clip_.c,
                            smooth='median', smooth_window=5, on_skip=skipped.append))
    assert skipped == [7, 8]
    assert [r['frame'] for r in results] == [t for t in range(NUM_FRAMES) if t not in (7, 8)]
    ids = id_map(results)
    assert all(len(v) == 1 for v in ids.values()) and set.union(*ids.values()) == {1, 2}


def test_median_smoothing_keeps_raw_values_beside(clip):
    _, plain = run(*clip)
    _, smooth = run(*clip, smooth='median', smooth_window=5)
    assert [r['frame'] for r in smooth] == list(range(NUM_FRAMES))
    jitter = {}
    for name, results in (('raw', plain), ('median', smooth)):
        track = np.array([[p['root_cam'][2] for p in r['people'] if p['gt_id'] == 1][0]
                          for r in results if any(p['gt_id'] == 1 for p in r['people'])])
        jitter[name] = np.abs(np.diff(track, 2)).mean()
    assert jitter['median'] < 0.5 * jitter['raw']
    for r, raw in zip(smooth, plain):
        for p in r['people']:
            q = next(q for q in raw['people'] if q['gt_id'] == p['gt_id'])
            np.testing.assert_array_equal(p['root_cam_raw'], q['root_cam'])
            np.testing.assert_array_equal(p['pose_3d_raw'], q['pose_3d'])


def test_bad_settings(clip):
    pipeline = FakePipeline(*clip)
    with pytest.raises(PoseNetError, match='--detect_every 0: give a whole number'):
        VideoEstimator(pipeline, detect_every=0)
    with pytest.raises(PoseNetError, match=r'--smooth_window 41 is longer than the clip \(40'):
        list(estimate(ArrayInput(clip[0].images), pipeline, smooth='median', smooth_window=41))


# -- files -----------------------------------------------------------------------------------------
META = {'camera_source': 'given', 'bbox_source': 'test', 'models': {}}


def write_run(clip, out, settings=None, resume=False, views_3d=False, **kwargs):
    clip_, estimates = clip
    writers = VideoWriters(str(out), META, settings or {'input': 'crossing', 'smooth': 'median'},
                           stem='crossing', raw=True, views_3d=views_3d)
    pipeline = FakePipeline(clip_, estimates, kwargs.pop('stop_at', None))
    for _ in estimate(ArrayInput(clip_.images, fps=clip_.fps), pipeline, focal=clip_.f,
                      princpt=clip_.c, smooth='median', smooth_window=5, writers=writers,
                      resume=resume, **kwargs):
        pass
    return writers, pipeline


def test_writers_give_jsonl_tracks_and_a_drawn_video(tmp_path, clip):
    writers, _ = write_run(clip, tmp_path)        # (the 3D views: tests/test_video_demo.py)
    files = writers.files
    assert sorted(os.listdir(tmp_path)) == ['crossing_pose.jsonl', 'crossing_pose.mp4',
                                            'crossing_pose_3d.html', 'crossing_tracks.npz',
                                            plotly_js_name()]
    records = list(read_jsonl(files['jsonl']))
    page = open(files['html']).read()      # every frame on the slider, titled by the input
    assert all(f'"name":"{i}"' in page for i in range(NUM_FRAMES)) and '"text":"frames"' in page
    assert [r['frame'] for r in records] == list(range(NUM_FRAMES))
    tracks = np.load(files['tracks'])
    assert tracks['track_ids'].tolist() == [1, 2]
    for t in (1, 2):
        rows = [(r['frame'], p) for r in records for p in r['people'] if p['track_id'] == t]
        assert tracks[f't{t}_frames'].tolist() == [f for f, _ in rows]
        np.testing.assert_array_equal(tracks[f't{t}_pose_3d'], [p['pose_3d'] for _, p in rows])
        np.testing.assert_array_equal(tracks[f't{t}_root_cam_raw'],
                                      [p['root_cam_raw'] for _, p in rows])
        assert tracks[f't{t}_pose_2d'].shape == (len(rows), 21, 2)
    # the drawn video: one frame per record, each person's box in its track's colour
    cap = cv2.VideoCapture(files['video'])
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == NUM_FRAMES
    ok, frame = cap.read()
    cap.release()
    person = records[0]['people'][0]
    x, y, w, h = (int(round(v)) for v in person['bbox'])
    edge = frame[y + h // 2, max(x - 1, 0):x + 2].astype(int)      # the box's left side
    color = np.array(track_color(person['track_id']))
    assert np.abs(edge - color).sum(1).min() < 120


def test_3d_views_are_drawn_at_the_end_with_one_set_of_limits(tmp_path, clip, monkeypatch):
    drawn = []

    def fake_3d(kpt_3d, vis, lines, filename=None, title=None, labels=None, limits=None, **kw):
        drawn.append((np.asarray(kpt_3d), filename, title, labels, limits))
        return filename

    monkeypatch.setattr(outputs, 'vis_3d_multiple_skeleton', fake_3d)
    writers, _ = write_run(clip, tmp_path, views_3d=True)
    records = list(read_jsonl(writers.files['jsonl']))
    assert [d[1] for d in drawn] == [str(tmp_path / '.crossing_pose.partial' / 'pose_3d' /
                                         f'frame_{i:06d}.png') for i in range(NUM_FRAMES)]
    everyone = np.concatenate([to_plot_coords(p['pose_3d']) for r in records
                               for p in r['people']])
    centre, half = cube_limits(everyone)
    for (poses, _, title, labels, limits), record in zip(drawn, records):
        assert title == f"frames frame {record['frame']} (x,y,z: camera-centered. mm.)"
        assert labels == [str(p['track_id']) for p in record['people']]
        np.testing.assert_array_equal(poses, [p['pose_3d'] for p in record['people']])
        np.testing.assert_allclose(limits[0], centre)       # the same cube in every frame
        assert limits[1] == pytest.approx(half)


def test_interrupted_run_keeps_the_earlier_result_and_resumes_to_the_same_files(tmp_path,
                                                                               clip):
    whole = tmp_path / 'whole'
    write_run(clip, whole)
    expected = open(whole / 'crossing_pose.jsonl').read()

    out = tmp_path / 'out'
    out.mkdir()
    (out / 'crossing_pose.jsonl').write_text('an earlier result\n')
    with pytest.raises(KeyboardInterrupt):
        write_run(clip, out, stop_at=23)
    assert (out / 'crossing_pose.jsonl').read_text() == 'an earlier result\n'
    assert sorted(os.listdir(out)) == ['.crossing_pose.partial', 'crossing_pose.jsonl']
    state = json.load(open(out / '.crossing_pose.partial' / 'state.json'))
    assert state['records'] == 21            # frames 0..20 are final (look-ahead 2)
    # without --resume the interrupted run is not overwritten
    with pytest.raises(PoseNetError, match='interrupted run of crossing: continue it with '
                                           '--resume'):
        write_run(clip, out)
    with pytest.raises(PoseNetError, match=r'made with other settings .*\(smooth differ\)'):
        write_run(clip, out, settings={'input': 'crossing', 'smooth': 'savgol'}, resume=True)
    _, pipeline = write_run(clip, out, resume=True)
    assert pipeline.calls[0] == 21           # the networks run again only from frame 21 on
    assert open(out / 'crossing_pose.jsonl').read() == expected
    assert sorted(os.listdir(out)) == sorted(os.listdir(whole))
    np.testing.assert_array_equal(np.load(out / 'crossing_tracks.npz')['t1_pose_3d'],
                                  np.load(whole / 'crossing_tracks.npz')['t1_pose_3d'])
    cap = cv2.VideoCapture(str(out / 'crossing_pose.mp4'))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == NUM_FRAMES
    cap.release()


def test_a_write_failure_is_one_line_and_the_run_stays_resumable(tmp_path, clip, monkeypatch):
    real_open = open

    class FullDisk:
        def __init__(self, f):
            self.f, self.lines = f, 0

        def write(self, text):
            self.lines += 1
            if self.lines > 5:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.f.write(text)

        def __getattr__(self, name):
            return getattr(self.f, name)

    def fake_open(path, *args, **kwargs):
        f = real_open(path, *args, **kwargs)
        return FullDisk(f) if str(path).endswith('pose.jsonl') else f

    monkeypatch.setattr(outputs, 'open', fake_open, raising=False)
    with pytest.raises(PoseNetError) as err:
        write_run(clip, tmp_path)
    assert str(err.value).startswith(f"cannot write {tmp_path / 'crossing_pose.jsonl'}: No "
                                     "space left on device (")
    assert str(err.value).endswith(' free)') and '\n' not in str(err.value)
    assert os.listdir(tmp_path) == ['.crossing_pose.partial']
    assert json.load(open(tmp_path / '.crossing_pose.partial' / 'state.json'))['records'] == 5
    monkeypatch.undo()
    write_run(clip, tmp_path, resume=True)
    assert len(list(read_jsonl(tmp_path / 'crossing_pose.jsonl'))) == NUM_FRAMES


def test_npz_write_failure_leaves_no_partial_file(tmp_path, clip, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs.np, 'savez', full)
    with pytest.raises(PoseNetError, match=r'cannot write .*crossing_tracks\.npz: No space left'):
        write_run(clip, tmp_path)
    assert not [f for f in os.listdir(tmp_path) if 'tracks' in f]
    assert not [f for f in os.listdir(tmp_path / '.crossing_pose.partial') if 'tracks' in f]


def test_ctrl_c_ends_a_stream_with_its_outputs_complete(tmp_path, clip):
    clip_, estimates = clip

    class Stream(ArrayInput):
        kind = 'stream'

    writers = VideoWriters(str(tmp_path), META, {}, stem='webcam0', views_3d=False)
    pipeline = FakePipeline(clip_, estimates, stop_at=12)
    with pytest.raises(KeyboardInterrupt):
        for _ in estimate(Stream(clip_.images), pipeline, focal=clip_.f, princpt=clip_.c,
                          smooth='oneeuro', writers=writers):
            pass
    assert sorted(os.listdir(tmp_path)) == [plotly_js_name(), 'webcam0_pose.jsonl',
                                            'webcam0_pose.mp4', 'webcam0_pose_3d.html',
                                            'webcam0_tracks.npz']
    assert [r['frame'] for r in read_jsonl(tmp_path / 'webcam0_pose.jsonl')] == list(range(12))
    with pytest.raises(PoseNetError, match='--smooth median needs future frames; a webcam or '
                                           'stream takes --smooth oneeuro'):
        next(estimate(Stream(clip_.images), pipeline, smooth='median'))


def test_a_collapsed_pose_gives_no_box_for_the_next_frame():
    """Joints within 2 px give a 1.2 px box (empty once processed): the person waits for the
    next detection instead of breaking RootNet."""
    class Collapsed:
        joints_name, skeleton = MUCO_JOINTS, MUCO_SKELETON

        def __init__(self):
            self.asked = []

        def __call__(self, img, focal=None, princpt=None, bbox=None, **kwargs):
            self.asked.append(None if bbox is None else np.asarray(bbox).tolist())
            pose_2d = 30. + np.random.default_rng(0).uniform(0, 2, (21, 2))
            people = [] if bbox is not None else [{
                'bbox': np.array([20., 20., 20., 40.]), 'bbox_processed': np.zeros(4),
                'score': 0.9, 'root_cam': np.array([0., 0., 3000.]), 'root_source': 'given',
                'pose_2d': pose_2d, 'pose_3d': np.c_[pose_2d, np.full(21, 3000.)]}]
            return {'focal': np.array([1500., 1500.]), 'princpt': np.array([32., 32.]),
                    'joints_name': self.joints_name, 'skeleton': self.skeleton,
                    'people': people}

    pipeline = Collapsed()
    frames = [np.zeros((64, 64, 3), np.uint8) for _ in range(3)]
    results = list(estimate(frames, pipeline, detect_every=5))
    assert pipeline.asked == [None, [], []]
    assert [len(r['people']) for r in results] == [1, 0, 0]
