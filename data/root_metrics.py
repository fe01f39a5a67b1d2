"""RootNet's evaluation metrics (docs/SPEC.md §13), pure numpy; datasets' `evaluate` call them.

* `mrpe`: mean root position error (Human36M): mean Euclidean distance between predicted and
  ground-truth camera-space roots (mm), mean |error| per axis, and the same per action;
  `format_mrpe` gives the original's summary text.
* `ap_root`: average precision of root localisation (MuPoTS): a prediction is correct when
  its nearest ground-truth root in the same image is closer than a threshold (250 mm) and not
  yet taken; `match_roots` exposes the matching, `format_ap_root` the original's print line.

Both follow the original RootNet release's arithmetic, quirks included (see `ap_root`).
"""
import numpy as np

from common.utils.errors import PoseNetError
from data.joint_sets import H36M_ACTIONS

# the original's initial "nearest distance": ground truths this far (mm) or farther never match
NO_MATCH_DIST = 9999.


def _points(name, value):
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 3)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise PoseNetError(f"{name} must be an (N, 3) array of camera-space roots in mm, "
                           f"got shape {arr.shape}")
    return arr


def mrpe(pred_root_cam, gt_root_cam, action_idx=None, action_names=None):
    """Mean root position error.

    `pred_root_cam`, `gt_root_cam`: `(N, 3)` mm. `action_idx`: `(N,)` Human36M action indices
    (2..16; entry `i` is counted under `action_names[action_idx[i] - 2]`, default
    `H36M_ACTIONS`), or None for no per-action split.

    Returns `{'mrpe': mean ||pred - gt|| mm, 'x', 'y', 'z': mean |pred - gt| per axis mm,
    'per_action': {name: mrpe}}`; `per_action` lists the actions that have samples, in
    `action_names` order (the original stopped with an error on an action without samples).
    """
    pred = _points('pred_root_cam', pred_root_cam)
    gt = _points('gt_root_cam', gt_root_cam)
    if pred.shape != gt.shape or len(pred) == 0:
        raise PoseNetError(f"mrpe needs as many predicted as ground-truth roots, at least one "
                           f"(got {len(pred)} and {len(gt)})")
    sq_err = (pred - gt) ** 2                      # (N, 3) mm^2
    dist = np.sqrt(sq_err.sum(axis=1))             # (N,)
    axis_err = np.sqrt(sq_err)                     # |error| per axis
    metrics = {'mrpe': float(dist.mean()), 'x': float(axis_err[:, 0].mean()),
               'y': float(axis_err[:, 1].mean()), 'z': float(axis_err[:, 2].mean()),
               'per_action': {}}
    if action_idx is not None:
        names = tuple(H36M_ACTIONS if action_names is None else action_names)
        idx = np.asarray(action_idx).reshape(-1).astype(np.int64) - 2
        if len(idx) != len(pred):
            raise PoseNetError(f"mrpe: action_idx has {len(idx)} entries for {len(pred)} roots")
        bad = (idx < 0) | (idx >= len(names))
        if bad.any():
            raise PoseNetError(f"mrpe: action index {int(idx[bad][0]) + 2} is outside 2.."
                               f"{len(names) + 1} (the actions are {', '.join(names)})")
        for i, name in enumerate(names):
            if (idx == i).any():
                metrics['per_action'][name] = float(dist[idx == i].mean())
    return metrics


def format_mrpe(metrics):
    """The original's summary text: `'MRPE >> tot: %.2f, x: %.2f, y: %.2f, z: %.2f\\n'` followed
    by `'<action>: %.2f '` for each action (exactly what it printed)."""
    text = 'MRPE >> tot: %.2f, x: %.2f, y: %.2f, z: %.2f\n' % (
        metrics['mrpe'], metrics['x'], metrics['y'], metrics['z'])
    for name, err in metrics.get('per_action', {}).items():
        text += name + ': %.2f ' % err
    return text


