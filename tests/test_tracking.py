"""Tracker (main/tracking.py): ids through crossings, gaps, closing, resuming; box_from_pose."""
import json

import numpy as np
import pytest

from common.utils.errors import PoseNetError
from data.track_metrics import id_switches, shared_ids
from main.tracking import Tracker, box_from_pose
from tool.bench.video_quality import track_clip
from tool.synthetic_clips import make_clip, noisy_estimates

# a 5-joint stick figure in a 20 x 40 px box, relative to the box's top-left corner
FIGURE = np.array([[10., 2.], [10., 15.], [3., 25.], [17., 25.], [10., 38.]])


def person(x, y=20., depth=5000.):
    """(bbox (4,), pose_2d (5, 2), root_cam (3,)) of the stick figure with its box at x, y."""
    return (np.array([x, y, 20., 40.]), FIGURE + [x, y],
            np.array([(x + 10. - 100.) * depth / 1500., 0., depth]))


def update(tracker, frame, people, order=None):
    """`tracker.update` with `people` (list of `person()`) in `order`; ids in people's order."""
    order = np.arange(len(people)) if order is None else np.asarray(order)
    ids = tracker.update(frame, np.array([people[i][0] for i in order]).reshape(-1, 4),
                         np.array([people[i][1] for i in order]).reshape(len(order), 5, 2),
                         np.array([people[i][2] for i in order]).reshape(-1, 3))
    out = np.empty_like(ids)
    out[order] = ids
    return out


def test_box_from_pose_is_get_bbox_clipped_to_the_image():
    # extent x 20..40, y 30..70: w = (20 - 1) * 1.2 = 22.8 about x 30, h = 39 * 1.2 = 46.8 about 50
    np.testing.assert_allclose(box_from_pose([[20., 30.], [40., 70.], [25., 50.]], 200, 100),
                               [18.6, 26.6, 22.8, 46.8])
    # x -1.4..21.4 and y -3.4..43.4 clipped to the image's left and top edges
    np.testing.assert_allclose(box_from_pose([[0., 0.], [20., 40.]], 100, 100),
                               [0., 0., 21.4, 43.4])
    # clipped at the right and bottom edges (image 30 x 40): x 8.6..31.4, y 16.6..63.4
    np.testing.assert_allclose(box_from_pose([[10., 20.], [30., 60.]], 30, 40),
                               [8.6, 16.6, 21.4, 23.4])


@pytest.mark.parametrize('pose', [[[500., 500.], [520., 560.]],        # outside the image
                                  [[10., 10.], [10., 10.]],            # one point: no extent
                                  [[10., np.nan], [20., 30.]],          # not finite
                                  [[10., 10.]] * 0])                    # no joints
def test_box_from_pose_without_a_usable_box_is_an_error(pose):
    with pytest.raises(PoseNetError, match='pose'):
        box_from_pose(np.array(pose).reshape(-1, 2), 100, 100)


def test_crossing_people_with_identical_looks_keep_their_ids_by_their_motion():
    # two identical figures at the same depth cross: their boxes coincide at frame 10, and
    # only the motion model tells them apart; the input order changes every frame
    tracker = Tracker()
    first = None
    for frame in range(21):
        people = [person(20. + 8. * frame), person(180. - 8. * frame)]
        ids = update(tracker, frame, people, order=[frame % 2, 1 - frame % 2])
        first = ids if first is None else first
        assert ids.tolist() == first.tolist() == [1, 2]


def test_frames_may_jump_and_motion_is_extrapolated_over_the_jump():
    tracker = Tracker()
    for frame in (0, 1, 2, 6, 7, 12):            # frames 3-5 and 8-11 could not be decoded
        ids = update(tracker, frame, [person(20. + 8. * frame), person(180. - 8. * frame)])
        assert ids.tolist() == [1, 2]


def test_track_survives_max_gap_frames_and_is_closed_after():
    for gap, expected in ((3, 1), (4, 3)):
        tracker = Tracker(max_gap=3)
        for frame in range(5):
            update(tracker, frame, [person(50.), person(150.)])
        for frame in range(5, 5 + gap):                  # person 1 missed for `gap` frames
            assert update(tracker, frame, [person(150.)]).tolist() == [2]
        ids = update(tracker, 5 + gap, [person(50.), person(150.)])
        assert ids.tolist() == [expected, 2]             # back: same id, or a new one (3)


def test_ids_are_never_reused_after_tracks_close():
    tracker = Tracker(max_gap=0)
    seen = []
    for frame in range(0, 12, 2):                        # every other frame: always closed
        seen += update(tracker, frame, [person(50.)]).tolist()
    assert seen == [1, 2, 3, 4, 5, 6]


def test_new_person_far_from_every_track_starts_a_track():
    tracker = Tracker()
    assert update(tracker, 0, [person(20.)]).tolist() == [1]
    assert update(tracker, 1, [person(21.), person(200., depth=9000.)]).tolist() == [1, 2]
    assert update(tracker, 2, []).tolist() == []


