"""Smoother (main/smoothing.py): known filter outputs, look-ahead, raw values, resuming."""
import json
import math

import numpy as np
import pytest
from scipy.signal import savgol_filter

from common.utils.errors import PoseNetError
from data.track_metrics import acceleration_error, mpjpe
from main.smoothing import SMOOTHERS, Smoother
from tool.bench.video_quality import smooth_clip
from tool.synthetic_clips import make_clip, noisy_estimates

NUM_JOINTS = 3


def make_person(track_id, root, rel=None, pose_2d=None, **extra):
    """A person dict: root (3,) mm, pose_3d = root + rel (J, 3), pose_2d (J, 2)."""
    root = np.asarray(root, dtype=np.float64)
    rel = np.arange(NUM_JOINTS * 3.).reshape(NUM_JOINTS, 3) if rel is None else np.asarray(rel)
    pose_2d = np.zeros((NUM_JOINTS, 2)) if pose_2d is None else np.asarray(pose_2d)
    return dict(track_id=track_id, root_cam=root, pose_3d=rel + root, pose_2d=pose_2d, **extra)


def run(smoother, frames):
    """Push `[(frame, people)]` and flush; returns every output `(frame, people)`."""
    out = []
    for frame, people in frames:
        out += smoother.push(frame, people)
    return out + smoother.flush()


def depth_signal(values, start=0):
    """Frames with one person (track 7) whose root depth follows `values`."""
    return [(start + t, [make_person(7, [0., 0., v])]) for t, v in enumerate(values)]


def depths(out):
    return np.array([people[0]['root_cam'][2] for _, people in out])


def test_median_keeps_a_step_and_removes_a_spike():
    step = [0.] * 8 + [100.] * 8
    np.testing.assert_array_equal(depths(run(Smoother('median', window=5), depth_signal(step))),
                                  step)
    spiky = [0.] * 16
    spiky[6] = 500.
    spiky[7] = -300.                   # two outliers in a row: still fewer than half of 5
    np.testing.assert_array_equal(depths(run(Smoother('median', window=5), depth_signal(spiky))),
                                  [0.] * 16)


def test_savgol_preserves_a_quadratic_exactly_also_at_the_ends():
    t = np.arange(20.)
    quadratic = 3000. + 12. * t - 0.5 * t ** 2
    out = depths(run(Smoother('savgol', window=7, polyorder=2), depth_signal(quadratic)))
    np.testing.assert_allclose(out, quadratic, atol=1e-8)


def test_savgol_equals_scipy_savgol_filter_inside_the_clip():
    rng = np.random.default_rng(0)
    signal = 4000. + np.cumsum(rng.normal(0., 30., 40))
    out = depths(run(Smoother('savgol', window=9, polyorder=3), depth_signal(signal)))
    np.testing.assert_allclose(out[4:-4], savgol_filter(signal, 9, 3)[4:-4], atol=1e-8)


def test_oneeuro_on_a_constant_is_the_constant():
    out = run(Smoother('oneeuro'), depth_signal([4321.] * 30))
    np.testing.assert_allclose(depths(out), 4321., rtol=0, atol=1e-9)


def test_oneeuro_first_step_by_hand():
    # 0 then 10 at 30 fps, min_cutoff 1 Hz, beta 0.007, d_cutoff 1 Hz (Casiez et al. 2012):
    # derivative 10 * 30 = 300 /s, its alpha 1 / (1 + 30 / (2 pi)), cutoff 1 + 0.007 |dx|
    a_d = 1. / (1. + 30. / (2. * math.pi))
    cutoff = 1. + 0.007 * a_d * 300.
    a = 1. / (1. + 30. / (2. * math.pi * cutoff))
    out = depths(run(Smoother('oneeuro', fps=30.), depth_signal([0., 10.])))
    np.testing.assert_allclose(out, [0., 10. * a], rtol=1e-12)
    assert 2.0 < 10. * a < 2.5


