"""MuPoTS-3D evaluation, people: the kit's skeleton, identity matching of predicted and
ground-truth people, bone rescaling and per-joint errors (pure numpy; poses are rows,
`(17, 2|3)`, never the kit's `3 x 17`). The procedure is described in `mupots_eval.py`.
"""
import numpy as np


JOINT_NUM = 17
# The kit's skeleton, 1-based: parent of joint k is PARENTS_1BASED[k-1]; the root (15) is its own.
PARENTS_1BASED = (2, 16, 2, 3, 4, 2, 6, 7, 15, 9, 10, 15, 12, 13, 15, 15, 2)
# Order in which bones are rescaled after the root 15: every parent comes before its children.
BONE_ORDER_1BASED = (16, 2, 1, 17, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)
ROOT_1BASED = 15
MATCH_JOINTS_1BASED = tuple(range(2, 15))      # joints used for identity matching
MATCH_THRESHOLD_PX = 40.


def visible_2d(pose_2d):
    """`(..., 17, 2)` px -> `(..., 17)` bool: a joint at exactly (0, 0) is invisible (the kit's
    rule for predictions)."""
    pose_2d = np.asarray(pose_2d, dtype=np.float64)
    return (pose_2d[..., 0] != 0) | (pose_2d[..., 1] != 0)


def _vis(vis, pose_2d, default):
    """Visibility `(n, 17)` bool: given, or all True (`default='all'`), or `visible_2d`."""
    if vis is not None:
        return np.asarray(vis, dtype=bool).reshape(-1, JOINT_NUM)
    return np.ones(pose_2d.shape[:2], bool) if default == 'all' else visible_2d(pose_2d)


def _pair_scores(gt_2d, pred_2d, gt_vis, pred_vis, gi, pj, threshold, joints_1based):
    """Matching scores `(K,)` int of the pairs `(gt_2d[gi], pred_2d[pj])`: `(n, 17, 2)` px and
    `(n, 17)` bool visibility, `gi`, `pj` `(K,)` indices."""
    idx = np.asarray(joints_1based) - 1
    near = gt_vis[:, idx][gi] & pred_vis[:, idx][pj]
    for axis in (0, 1):           # x and y apart: numpy reduces a length-2 axis slowly
        near &= np.abs(gt_2d[:, idx, axis][gi] - pred_2d[:, idx, axis][pj]) < threshold
    return np.count_nonzero(near, axis=-1)


def match_scores(gt_2d, pred_2d, gt_vis=None, pred_vis=None, threshold=MATCH_THRESHOLD_PX,
                 joints_1based=MATCH_JOINTS_1BASED):
    """Matching score of every (ground truth, prediction) pair: `(G, P)` int.

    `gt_2d (G, 17, 2)`, `pred_2d (P, 17, 2)` px; `gt_vis (G, 17)`, `pred_vis (P, 17)` bool
    (default: every ground-truth joint visible, as in the kit; predictions by `visible_2d`).
    Score = number of the given joints visible in both whose |dx| and |dy| are both strictly
    below `threshold` px.
    """
    gt_2d = np.asarray(gt_2d, dtype=np.float64).reshape(-1, JOINT_NUM, 2)
    pred_2d = np.asarray(pred_2d, dtype=np.float64).reshape(-1, JOINT_NUM, 2)
    gi, pj = np.divmod(np.arange(len(gt_2d) * len(pred_2d)), max(len(pred_2d), 1))
    scores = _pair_scores(gt_2d, pred_2d, _vis(gt_vis, gt_2d, 'all'),
                          _vis(pred_vis, pred_2d, 'pred'), gi, pj, threshold, joints_1based)
    return scores.reshape(len(gt_2d), len(pred_2d))


def match_frames(gt_2d, gt_frame, pred_2d, pred_frame, gt_vis=None, pred_vis=None,
                 threshold=MATCH_THRESHOLD_PX, joints_1based=MATCH_JOINTS_1BASED):
    """Identity matching of many frames at once; returns `(N,)` int, the index into `pred_2d`
    matched to each ground-truth person, -1 when unmatched.

    `gt_2d (N, 17, 2)`, `pred_2d (M, 17, 2)` px; `gt_frame (N,)`, `pred_frame (M,)`: frame
    number (>= 0) of each pose, non-decreasing (a frame's people are contiguous, in order);
    visibility as `match_scores`. Within a frame, ground-truth people are served in order; each
    takes, among the predictions not yet taken, the one with the highest positive
    `match_scores` (ties: lowest index). The greedy loop runs over the people's rank within a
    frame (a handful), every frame at once.
    """
    gt_2d = np.asarray(gt_2d, dtype=np.float64).reshape(-1, JOINT_NUM, 2)
    pred_2d = np.asarray(pred_2d, dtype=np.float64).reshape(-1, JOINT_NUM, 2)
    gt_frame = np.asarray(gt_frame, dtype=np.int64).reshape(-1)
    pred_frame = np.asarray(pred_frame, dtype=np.int64).reshape(-1)
    matching = np.full(len(gt_2d), -1, dtype=np.int64)
    if np.any(np.diff(gt_frame) < 0) or np.any(np.diff(pred_frame) < 0):
        raise ValueError('match_frames: gt_frame and pred_frame must be non-decreasing')
    if len(gt_2d) == 0 or len(pred_2d) == 0:
        return matching
    num_frames = int(max(gt_frame.max(), pred_frame.max())) + 1
    g_count = np.bincount(gt_frame, minlength=num_frames)
    p_count = np.bincount(pred_frame, minlength=num_frames)
    g_start, p_start = np.cumsum(g_count) - g_count, np.cumsum(p_count) - p_count
    g_rank = np.arange(len(gt_2d)) - g_start[gt_frame]
    # every (gt, prediction) pair of the same frame
    reps = p_count[gt_frame]
    gi = np.repeat(np.arange(len(gt_2d)), reps)
    offset = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    pj = p_start[gt_frame][gi] + offset
    scores = np.zeros((num_frames, g_count.max(), p_count.max()), dtype=np.int16)
    scores[gt_frame[gi], g_rank[gi], offset] = _pair_scores(
        gt_2d, pred_2d, _vis(gt_vis, gt_2d, 'all'), _vis(pred_vis, pred_2d, 'pred'), gi, pj,
        threshold, joints_1based)
    taken = np.zeros(scores[:, 0].shape, dtype=bool)
    frames = np.arange(num_frames)
    for rank in range(scores.shape[1]):
        row = np.where(taken, 0, scores[:, rank])
        best = np.argmax(row, axis=1)                      # first maximum = lowest index
        ok = row[frames, best] > 0                         # padded ranks score 0 everywhere
        taken[frames[ok], best[ok]] = True
        matching[g_start[ok] + rank] = p_start[ok] + best[ok]
    return matching


