"""Tracking and smoothing quality on synthetic clips (`tool/benchmark.py --video_quality`).

Clips of `tool/synthetic_clips.py` with per-frame estimates = ground truth + noise
(`noisy_estimates`, its noise model); the tracker and the smoothers run on the estimates
exactly as the video pipeline runs them, and `data/track_metrics.py` scores them against the
ground truth. Prints two tables: identities per scenario, jitter and accuracy per filter.
"""
import time

import numpy as np

from data.track_metrics import acceleration_error, fragmentations, id_switches, mpjpe, \
    shared_ids
from main.smoothing import Smoother
from main.tracking import Tracker
from tool.synthetic_clips import JOINT_SIGMA, ROOT, ROOT_DEPTH_SIGMA, SCENARIOS, make_clip, \
    noisy_estimates

# (label, Smoother arguments) compared in the jitter table
FILTERS = (('none', {'method': 'none'}),
           ('median 5', {'method': 'median', 'window': 5}),
           ('median 9', {'method': 'median', 'window': 9}),
           ('savgol 9', {'method': 'savgol', 'window': 9, 'polyorder': 2}),
           ('savgol 15', {'method': 'savgol', 'window': 15, 'polyorder': 2}),
           ('oneeuro', {'method': 'oneeuro'}),
           ('oneeuro 0.5', {'method': 'oneeuro', 'min_cutoff': 0.5}))
NOISE_SCALES = (3., 6.)         # the identity table again with the estimates' noise x these


def track_clip(clip, estimates, tracker):
    """Run `tracker` over `estimates` (`noisy_estimates`; sets each person's `track_id`).

    Returns `(gt_ids, pred_ids)`: per frame the ids of the people in view and the track id
    each got (-1: no estimate), the input of `data.track_metrics`.
    """
    gt_ids, pred_ids = [], []
    for frame, people in enumerate(estimates):
        n = len(people)
        track_ids = tracker.update(frame, np.array([p['bbox'] for p in people]).reshape(n, 4),
                                   np.array([p['pose_2d'] for p in people]).reshape(
                                       n, clip.pose_2d.shape[2], 2),
                                   np.array([p['root_cam'] for p in people]).reshape(n, 3),
                                   np.array([p['score'] for p in people]).reshape(n))
        got = {}
        for person, track_id in zip(people, track_ids):
            person['track_id'] = int(track_id)
            got[person['gt_id']] = int(track_id)
        in_view = clip.ids[clip.in_view[frame]].tolist()
        gt_ids.append(in_view)
        pred_ids.append([got.get(g, -1) for g in in_view])
    return gt_ids, pred_ids


def smooth_clip(clip, estimates, smoother):
    """Run `smoother` over `estimates` with track id = ground-truth id (the smoothing alone).

    Returns `{gt_id: (frames (T,), pose_3d (T, J, 3), gt (T, J, 3))}` camera mm, smoothed.
    """
    out = []
    for frame, people in enumerate(estimates):
        out += smoother.push(frame, [dict(p, track_id=p['gt_id']) for p in people])
    out += smoother.flush()
    series = {}
    for frame, people in out:
        for person in people:
            gt = clip.joint_cam[frame, list(clip.ids).index(person['gt_id'])]
            series.setdefault(person['gt_id'], []).append((frame, person['pose_3d'], gt))
    return {g: tuple(np.array([s[i] for s in v]) for i in range(3)) for g, v in series.items()}


def jitter_errors(series):
    """Mean over people of `(acceleration error, MPJPE, root acceleration error, root error)`
    (mm/frame^2, mm) of `smooth_clip`'s output."""
    rows = []
    for frames, pred, gt in series.values():
        rows.append((acceleration_error(pred, gt, frames), mpjpe(pred, gt),
                     acceleration_error(pred[:, ROOT], gt[:, ROOT], frames),
                     mpjpe(pred[:, ROOT], gt[:, ROOT])))
    return np.nanmean(np.array(rows), axis=0)


def long_absences(in_view, max_gap):
    """Times a person comes back into view after more than `max_gap` frames out of it
    (`in_view (T, P)` bool): each is an expected new id, so an expected CLEAR-MOT switch."""
    count = 0
    for column in np.asarray(in_view, dtype=bool).T:
        seen = np.flatnonzero(column)
        count += int(np.sum(np.diff(seen) - 1 > max_gap))
    return count