def test_oneeuro_is_causal():
    smoother_a, smoother_b = Smoother('oneeuro'), Smoother('oneeuro')
    assert smoother_a.lookahead == 0
    values = 3000. + np.random.default_rng(1).normal(0., 40., 20)
    other = values.copy()
    other[10:] += 800.                                   # a different future
    out_a = [smoother_a.push(f, p) for f, p in depth_signal(values)]
    out_b = [smoother_b.push(f, p) for f, p in depth_signal(other)]
    assert all(len(o) == 1 for o in out_a)               # every push returns its own frame
    np.testing.assert_array_equal(depths([o[0] for o in out_a[:10]]),
                                  depths([o[0] for o in out_b[:10]]))


def test_pose_3d_is_smoothed_root_plus_smoothed_relative_pose_and_raw_values_stay():
    rng = np.random.default_rng(2)
    frames = []
    for t in range(9):
        frames.append((t, [make_person(1, [t, 0., 3000. + 50. * (t % 2)],
                                       rel=rng.normal(0., 100., (NUM_JOINTS, 3)),
                                       pose_2d=rng.normal(50., 10., (NUM_JOINTS, 2)),
                                       score=0.9, bbox=[t, 0, 10, 20])]))
    out = run(Smoother('median', window=3), frames)
    assert [f for f, _ in out] == list(range(9))
    for t in range(1, 8):                                # interior frames: 3-sample medians
        window = [frames[s][1][0] for s in (t - 1, t, t + 1)]
        person = out[t][1][0]
        root = np.median([p['root_cam'] for p in window], axis=0)
        rel = np.median([p['pose_3d'] - p['root_cam'] for p in window], axis=0)
        np.testing.assert_allclose(person['root_cam'], root)
        np.testing.assert_allclose(person['pose_3d'], root + rel)
        np.testing.assert_allclose(person['pose_2d'],
                                   np.median([p['pose_2d'] for p in window], axis=0))
        for key in ('root_cam', 'pose_3d', 'pose_2d'):
            np.testing.assert_array_equal(person[key + '_raw'], frames[t][1][0][key])
        assert person['score'] == 0.9 and person['bbox'] == [t, 0, 10, 20]
        assert person['track_id'] == 1
    assert 'root_cam_raw' not in frames[4][1][0]         # the pushed dicts are not changed


def test_none_returns_the_raw_values_at_once():
    smoother = Smoother('none')
    assert smoother.lookahead == 0
    rng = np.random.default_rng(3)
    pushed = make_person(None, rng.normal(0., 1000., 3))
    pushed['pose_3d'] = rng.normal(0., 1000., (NUM_JOINTS, 3))  # pose - root + root: not exact
    frame, people = smoother.push(5, [pushed])[0]
    assert frame == 5
    for key in ('root_cam', 'pose_3d', 'pose_2d'):         # bit for bit
        np.testing.assert_array_equal(people[0][key], pushed[key])
        np.testing.assert_array_equal(people[0][key + '_raw'], pushed[key])


def test_lookahead_and_bounded_memory():
    smoother = Smoother('median', window=5)
    assert smoother.lookahead == 2
    assert smoother.push(0, [make_person(1, [0., 0., 1.])]) == []
    assert smoother.push(1, []) == []
    out = smoother.push(2, [make_person(1, [0., 0., 3.])])
    assert [f for f, _ in out] == [0]
    out = smoother.push(6, [])                           # frames 3-5 not decodable: a jump
    assert [f for f, _ in out] == [1, 2]
    for frame in range(7, 300):
        smoother.push(frame, [make_person(1, [0., 0., frame]), make_person(2, [1., 0., 9.])])
    assert len(smoother.frames) <= smoother.window       # memory bounded by the window
    assert [f for f, _ in smoother.flush()] == [298, 299]