def match_people(gt_2d, pred_2d, gt_vis=None, pred_vis=None, threshold=MATCH_THRESHOLD_PX):
    """Prediction index matched to each ground-truth person of one frame, `(G,)` int, -1 when
    unmatched (`match_frames` on a single frame)."""
    gt_2d = np.asarray(gt_2d, dtype=np.float64).reshape(-1, JOINT_NUM, 2)
    pred_2d = np.asarray(pred_2d, dtype=np.float64).reshape(-1, JOINT_NUM, 2)
    return match_frames(gt_2d, np.zeros(len(gt_2d), np.int64), pred_2d,
                        np.zeros(len(pred_2d), np.int64), gt_vis, pred_vis, threshold)


def rescale_bones(pred_3d, gt_3d, parents_1based=PARENTS_1BASED, order_1based=BONE_ORDER_1BASED):
    """Give predicted poses the ground truth's bone lengths; returns `(N, 17, 3)` mm.

    `pred_3d`, `gt_3d`: `(N, 17, 3)` or `(17, 3)` mm. The root keeps its position; walking
    `order_1based`, each joint = its already rescaled parent + the original predicted bone
    x ground-truth length / predicted length (the kit's `mpii_map_to_gt_bone_lengths.m`). A
    zero-length predicted bone gives 0/0 = NaN for that joint and every joint below it.
    """
    pred = np.asarray(pred_3d, dtype=np.float64)
    gt = np.asarray(gt_3d, dtype=np.float64)
    single = pred.ndim == 2
    pred = pred.reshape(-1, JOINT_NUM, 3)
    gt = gt.reshape(-1, JOINT_NUM, 3)
    joints = np.asarray(order_1based) - 1
    parents = np.asarray(parents_1based)[joints] - 1
    bones = pred[:, joints] - pred[:, parents]                             # (N, 16, 3)
    with np.errstate(invalid='ignore', divide='ignore'):
        bones = bones * _norm(gt[:, joints] - gt[:, parents]) / _norm(bones)
    out = pred.copy()
    for k, (j, p) in enumerate(zip(joints, parents)):     # parents first: a cumulative walk
        out[:, j] = out[:, p] + bones[:, k]
    return out[0] if single else out


def _norm(vectors):
    """Euclidean length `(..., 1)` of `(..., 3)` vectors."""
    return np.sqrt(vectors[..., 0] ** 2 + vectors[..., 1] ** 2 + vectors[..., 2] ** 2)[..., None]


def root_relative(pose_3d, root_1based=ROOT_1BASED):
    """`(..., 17, 3)` mm minus its root joint (pelvis)."""
    pose_3d = np.asarray(pose_3d, dtype=np.float64)
    return pose_3d - pose_3d[..., root_1based - 1:root_1based, :]


def joint_errors(pred_3d, gt_3d):
    """Per-joint Euclidean error `(N, 17)` mm of `(N, 17, 3)` poses."""
    return _norm(np.asarray(pred_3d, np.float64) - np.asarray(gt_3d, np.float64))[..., 0]


def person_errors(pred_3d, gt_3d, matched, is_relative=True):
    """Errors `(N, 17)` mm of ground-truth people `gt_3d (N, 17, 3)` mm against their matched
    predictions `pred_3d (N, 17, 3)` mm (rows of unmatched people are ignored): root-relative
    when `is_relative`, bones rescaled, inf for unmatched people, NaN below a zero bone."""
    matched = np.asarray(matched, dtype=bool)
    gt = np.asarray(gt_3d, np.float64)[matched]
    pred = np.asarray(pred_3d, np.float64)[matched]
    if is_relative:
        gt, pred = root_relative(gt), root_relative(pred)
    errors = np.full((len(matched), JOINT_NUM), np.inf)
    errors[matched] = joint_errors(rescale_bones(pred, gt), gt)
    return errors