def identity_table(clips, max_gap, noise=1.):
    """Rows `(scenario, people, ids given, id switches, long absences, fragmentations,
    shared ids)` summed over `clips` (`{scenario: [Clip]}`); the estimates' noise is
    `noise` x the default model."""
    rows = []
    for name, scenario_clips in clips.items():
        people = ids = switches = returns = frags = shared = 0
        for seed, clip in enumerate(scenario_clips):
            estimates = noisy_estimates(clip, seed=seed, joint_sigma=noise * JOINT_SIGMA,
                                        root_depth_sigma=noise * ROOT_DEPTH_SIGMA)
            gt_ids, pred_ids = track_clip(clip, estimates, Tracker(max_gap=max_gap))
            people += len(clip.ids)
            ids += len({p for frame in pred_ids for p in frame if p >= 0})
            switches += id_switches(gt_ids, pred_ids)
            returns += long_absences(clip.in_view, max_gap)
            frags += fragmentations(gt_ids, pred_ids)
            shared += len(shared_ids(gt_ids, pred_ids))
        rows.append((name, people, ids, switches, returns, frags, shared))
    return rows


def jitter_table(clips):
    """Rows `(filter, accel, MPJPE, root accel, root error, ms/frame)`, mean over `clips`
    (`{scenario: [Clip]}`)."""
    clips = [clip for scenario_clips in clips.values() for clip in scenario_clips]
    estimates = [noisy_estimates(clip, seed=100 + i) for i, clip in enumerate(clips)]
    frames = sum(clip.num_frames for clip in clips)
    rows = []
    for label, settings in FILTERS:
        errors, seconds = [], 0.
        for clip, est in zip(clips, estimates):
            start = time.perf_counter()
            series = smooth_clip(clip, est, Smoother(fps=clip.fps, **settings))
            seconds += time.perf_counter() - start
            errors.append(jitter_errors(series))
        rows.append((label,) + tuple(np.mean(errors, axis=0)) + (1000. * seconds / frames,))
    return rows


def run(args):
    """Print the identity and the jitter tables; returns their rows `(identities, heavier
    noise (one table per NOISE_SCALES), jitter)`. `args.video_seeds` (4) clips of
    `args.video_frames` (60) frames per scenario."""
    seeds = range(getattr(args, 'video_seeds', 4))
    num_frames = getattr(args, 'video_frames', 60)
    max_gap = 10
    clips = {name: [make_clip(name, seed=seed, num_frames=num_frames) for seed in seeds]
             for name in SCENARIOS}
    print(f'Tracking on synthetic clips ({len(seeds)} seeds x {num_frames} frames, Tracker('
          f'max_gap={max_gap}) defaults; estimates = ground truth + noise, '
          'tool/synthetic_clips.noisy_estimates)')
    print('  (a person back after more than max_gap frames out of view must get a new id: a '
          'CLEAR-MOT id switch, counted under "expected")')
    print(f'  {"scenario":<17} {"people":>6} {"ids":>4} {"id switches":>11} {"expected":>8} '
          f'{"fragmentations":>14} {"shared ids":>10}')
    rows = identity_table(clips, max_gap)
    for name, people, ids, switches, returns, frags, shared in rows:
        print(f'  {name:<17} {people:>6} {ids:>4} {switches:>11} {returns:>8} {frags:>14} '
              f'{shared:>10}')

    heavier = [identity_table(clips, max_gap, noise) for noise in NOISE_SCALES]
    print('  heavier noise: id switches / expected / shared ids')
    levels = [f'{n * ROOT_DEPTH_SIGMA:.0f} mm, {n * JOINT_SIGMA:.0f} mm' for n in NOISE_SCALES]
    print(f'  {"root, joint std":<17}' + ''.join(f' {level:>16}' for level in levels))
    for i, name in enumerate(clips):
        cells = [f'{table[i][3]} / {table[i][4]} / {table[i][6]}' for table in heavier]
        print(f'  {name:<17}' + ''.join(f' {cell:>16}' for cell in cells))

    print('Smoothing (track id = ground-truth id), mean over scenarios x seeds; acceleration '
          'error mm/frame^2, errors mm (absolute camera coordinates)')
    jitter = jitter_table(clips)
    base = jitter[0]
    print(f'  {"filter":<12} {"accel":>7} {"vs none":>8} {"MPJPE":>7} {"vs none":>8} '
          f'{"root accel":>10} {"root err":>8} {"ms/frame":>8}')
    for label, accel, err, root_accel, root_err, ms in jitter:
        print(f'  {label:<12} {accel:>7.2f} {accel / base[1] - 1:>+8.1%} {err:>7.2f} '
              f'{err / base[2] - 1:>+8.1%} {root_accel:>10.2f} {root_err:>8.2f} {ms:>8.3f}')
    return rows, heavier, jitter
