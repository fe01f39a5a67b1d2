"""Synthetic clips (tool/synthetic_clips.py): ground truth, scenarios, noise model, video file."""
import json

import cv2
import numpy as np
import pytest

from common.utils.errors import PoseNetError
from common.utils.pose_utils import cam2pixel
from tool import synthetic_clips
from tool.synthetic_clips import ROOT, make_clip, noisy_estimates, write_clip


@pytest.fixture(scope='module')
def crossing():
    return make_clip('crossing', seed=0, num_frames=32)


def test_ground_truth_is_consistent(crossing):
    clip = crossing
    assert clip.joint_cam.shape == (32, 2, 21, 3)
    assert clip.size == (128, 96) and len(clip.images) == 32
    assert clip.images[0].shape == (96, 128, 3) and clip.images[0].dtype == np.uint8
    np.testing.assert_allclose(clip.pose_2d, cam2pixel(clip.joint_cam, clip.f, clip.c)[..., :2])
    np.testing.assert_array_equal(clip.f, [150., 150.])
    assert clip.ids.tolist() == [1, 2]
    # each person walks smoothly: 40 mm per frame along the floor, no jumps
    step = np.linalg.norm(np.diff(clip.joint_cam[:, :, ROOT], axis=0), axis=-1)
    np.testing.assert_allclose(step, 40., rtol=0.02)


def test_crossing_people_swap_sides_at_different_depths(crossing):
    u = crossing.pose_2d[:, :, ROOT, 0]
    assert u[0, 0] < u[0, 1] and u[-1, 0] > u[-1, 1]
    depth = crossing.joint_cam[:, :, ROOT, 2]
    assert np.all(depth[:, 1] - depth[:, 0] > 500.)
    assert crossing.detected.all()


def test_leave_and_return_is_out_of_view_longer_than_the_default_gap():
    clip = make_clip('leave_and_return', seed=0, num_frames=48)
    out = np.flatnonzero(~clip.in_view[:, 0])
    assert len(out) > 10 and np.all(np.diff(out) == 1)
    assert clip.in_view[0, 0] and clip.in_view[-1, 0] and clip.in_view[:, 1].all()
    np.testing.assert_array_equal(clip.detected, clip.in_view)


def test_occluded_person_is_missed_while_hidden_but_in_view():
    clip = make_clip('occluded', seed=0, num_frames=48)
    assert clip.in_view.all() and clip.detected[:, 0].all()
    missed = np.flatnonzero(~clip.detected[:, 1])
    assert 0 < len(missed) <= 10 and np.all(np.diff(missed) == 1)


def test_focal_scenario_uses_its_camera():
    clip = make_clip('focal', seed=0, num_frames=8)
    np.testing.assert_array_equal(clip.f, synthetic_clips.FOCAL_SCENARIO['f'])
    np.testing.assert_array_equal(clip.c, synthetic_clips.FOCAL_SCENARIO['c'])
    assert clip.in_view.all()


def test_noise_free_estimates_are_the_ground_truth(crossing):
    estimates = noisy_estimates(crossing, seed=0, root_depth_sigma=0., joint_sigma=0.)
    for t, people in enumerate(estimates):
        assert sorted(p['gt_id'] for p in people) == [1, 2]
        for p in people:
            gt = crossing.joint_cam[t, p['gt_id'] - 1]
            np.testing.assert_allclose(p['pose_3d'], gt, atol=1e-6)
            np.testing.assert_allclose(p['root_cam'], gt[ROOT], atol=1e-6)
            np.testing.assert_allclose(p['pose_2d'], crossing.pose_2d[t, p['gt_id'] - 1])


def test_noise_model_root_depth_noise_is_largest(crossing):
    estimates = noisy_estimates(crossing, seed=1)
    root_err, joint_err = [], []
    for t, people in enumerate(estimates):
        for p in people:
            gt = crossing.joint_cam[t, p['gt_id'] - 1]
            root_err.append(p['root_cam'][2] - gt[ROOT, 2])
            rel = (p['pose_3d'] - p['root_cam']) - (gt - gt[ROOT])
            joint_err.append(rel[:, 2])
    assert 35. < np.std(root_err) < 65.                  # ROOT_DEPTH_SIGMA = 50 mm
    # relative depth: joint noise minus root noise, both JOINT_SIGMA = 10 mm: 14 mm
    assert 11. < np.std(joint_err) < 17.


def test_video_file_decodes_to_the_frames(tmp_path, crossing):
    video, truth = write_clip(crossing, str(tmp_path))
    cap = cv2.VideoCapture(video)
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(30.)
    decoded = []
    ok, img = cap.read()
    while ok:
        decoded.append(img)
        ok, img = cap.read()
    cap.release()
    assert len(decoded) == 32 and decoded[0].shape == (96, 128, 3)
    error = np.mean([np.abs(a.astype(float) - b).mean() for a, b in zip(decoded, crossing.images)])
    assert error < 8.                                    # mp4v is lossy, but close
    with open(truth) as f:
        gt = json.load(f)
    np.testing.assert_allclose(gt['joint_cam'], crossing.joint_cam)
    assert gt['root_idx'] == ROOT and gt['ids'] == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['crossing.json', 'crossing.mp4']


def test_command_line_refuses_to_overwrite(tmp_path, capsys):
    synthetic_clips.main(['--out', str(tmp_path), '--scenarios', 'focal', '--frames', '6'])
    assert (tmp_path / 'focal.mp4').stat().st_size > 0
    with pytest.raises(SystemExit) as exit_info:
        synthetic_clips.main(['--out', str(tmp_path), '--scenarios', 'focal', '--frames', '6'])
    assert exit_info.value.code == 2
    assert '--overwrite' in capsys.readouterr().err


def test_unknown_scenario_is_an_error():
    with pytest.raises(PoseNetError, match='choose one of'):
        make_clip('juggling')