def match_roots(pred_root, pred_image_id, score, gt_root, gt_image_id, threshold=250.):
    """Greedy matching of predicted to ground-truth roots, best score first.

    `pred_root`: `(N, 3)` mm; `pred_image_id`: `(N,)`; `score`: `(N,)`; `gt_root`: `(M, 3)` mm,
    only the valid ground truths (`is_valid == 1`); `gt_image_id`: `(M,)`.

    Returns `(order, is_tp)`: `order` indexes the predictions that count, by score descending
    (ties keep input order); `is_tp` `(len(order),)` bool. As in the original: predictions on
    images without ground truth are skipped (neither true nor false positives); a prediction's
    candidate is the nearest ground truth of its image, taken or not; it is a true positive when
    that distance is `< threshold` (and `< 9999` mm) and that ground truth is not yet taken;
    otherwise it is a false positive (no fall-back to the second nearest).
    """
    pred_root = _points('pred_root', pred_root)
    gt_root = _points('gt_root', gt_root)
    pred_image_id = np.asarray(pred_image_id).reshape(-1)
    gt_image_id = np.asarray(gt_image_id).reshape(-1)
    score = np.asarray(score, dtype=np.float64).reshape(-1)
    if not (len(pred_root) == len(pred_image_id) == len(score)):
        raise PoseNetError(f"ap_root: pred_root, pred_image_id and score differ in length "
                           f"({len(pred_root)}, {len(pred_image_id)}, {len(score)})")
    if len(gt_root) != len(gt_image_id):
        raise PoseNetError(f"ap_root: gt_root and gt_image_id differ in length "
                           f"({len(gt_root)}, {len(gt_image_id)})")

    gt_of_image = {}
    for j, image_id in enumerate(gt_image_id.tolist()):
        gt_of_image.setdefault(image_id, []).append(j)
    taken = np.zeros(len(gt_root), dtype=bool)

    order, is_tp = [], []
    for n in np.argsort(-score, kind='stable'):
        candidates = gt_of_image.get(pred_image_id[n].item())
        if candidates is None:
            continue
        dist = np.sqrt(((gt_root[candidates] - pred_root[n]) ** 2).sum(axis=1))
        dist = np.where(np.isnan(dist), np.inf, dist)
        nearest = int(np.argmin(dist))  # the first of equally near ones
        gt_idx = candidates[nearest]
        tp = bool(dist[nearest] < NO_MATCH_DIST and dist[nearest] < threshold and not taken[gt_idx])
        if tp:
            taken[gt_idx] = True
        order.append(int(n))
        is_tp.append(tp)
    return np.array(order, dtype=np.int64), np.array(is_tp, dtype=bool)


def ap_root(pred_root, pred_image_id, score, gt_root, gt_image_id, threshold=250.,
            include_first=False):
    """AP_root: average precision of root localisation at `threshold` mm (MuPoTS: 250).

    Inputs as `match_roots` (flat arrays over all images). After matching, over the `K` counted
    predictions in score order: `precision[n] = TP(n) / (n + 1)`, `recall[n] = TP(n) / M`
    (`M` = number of valid ground truths, found or not), and

        AP = sum_{n=0}^{K-2} precision[n+1] * (recall[n+1] - recall[n])

    summed left to right, exactly the original: no padding, so the first prediction's recall
    step is left out and perfect predictions of `M` people score `(M-1)/M`, not 1.
    `include_first=True` also adds `precision[0] * recall[0]` (recall starting from 0), which
    makes perfect predictions score 1.0; it is not the published metric. Returns a float.
    """
    _, is_tp = match_roots(pred_root, pred_image_id, score, gt_root, gt_image_id, threshold)
    gt_num = len(np.asarray(gt_image_id).reshape(-1))
    if len(is_tp) == 0 or gt_num == 0:
        return 0.
    tp_acc = np.cumsum(is_tp)
    precision = (tp_acc / np.arange(1, len(is_tp) + 1)).tolist()
    recall = (tp_acc / gt_num).tolist()
    ap = precision[0] * recall[0] if include_first else 0
    for n in range(len(precision) - 1):
        ap += precision[n + 1] * (recall[n + 1] - recall[n])
    return float(ap)


def format_ap_root(ap):
    """The original's print line: `'AP_root: ' + str(AP)`."""
    return 'AP_root: ' + str(ap)
