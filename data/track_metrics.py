"""Tracking and jitter metrics for video output against ground truth (docs/SPEC.md §15).

Identity metrics take, per frame, the ground-truth ids of the people in view and the predicted
track id each of them received (-1 when the person got no output in that frame: missed):

* `id_switches`: CLEAR-MOT identity switches (Bernardin & Stiefelhagen 2008): a person's
  predicted id differs from the one it had when last tracked (a gap in between included).
* `fragmentations`: MOT16's FM: a person's track is interrupted (in view, but missed) and
  later resumed.
* `shared_ids`: predicted ids given to more than one person (a person coming back must get a
  new id, never another person's).

Pose metrics (mm) take a track's poses over consecutive frames:

* `mpjpe`: mean per-joint position error.
* `acceleration_error`: mean norm of the difference of the second finite differences
  `x[t+1] - 2 x[t] + x[t-1]` of prediction and ground truth, mm/frame^2 (HMMR/VIBE's jitter
  measure; 0 when the prediction moves like the ground truth, whatever its offset).
"""
import numpy as np

from common.utils.errors import PoseNetError

MISSED = -1          # predicted id of a person in view who got no output


def _pairs(gt_ids, pred_ids):
    """Per frame `(gt (N,), pred (N,))` int64 arrays of the same length."""
    if len(gt_ids) != len(pred_ids):
        raise PoseNetError(f"track metrics: {len(gt_ids)} frames of ground-truth ids but "
                           f"{len(pred_ids)} of predicted ids")
    frames = []
    for t, (gt, pred) in enumerate(zip(gt_ids, pred_ids)):
        gt = np.asarray(gt, dtype=np.int64).reshape(-1)
        pred = np.asarray(pred, dtype=np.int64).reshape(-1)
        if len(gt) != len(pred):
            raise PoseNetError(f"track metrics: frame {t} has {len(gt)} ground-truth people "
                               f"but {len(pred)} predicted ids (give -1 for a missed person)")
        frames.append((gt, pred))
    return frames


def id_switches(gt_ids, pred_ids):
    """CLEAR-MOT identity switches over a clip.

    `gt_ids`, `pred_ids`: per frame, `(N,)` ids of the people in view and the predicted track
    id each got (-1: missed). Returns the number of times a person's predicted id differs from
    the one it had when last tracked.
    """
    last = {}
    switches = 0
    for gt, pred in _pairs(gt_ids, pred_ids):
        for g, p in zip(gt.tolist(), pred.tolist()):
            if p == MISSED:
                continue
            if g in last and last[g] != p:
                switches += 1
            last[g] = p
    return switches


def fragmentations(gt_ids, pred_ids):
    """MOT16 fragmentations: times a person in view goes from tracked to missed and back.

    Same arguments as `id_switches`. Frames where the person is not in view (not in `gt_ids`)
    do not interrupt the track.
    """
    tracked = {}                 # gt id -> tracked in its previous frame in view
    interrupted = set()          # gt ids tracked once, now missed while in view
    count = 0
    for gt, pred in _pairs(gt_ids, pred_ids):
        for g, p in zip(gt.tolist(), pred.tolist()):
            if p == MISSED:
                if tracked.get(g):
                    interrupted.add(g)
                tracked[g] = False
                continue
            if g in interrupted:
                count += 1
                interrupted.discard(g)
            tracked[g] = True
    return count


def shared_ids(gt_ids, pred_ids):
    """Predicted ids given to more than one person over the clip: sorted list of ints."""
    owners = {}
    for gt, pred in _pairs(gt_ids, pred_ids):
        for g, p in zip(gt.tolist(), pred.tolist()):
            if p != MISSED:
                owners.setdefault(p, set()).add(g)
    return sorted(p for p, people in owners.items() if len(people) > 1)


def _poses(name, value):
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[:, None]                     # (T, 3) roots: one joint
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise PoseNetError(f"{name} must be (T, J, 3) poses or (T, 3) roots in mm, "
                           f"got shape {arr.shape}")
    return arr


def mpjpe(pred, gt):
    """Mean per-joint position error (mm) of `pred`, `gt` `(T, J, 3)` (or `(T, 3)`) mm."""
    pred, gt = _poses('pred', pred), _poses('gt', gt)
    if pred.shape != gt.shape or len(pred) == 0:
        raise PoseNetError(f"mpjpe: prediction {pred.shape} and ground truth {gt.shape} "
                           "must have the same non-empty shape")
    return float(np.linalg.norm(pred - gt, axis=-1).mean())


def acceleration_error(pred, gt, frames=None):
    """Mean acceleration error (mm/frame^2) of a track's `pred`, `gt` `(T, J, 3)` (or `(T, 3)`).

    `frames (T,)`: the frame indices; only triples of consecutive frames count (default: all
    frames consecutive). Returns NaN when no such triple exists.
    """
    pred, gt = _poses('pred', pred), _poses('gt', gt)
    if pred.shape != gt.shape:
        raise PoseNetError(f"acceleration_error: prediction {pred.shape} and ground truth "
                           f"{gt.shape} must have the same shape")
    frames = np.arange(len(pred)) if frames is None else np.asarray(frames).reshape(-1)
    if len(frames) != len(pred):
        raise PoseNetError(f"acceleration_error: {len(frames)} frame indices for "
                           f"{len(pred)} poses")
    if len(pred) < 3:
        return float('nan')
    ok = (frames[1:-1] - frames[:-2] == 1) & (frames[2:] - frames[1:-1] == 1)
    if not ok.any():
        return float('nan')
    acc_pred = pred[2:] - 2. * pred[1:-1] + pred[:-2]
    acc_gt = gt[2:] - 2. * gt[1:-1] + gt[:-2]
    return float(np.linalg.norm(acc_pred - acc_gt, axis=-1)[ok].mean())