def test_empty_frames_and_tracks_that_come_and_go_keep_frame_order():
    frames = [(0, [make_person(1, [0., 0., 10.])]), (1, []),
              (2, [make_person(2, [0., 0., 20.]), make_person(1, [0., 0., 30.])]),
              (3, [make_person(2, [0., 0., 40.])]), (4, [])]
    out = run(Smoother('median', window=3), frames)
    assert [f for f, _ in out] == [0, 1, 2, 3, 4]
    assert [[p['track_id'] for p in people] for _, people in out] == [[1], [], [2, 1], [2], []]
    # track 1 at frame 2: its samples in frames 1..3 are frame 2 only; track 2: median(20, 40)
    assert [p['root_cam'][2] for p in out[2][1]] == [30., 30.]
    assert out[0][1][0]['root_cam'][2] == 10.


@pytest.mark.parametrize('method', SMOOTHERS)
def test_state_then_repushing_pending_frames_equals_an_uninterrupted_run(method):
    clip = make_clip('crossing', seed=0, num_frames=30)
    estimates = noisy_estimates(clip, seed=0)
    frames = [(t, [dict(p, track_id=p['gt_id']) for p in people])
              for t, people in enumerate(estimates)]
    expected = run(Smoother(method, window=7), frames)
    for stop in (0, 2, 13):
        smoother = Smoother(method, window=7)
        got = []
        for frame, people in frames[:stop]:
            got += smoother.push(frame, people)
        resumed = Smoother.from_state(json.loads(json.dumps(smoother.state())))
        got += run(resumed, frames[len(got):])           # the frames not yet returned again
        assert [f for f, _ in got] == list(range(30))
        for (_, a), (_, b) in zip(got, expected):
            for pa, pb in zip(a, b):
                for key in ('root_cam', 'pose_3d', 'pose_2d', 'pose_3d_raw'):
                    np.testing.assert_array_equal(pa[key], pb[key])


@pytest.mark.parametrize('method, window', [('median', 9), ('savgol', 9)])
def test_offline_filters_halve_the_jitter_without_raising_mpjpe(method, window):
    # the issue's goal on a synthetic clip: acceleration error / 2 or better, MPJPE +2 % at most
    clip = make_clip('crossing', seed=3, num_frames=48)
    estimates = noisy_estimates(clip, seed=3)
    for gt_id, (frames, raw, gt) in smooth_clip(clip, estimates, Smoother('none')).items():
        _, smooth, _ = smooth_clip(clip, estimates, Smoother(method, window=window))[gt_id]
        assert acceleration_error(smooth, gt, frames) <= 0.5 * acceleration_error(raw, gt, frames)
        assert mpjpe(smooth, gt) <= 1.02 * mpjpe(raw, gt)


@pytest.mark.parametrize('settings, words', [
    ({'method': 'kalman'}, 'choose one of'), ({'method': 'median', 'window': 4}, 'odd'),
    ({'method': 'savgol', 'window': 1}, 'odd'), ({'window': 0}, 'window'),
    ({'method': 'savgol', 'window': 5, 'polyorder': 5}, 'polyorder'),
    ({'method': 'oneeuro', 'fps': 0}, 'fps'), ({'method': 'oneeuro', 'beta': -1.}, 'beta'),
    ({'method': 'oneeuro', 'min_cutoff': float('nan')}, 'min_cutoff')])
def test_bad_settings_are_one_clear_error(settings, words):
    with pytest.raises(PoseNetError, match=words):
        Smoother(**settings)


def test_bad_pushes_are_one_clear_error():
    smoother = Smoother('median', window=3)
    smoother.push(4, [])
    with pytest.raises(PoseNetError, match='increasing'):
        smoother.push(4, [])
    with pytest.raises(PoseNetError, match='twice'):
        smoother.push(5, [make_person(1, [0., 0., 1.]), make_person(1, [0., 0., 2.])])
    with pytest.raises(PoseNetError, match='track_id'):
        smoother.push(6, [make_person(None, [0., 0., 1.])])
    with pytest.raises(PoseNetError, match='root_cam'):
        smoother.push(7, [{'track_id': 1, 'pose_3d': np.zeros((3, 3))}])
    with pytest.raises(PoseNetError, match='smoother state'):
        Smoother.from_state({'settings': {'method': 'median'}})
