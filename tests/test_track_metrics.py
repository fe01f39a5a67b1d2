"""Tracking and jitter metrics (data/track_metrics.py) on hand-computed cases; the
`--video_quality` benchmark section built on them."""
import argparse

import numpy as np
import pytest

from common.utils.errors import PoseNetError
from data.track_metrics import acceleration_error, fragmentations, id_switches, mpjpe, \
    shared_ids
from tool.bench import video_quality


def test_perfect_tracking_scores_zero():
    gt = [[1, 2], [1, 2], [2], [2, 1]]
    pred = [[5, 9], [5, 9], [9], [9, 5]]
    assert id_switches(gt, pred) == 0
    assert fragmentations(gt, pred) == 0
    assert shared_ids(gt, pred) == []


def test_swapped_identities_count_two_switches_and_two_shared_ids():
    gt = [[1, 2], [1, 2], [1, 2], [1, 2]]
    pred = [[1, 2], [1, 2], [2, 1], [2, 1]]
    assert id_switches(gt, pred) == 2
    assert shared_ids(gt, pred) == [1, 2]


def test_switch_back_counts_again_and_a_miss_in_between_is_no_switch():
    gt = [[1]] * 6
    assert id_switches(gt, [[1], [2], [1], [-1], [1], [1]]) == 2
    assert id_switches(gt, [[1], [-1], [-1], [1], [1], [1]]) == 0


def test_fragmentations_count_interruptions_in_view_that_resume():
    gt = [[1]] * 7
    assert fragmentations(gt, [[1], [-1], [1], [-1], [-1], [1], [-1]]) == 2   # last not resumed
    assert fragmentations(gt, [[-1], [-1], [1], [1], [1], [1], [1]]) == 0     # late start
    # out of view (not in gt) is no interruption; the new id after it is a switch
    gt = [[1], [1], [], [], [1]]
    pred = [[1], [1], [], [], [3]]
    assert fragmentations(gt, pred) == 0
    assert id_switches(gt, pred) == 1
    assert shared_ids(gt, pred) == []


def test_mpjpe_by_hand():
    gt = np.zeros((2, 3, 3))
    assert mpjpe(gt, gt) == 0.
    pred = gt.copy()
    pred[0, 0] = [3., 4., 0.]                     # one joint 5 mm off out of 6
    assert mpjpe(pred, gt) == pytest.approx(5. / 6.)
    assert mpjpe(np.array([[0., 0., 12.]]), np.zeros((1, 3))) == 12.     # (T, 3) roots


def test_acceleration_error_by_hand():
    t = np.arange(6.)[:, None, None]
    gt = np.concatenate([t * 40., t ** 2, np.full_like(t, 5000.)], axis=2)   # (6, 1, 3)
    assert acceleration_error(gt + [7., -3., 120.], gt) == 0.     # an offset moves the same
    pred = gt.copy()
    pred[2, 0, 2] += 1.                           # a 1 mm spike: accelerations +1, -2, +1
    assert acceleration_error(pred, gt) == pytest.approx(4. / 4.)  # over 4 triples: 1+2+1+0
    # frame indices with a jump: only the consecutive triples (0 1 2) and (5 6 7) count
    frames = np.array([0, 1, 2, 5, 6, 7])
    pred = gt.copy()
    pred[1, 0, 0] += 2.                           # triple 0 1 2: acceleration error 4
    assert acceleration_error(pred, gt, frames) == pytest.approx(4. / 2.)
    assert np.isnan(acceleration_error(gt[:2], gt[:2]))


def test_bad_input_is_one_clear_error():
    with pytest.raises(PoseNetError, match='frames'):
        id_switches([[1]], [[1], [1]])
    with pytest.raises(PoseNetError, match='-1'):
        fragmentations([[1, 2]], [[1]])
    with pytest.raises(PoseNetError, match='same'):
        mpjpe(np.zeros((2, 3, 3)), np.zeros((2, 4, 3)))
    with pytest.raises(PoseNetError, match=r'\(T, J, 3\)'):
        acceleration_error(np.zeros((5, 2)), np.zeros((5, 2)))


def test_video_quality_benchmark_prints_both_tables(capsys):
    args = argparse.Namespace(video_seeds=1, video_frames=42)
    identities, heavier, jitter = video_quality.run(args)
    text = capsys.readouterr().out
    for name in ('crossing', 'leave_and_return', 'occluded', 'focal', 'savgol 9', 'oneeuro'):
        assert name in text
    rows = {row[0]: row[1:] for row in identities}
    people, ids, switches, expected, _, shared = rows['leave_and_return']
    assert (people, ids, switches, expected, shared) == (2, 3, 1, 1, 0)   # back with a new id
    assert rows['crossing'] == (2, 2, 0, 0, 0, 0)
    assert [len(table) for table in heavier] == [4] * len(video_quality.NOISE_SCALES)
    none = jitter[0]
    assert none[0] == 'none'
    for label, accel, error, *_ in jitter[1:]:
        assert accel < none[1] and error < 1.02 * none[2], label