def test_live_tracks_are_the_tracks_matched_in_the_last_update():
    tracker = Tracker()
    update(tracker, 0, [person(20.), person(120.)])
    update(tracker, 1, [person(124.)])
    live = tracker.live_tracks()
    assert [t[0] for t in live] == [2]
    np.testing.assert_array_equal(live[0][1], person(124.)[0])
    np.testing.assert_array_equal(live[0][2], person(124.)[1])


def test_state_round_trip_gives_identical_future_outputs():
    clip = make_clip('crossing', seed=2, num_frames=40)
    estimates = noisy_estimates(clip, seed=2)
    half = 19
    tracker = Tracker(max_gap=5)
    track_clip(clip, estimates[:half], tracker)
    restored = Tracker.from_state(json.loads(json.dumps(tracker.state())))
    assert restored.state() == tracker.state()
    for frame in range(half, clip.num_frames):
        people = estimates[frame]
        args = (np.array([p['bbox'] for p in people]), np.array([p['pose_2d'] for p in people]),
                np.array([p['root_cam'] for p in people]))
        assert tracker.update(frame, *args).tolist() == restored.update(frame, *args).tolist()
    assert restored.state() == tracker.state()


def test_malformed_state_is_an_error():
    state = Tracker().state()
    del state['next_id']
    with pytest.raises(PoseNetError, match='tracker state'):
        Tracker.from_state(state)


@pytest.mark.parametrize('seed', [0, 1])
def test_synthetic_crossing_has_no_id_switch(seed):
    clip = make_clip('crossing', seed=seed, num_frames=48)
    gt_ids, pred_ids = track_clip(clip, noisy_estimates(clip, seed=seed), Tracker())
    assert id_switches(gt_ids, pred_ids) == 0
    assert sorted({p for f in pred_ids for p in f}) == [1, 2]


def test_crossing_keeps_ids_under_six_times_the_noise():
    # root depth jitter 300 mm, joints 60 mm (about 2 px here): still no switch
    clip = make_clip('crossing', seed=4, num_frames=48)
    estimates = noisy_estimates(clip, seed=4, root_depth_sigma=300., joint_sigma=60.)
    gt_ids, pred_ids = track_clip(clip, estimates, Tracker())
    assert id_switches(gt_ids, pred_ids) == 0


def test_tolerance_grows_with_the_frames_predicted():
    # the same 6 px miss scores higher after a gap of 4 frames than after 1 frame
    scores = []
    for gap in (1, 4):
        tracker = Tracker()
        update(tracker, 0, [person(50.)])
        bbox, pose_2d, root = person(56.)
        scores.append(tracker.similarity(gap, bbox[None], pose_2d[None], root[None])[0, 0])
    assert 0.1 < scores[0] < scores[1] < 1.


def test_person_back_after_more_than_max_gap_gets_a_new_id_never_another_persons():
    clip = make_clip('leave_and_return', seed=0, num_frames=48)
    out = np.flatnonzero(~clip.in_view[:, 0])
    assert len(out) > 10                                     # longer than the default gap
    gt_ids, pred_ids = track_clip(clip, noisy_estimates(clip, seed=0), Tracker(max_gap=10))
    before = {p for g, f in zip(gt_ids[:out[0]], pred_ids[:out[0]]) for gi, p in zip(g, f)
              if gi == 1}
    after = {p for g, f in zip(gt_ids[out[-1] + 1:], pred_ids[out[-1] + 1:])
             for gi, p in zip(g, f) if gi == 1}
    stayer = {p for g, f in zip(gt_ids, pred_ids) for gi, p in zip(g, f) if gi == 2}
    assert len(before) == len(after) == len(stayer) == 1
    assert after == {3} and before == {1} and stayer == {2}
    assert shared_ids(gt_ids, pred_ids) == []


def test_occluded_person_keeps_the_id_across_missed_frames():
    clip = make_clip('occluded', seed=0, num_frames=48)
    missed = np.flatnonzero(~clip.detected[:, 1])
    assert 0 < len(missed) <= 10
    gt_ids, pred_ids = track_clip(clip, noisy_estimates(clip, seed=0), Tracker(max_gap=10))
    assert id_switches(gt_ids, pred_ids) == 0
    assert sorted({p for f in pred_ids for p in f}) == [-1, 1, 2]


def test_bad_input_is_one_clear_error():
    with pytest.raises(PoseNetError, match='max_gap'):
        Tracker(max_gap=-1)
    with pytest.raises(PoseNetError, match='min_similarity'):
        Tracker(min_similarity=1.5)
    tracker = Tracker()
    update(tracker, 3, [person(20.)])
    with pytest.raises(PoseNetError, match='increasing'):
        update(tracker, 3, [person(20.)])
    bbox, pose_2d, root = person(20.)
    with pytest.raises(PoseNetError, match='non-finite'):
        tracker.update(4, bbox[None], pose_2d[None], (root * np.nan)[None])
    with pytest.raises(PoseNetError, match='joints'):
        tracker.update(5, bbox[None], pose_2d[None, :3], root[None])
