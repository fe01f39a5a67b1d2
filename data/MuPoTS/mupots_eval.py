"""MuPoTS-3D evaluation in Python: the official kit's 3DPCK and AUC without MATLAB.

Inputs
  * predictions, either the two exported files `preds_2d_kpt_mupots.mat` and
    `preds_3d_kpt_mupots.mat` (docs/SPEC.md §7) or the same content in memory: one entry per
    image key `TS<n>_img_<frame:06d>` (frame 0-based) holding `(persons, 17, 2)` pixels and
    `(persons, 17, 3)` camera millimetres, persons in the same order in both. Every array must
    have exactly that shape (a single person is `(1, 17, 2)`, which is also what
    `scipy.io.loadmat` returns for it) and finite values; at least one key must name a frame of
    the ground truth (keys naming no frame are ignored and counted in `unused_keys`);
  * the kit's ground truth folder `MultiPersonTestSet/` with `TS<n>/annot.mat` (cell array
    `annotations`, frames x people, of structs `annot2` 2x17 px, `annot3` / `univ_annot3` 3x17 mm,
    `isValidFrame`) and `TS<n>/occlusion.mat` (cell array `occlusion_labels`, frames x people, of
    1x17 flags, 1 = occluded), or that kit already loaded by `load_kit`.

Procedure (the official kit's `mpii_mupots_multiperson_eval.m` and helpers), per frame:
  1. the ground-truth people are the annotated people whose `isValidFrame` is non-zero;
  2. identity matching (`match_people`, `match_frames`): each ground-truth person in turn takes
     the not yet matched prediction with the most joints 2..14 (1-based) visible in both whose
     |dx| and |dy| are both below 40 px; the best positive score wins, ties go to the lowest
     prediction index. Every ground-truth joint counts as visible (the kit sets the ground
     truth's visibility to ones, so a ground-truth joint at (0, 0) is not special); a
     predicted joint at exactly (0, 0) is invisible;
  3. the 3D ground truth is `univ_annot3`; in relative mode joint 15 (pelvis) is subtracted from
     prediction and ground truth;
  4. matched predictions get the ground truth's bone lengths (`rescale_bones`), walking the
     skeleton outwards from the pelvis with the kit's arithmetic `bone * gt_length / length`:
     a zero-length predicted bone gives NaN for its joint and every joint below it;
  5. per-joint Euclidean error; an unmatched person has every joint wrong (error inf; the kit
     uses a pose at 100000 mm) in mode "all" (all annotated people) and is left out in mode
     "matched" (only matched people).
Metrics over the 14 joints 1..14 (head-top to ankles), reported per joint group and in total
(group values weighted by joint count = the pooled fraction), per sequence, as the mean over
sequences (the figure papers report) and pooled over all people:
  * all joints (the kit's main table, `mpii_compute_3d_pck.m`): a joint is correct when its
    error is strictly below the threshold (`error < t`; NaN is wrong); 3DPCK = 100 x fraction
    correct at 150 mm; AUC = 100 x the mean fraction correct over the 31 thresholds 0:5:150 mm;
  * visible and occluded joints (the kit's `mpii_evaluate_multiperson_errors_visibility_mask.m`,
    a different function): 3DPCK = 100 x (1 - fraction with `error > 150`), NaN counted wrong,
    so an error of exactly 150 mm is correct here (`error <= 150`) but wrong in the main table.
    The kit reports no AUC for these two tables; ours is the main table's AUC (`error < t`)
    restricted to those joints. A joint group without such joints is NaN (the kit's per-joint
    table would show 100 there through its 1e-28 guard; it has no groups).

Internally joints are rows: a pose is `(17, 2|3)`, never the kit's `3 x 17`.

Python API: `score_predictions` / `evaluate_all_variants` score in-memory predictions,
`evaluate_mupots` the exported files, `evaluate_if_present` the files of a result folder;
`read_pred_mat` is the one reader of exported files (also used by `vis/view_results.py`).

    python data/MuPoTS/mupots_eval.py --pred_dir output/result \
        --gt_dir data/MuPoTS/data/MultiPersonTestSet [--mode all|matched] [--absolute]
"""
import argparse
import os
import os.path as osp
import re

import numpy as np

from common.utils.cli import run_cli
from common.utils.errors import PoseNetError
from common.utils.file_io import write_text
from data.result_files import mupots_frame_key, pred_mat_name

JOINT_NUM = 17
# The kit's skeleton, 1-based: parent of joint k is PARENTS_1BASED[k-1]; the root (15) is its own.
PARENTS_1BASED = (2, 16, 2, 3, 4, 2, 6, 7, 15, 9, 10, 15, 12, 13, 15, 15, 2)
# Order in which bones are rescaled after the root 15: every parent comes before its children.
BONE_ORDER_1BASED = (16, 2, 1, 17, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)
ROOT_1BASED = 15
MATCH_JOINTS_1BASED = tuple(range(2, 15))      # joints used for identity matching
MATCH_THRESHOLD_PX = 40.
PCK_THRESHOLD_MM = 150.
AUC_THRESHOLDS_MM = np.arange(0., 151., 5.)    # 0, 5, ..., 150: 31 thresholds
EVAL_JOINTS_1BASED = tuple(range(1, 15))       # head-top .. left ankle
JOINT_GROUPS_1BASED = (('head', (1,)), ('neck', (2,)), ('shoulders', (3, 6)),
                       ('elbows', (4, 7)), ('wrists', (5, 8)), ('hips', (9, 12)),
                       ('knees', (10, 13)), ('ankles', (11, 14)))
SUBSETS = ('all', 'visible', 'occluded')
# visible / occluded tables: correct when not `error > 150` (exactly 150 mm is correct there)
INCLUSIVE_PCK_SUBSETS = ('visible', 'occluded')
EVAL_MODES = {'all': 'all', 'all_annotated': 'all', 'matched': 'matched',
              'only_matched': 'matched'}
VARIANTS = (('all', True), ('matched', True), ('all', False), ('matched', False))
PRED_2D_NAME = pred_mat_name('2d', 'mupots')
PRED_3D_NAME = pred_mat_name('3d', 'mupots')
_SEQ_RE = re.compile(r'^TS(\d+)$')
DEFAULT_GT_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'MultiPersonTestSet')


# --------------------------------------------------------------------------------------------
# matching, rescaling, errors (pure numpy)
# --------------------------------------------------------------------------------------------
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


def fraction_correct(errors, thresholds):
    """Fraction of `errors (n,)` strictly below each threshold, `(T,)`; NaN when n == 0."""
    errors = np.asarray(errors, dtype=np.float64).reshape(-1)
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if errors.size == 0:
        return np.full(thresholds.shape, np.nan)
    return np.mean(errors[None, :] < thresholds[:, None], axis=1)


def pck_and_auc(errors, inclusive=False):
    """3DPCK at 150 mm and AUC over 0:5:150 mm, both in percent, of `errors (n,)` mm.

    A joint is correct when `error < t`; with `inclusive` the 3DPCK uses the visible/occluded
    tables' rule `not error > 150` instead (NaN still wrong). NaN when n == 0."""
    errors = np.asarray(errors, dtype=np.float64).reshape(-1)
    if inclusive:
        pck = 100. * np.mean(errors <= PCK_THRESHOLD_MM) if errors.size else np.nan
    else:
        pck = 100. * fraction_correct(errors, [PCK_THRESHOLD_MM])[0]
    auc = 100. * np.mean(fraction_correct(errors, AUC_THRESHOLDS_MM))
    return float(pck), float(auc)


def auc_hits(errors):
    """Per joint, the number of AUC thresholds t (0:5:150 mm) with `error < t`: `(N, 17)` int
    of `errors (N, 17)` mm (NaN and inf: 0)."""
    errors = np.asarray(errors, dtype=np.float64)
    return len(AUC_THRESHOLDS_MM) - np.searchsorted(AUC_THRESHOLDS_MM, errors, side='right')


def group_metrics(errors, mask, inclusive=False, hits_auc=None):
    """Per joint group and total 3DPCK / AUC of people's joints.

    `errors`: `(N, 17)` mm (inf and NaN = wrong); `mask`: `(N, 17)` bool, the joints that count;
    `inclusive`: 3DPCK rule of the visible/occluded tables (`pck_and_auc`); `hits_auc`:
    `auc_hits(errors)` when already computed.
    Returns `{'pck': {group: %, ..., 'total': %}, 'auc': {...}, 'num_people', 'num_joints'}`
    (NaN for a group without joints); the total pools the 14 evaluation joints (the groups
    weighted by their joint counts).
    """
    errors = np.asarray(errors, dtype=np.float64).reshape(-1, JOINT_NUM)
    mask = np.asarray(mask, dtype=bool).reshape(-1, JOINT_NUM)
    hits_auc = auc_hits(errors) if hits_auc is None else hits_auc
    count = mask.sum(axis=0)                                               # (17,)
    hit = (errors <= PCK_THRESHOLD_MM) if inclusive else (errors < PCK_THRESHOLD_MM)
    hits = (hit & mask).sum(axis=0)                                        # (17,)
    curve = np.where(mask, hits_auc, 0).sum(axis=0)                        # (17,)
    pck, auc = {}, {}
    for name, joints in JOINT_GROUPS_1BASED + (('total', EVAL_JOINTS_1BASED),):
        idx = np.asarray(joints) - 1
        n = count[idx].sum()
        if n == 0:
            pck[name] = auc[name] = np.nan
            continue
        pck[name] = float(100. * hits[idx].sum() / n)
        auc[name] = float(100. * curve[idx].sum() / (n * len(AUC_THRESHOLDS_MM)))
    eval_idx = np.asarray(EVAL_JOINTS_1BASED) - 1
    return {'pck': pck, 'auc': auc, 'num_people': int(errors.shape[0]),
            'num_joints': int(count[eval_idx].sum())}


# --------------------------------------------------------------------------------------------
# reading MATLAB files
# --------------------------------------------------------------------------------------------
def _loadmat(path, what):
    """`scipy.io.loadmat` without squeezing, structs as objects; clear errors."""
    import scipy.io
    if not osp.isfile(path):
        raise PoseNetError(f"{what} not found: {path}")
    try:
        return scipy.io.loadmat(path, squeeze_me=False, struct_as_record=False)
    except NotImplementedError:
        raise PoseNetError(f"{path}: MATLAB v7.3 (HDF5) files are not supported; re-save it "
                           "in MATLAB with save(..., '-v7')") from None
    except Exception as exc:
        raise PoseNetError(f"{path}: cannot read it as a MATLAB file ({exc})") from None


def _cell_2d(value, path, name):
    """A MATLAB cell array as an object ndarray `(frames, people)`."""
    arr = np.asarray(value)
    if arr.dtype != object:
        raise PoseNetError(f"{path}: variable '{name}' is not a cell array (frames x people)")
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise PoseNetError(f"{path}: variable '{name}' has shape {arr.shape}, expected a "
                           "2-D cell array (frames x people)")
    return arr


def _unwrap(elem):
    """The single item inside MATLAB's 1x1 wrappers; None for an empty cell slot."""
    while isinstance(elem, np.ndarray):
        if elem.size == 0:
            return None
        if elem.size != 1:
            return elem
        elem = elem.reshape(-1)[0]
    return elem


def _field(struct, name):
    """Field `name` of a loaded MATLAB struct (`mat_struct`), or None when it has none."""
    return getattr(struct, name, None) if name in getattr(struct, '_fieldnames', ()) else None


def _joints(value, dim, path, what):
    """A `dim x 17` (or `17 x dim`) MATLAB matrix as `(17, dim)` float64."""
    if value is None:
        raise PoseNetError(f"{path}: {what} is missing (is it the kit's annot.mat?)")
    arr = np.squeeze(np.asarray(value, dtype=np.float64))
    if arr.shape == (dim, JOINT_NUM):
        return arr.T
    if arr.shape == (JOINT_NUM, dim):
        return arr
    raise PoseNetError(f"{path}: {what} has shape {arr.shape}, expected {dim}x{JOINT_NUM}")


def load_kit_sequence(seq_dir):
    """Valid annotated people of every frame of one kit sequence folder `TS<n>/`.

    Returns a list over frames (frame 0 = `img_000000`); each item is a dict with
    `gt_2d (G, 17, 2)` px, `gt_3d (G, 17, 3)` mm (`univ_annot3`) and `occluded (G, 17)` bool,
    G = the number of valid people in that frame (possibly 0).
    """
    annot_path = osp.join(seq_dir, 'annot.mat')
    occ_path = osp.join(seq_dir, 'occlusion.mat')
    annot_mat = _loadmat(annot_path, 'MuPoTS kit annotation file')
    occ_mat = _loadmat(occ_path, 'MuPoTS kit occlusion file')
    if 'annotations' not in annot_mat:
        raise PoseNetError(f"{annot_path}: no variable 'annotations' (is it the kit's annot.mat?)")
    if 'occlusion_labels' not in occ_mat:
        raise PoseNetError(f"{occ_path}: no variable 'occlusion_labels' "
                           "(is it the kit's occlusion.mat?)")
    annots = _cell_2d(annot_mat['annotations'], annot_path, 'annotations')
    occls = _cell_2d(occ_mat['occlusion_labels'], occ_path, 'occlusion_labels')
    if occls.shape != annots.shape:
        raise PoseNetError(f"{occ_path}: occlusion_labels is {occls.shape[0]}x{occls.shape[1]} "
                           f"but {annot_path} has {annots.shape[0]}x{annots.shape[1]} annotations")
    frames = []
    for i in range(annots.shape[0]):
        gt_2d, gt_3d, occluded = [], [], []
        for k in range(annots.shape[1]):
            person = _unwrap(annots[i, k])
            if person is None:
                continue
            valid = _field(person, 'isValidFrame')
            if valid is None or not np.any(np.asarray(valid, dtype=np.float64) != 0):
                continue
            where = f"annotations{{{i + 1},{k + 1}}}"
            gt_2d.append(_joints(_field(person, 'annot2'), 2, annot_path, where + '.annot2'))
            gt_3d.append(_joints(_field(person, 'univ_annot3'), 3, annot_path,
                                 where + '.univ_annot3'))
            occ = _unwrap(occls[i, k])
            occ = np.zeros(JOINT_NUM) if occ is None else np.asarray(occ, np.float64).reshape(-1)
            if occ.size != JOINT_NUM:
                raise PoseNetError(f"{occ_path}: occlusion_labels{{{i + 1},{k + 1}}} has "
                                   f"{occ.size} values, expected {JOINT_NUM}")
            occluded.append(occ != 0)
        frames.append({'gt_2d': np.asarray(gt_2d, np.float64).reshape(-1, JOINT_NUM, 2),
                       'gt_3d': np.asarray(gt_3d, np.float64).reshape(-1, JOINT_NUM, 3),
                       'occluded': np.asarray(occluded, bool).reshape(-1, JOINT_NUM)})
    return frames


def list_kit_sequences(gt_dir):
    """`[(n, folder), ...]` of the `TS<n>` folders of `gt_dir` holding `annot.mat`, by n."""
    if not osp.isdir(gt_dir):
        raise PoseNetError(f"MuPoTS kit ground truth folder not found: {gt_dir} (get "
                           "MultiPersonTestSet from the MuPoTS-3D kit, or pass --gt_dir)")
    seqs = []
    for name in os.listdir(gt_dir):
        m = _SEQ_RE.match(name)
        if m and osp.isfile(osp.join(gt_dir, name, 'annot.mat')):
            seqs.append((int(m.group(1)), osp.join(gt_dir, name)))
    if not seqs:
        raise PoseNetError(f"{gt_dir}: no TS<n>/annot.mat found; point it at the kit's "
                           "MultiPersonTestSet folder")
    return sorted(seqs)


def load_kit(gt_dir):
    """`[(n, frames), ...]`: every `TS<n>` sequence of the kit folder (`load_kit_sequence`)."""
    return [(num, load_kit_sequence(folder)) for num, folder in list_kit_sequences(gt_dir)]


# --------------------------------------------------------------------------------------------
# predictions: one reader, one set of checks
# --------------------------------------------------------------------------------------------
def check_pred_array(value, dim, source, key, finite=True):
    """One image's predictions as `(P, 17, dim)` float64, or a `PoseNetError` naming `source`
    (a file or a dict name) and variable `key`. Exactly that shape (P >= 0; no reshaping, so a
    transposed `(P, dim, 17)` is refused) and, with `finite`, no NaN or inf."""
    expected = f"(persons, {JOINT_NUM}, {dim})"
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise PoseNetError(f"{source}: variable '{key}' is not a numeric array; expected "
                           f"{expected} (docs/SPEC.md §7)") from None
    if arr.ndim != 3 or arr.shape[1:] != (JOINT_NUM, dim):
        hint = (f"; one person is (1, {JOINT_NUM}, {dim})" if arr.shape == (JOINT_NUM, dim)
                else '')
        raise PoseNetError(f"{source}: variable '{key}' has shape {arr.shape}, expected "
                           f"{expected}{hint} (docs/SPEC.md §7)")
    if finite and not np.isfinite(arr).all():
        person, joint, _ = np.argwhere(~np.isfinite(arr))[0]
        raise PoseNetError(f"{source}: variable '{key}' holds NaN or inf (person {person}, "
                           f"joint {joint}); write finite predictions")
    return arr


def read_pred_mat(path, dim, what='prediction file'):
    """`{key: (P, 17, dim) float64}` of one exported `.mat` (docs/SPEC.md §7), in file order.

    `dim` 2 (pixels) or 3 (camera mm); `what` names the file in errors. Every variable is
    checked by `check_pred_array`; a file without variables is refused. Keys are not checked
    (COCO's `coco_<stem>` load as well as MuPoTS' `TS<n>_img_<frame>`).
    """
    if not osp.isfile(path):
        raise PoseNetError(f"{what} not found: {path}; run main/test.py on the test set to "
                           "write it, or pass the folder holding it")
    data = _loadmat(path, what)
    keys = [k for k in data if not k.startswith('__')]
    if not keys:
        raise PoseNetError(f"{path}: no prediction variables in this {what}; write it with "
                           "main/test.py (one variable per image)")
    return _check_finite({k: check_pred_array(data[k], dim, path, k, False) for k in keys},
                         dim, path)


def _check_finite(preds, dim, source):
    """`preds {key: (P, 17, dim)}` when every value is finite (one check over all of them),
    else `check_pred_array`'s error for the first variable holding NaN or inf."""
    if preds and not np.isfinite(np.concatenate([a.reshape(-1) for a in preds.values()])).all():
        for key, arr in preds.items():
            check_pred_array(arr, dim, source, key)
    return preds


def pair_predictions(pred_2d, pred_3d, name_2d='pred_2d', name_3d='pred_3d'):
    """`{key: (pred_2d (P, 17, 2) px, pred_3d (P, 17, 3) mm)}` in `pred_2d`'s order from the two
    dicts `{key: array}`; `name_2d`, `name_3d` name them (file paths or variable names) in
    errors. Both must hold the same keys and, per key, the same number of people."""
    for name, preds in ((name_2d, pred_2d), (name_3d, pred_3d)):
        if not hasattr(preds, 'items'):
            raise PoseNetError(f"{name}: expected a dict {{image key: array}}, got "
                               f"{type(preds).__name__}")
        if not preds:
            raise PoseNetError(f"{name}: no predictions (no image key)")
    odd = [k for k in pred_2d if k not in pred_3d] + [k for k in pred_3d if k not in pred_2d]
    if odd:
        raise PoseNetError(f"{name_2d} and {name_3d} hold different images (e.g. '{odd[0]}'); "
                           "write both with the same evaluate run")
    checked_2d = _check_finite({k: check_pred_array(pred_2d[k], 2, name_2d, k, False)
                                for k in pred_2d}, 2, name_2d)
    checked_3d = _check_finite({k: check_pred_array(pred_3d[k], 3, name_3d, k, False)
                                for k in pred_2d}, 3, name_3d)
    pairs = {}
    for key, p2 in checked_2d.items():
        p3 = checked_3d[key]
        if len(p2) != len(p3):
            raise PoseNetError(f"'{key}': {len(p2)} persons in {name_2d} but {len(p3)} in "
                               f"{name_3d}; write both with the same evaluate run")
        pairs[key] = (p2, p3)
    return pairs


def load_predictions(pred_2d_path, pred_3d_path):
    """Predictions per image key of the two exported files, checked by `read_pred_mat` and
    `pair_predictions`: `{key: (pred_2d (P, 17, 2) px, pred_3d (P, 17, 3) mm)}`."""
    return pair_predictions(read_pred_mat(pred_2d_path, 2, 'MuPoTS 2D prediction file'),
                            read_pred_mat(pred_3d_path, 3, 'MuPoTS 3D prediction file'),
                            pred_2d_path, pred_3d_path)


def image_key(seq_num, frame_idx):
    """Prediction key of frame `frame_idx` (0-based) of sequence TS<seq_num> (`TS1_img_000000`,
    defined in `data/result_files.py`)."""
    return mupots_frame_key(seq_num, frame_idx)


# --------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------
def normalise_mode(eval_mode):
    """'all' / 'all_annotated' -> 'all'; 'matched' / 'only_matched' -> 'matched'."""
    mode = EVAL_MODES.get(str(eval_mode).lower())
    if mode is None:
        raise PoseNetError(f"evaluation mode {eval_mode!r}: use 'all' (all annotated people) "
                           "or 'matched' (only matched people)")
    return mode


def match_kit(preds, kit, where=('predictions', 'ground truth')):
    """Every valid ground-truth person of the kit with its matched prediction.

    `preds`: `{key: (pred_2d (P, 17, 2) px, pred_3d (P, 17, 3) mm)}` (`pair_predictions`; a
    frame without a key has no prediction); `kit`: `load_kit`'s list; `where` names the
    predictions and the kit in errors. Returns a dict over the N people, sequences in kit order:
    `gt_3d (N, 17, 3)` mm, `pred_3d (N, 17, 3)` mm (NaN when unmatched), `matched (N,)` bool,
    `occluded (N, 17)` bool, `seq (N,)` the sequence's position in `kit`; plus `unused_keys`,
    the number of prediction keys naming no frame of the kit.
    """
    gt_2d, gt_3d, occluded, pred_2d, pred_3d = [], [], [], [], []
    frame_seq, g_count, p_count = [], [], []
    used = 0
    for s, (num, frames) in enumerate(kit):
        for i, frame in enumerate(frames):
            pred = preds.get(image_key(num, i))
            used += pred is not None
            if len(frame['gt_2d']) == 0:
                continue
            gt_2d.append(frame['gt_2d'])
            gt_3d.append(frame['gt_3d'])
            occluded.append(frame['occluded'])
            frame_seq.append(s)
            g_count.append(len(frame['gt_2d']))
            p_count.append(0 if pred is None else len(pred[0]))
            if pred is not None:
                pred_2d.append(pred[0])
                pred_3d.append(pred[1])
    if preds and not used:
        raise PoseNetError(f"no prediction key of {where[0]} (e.g. '{next(iter(preds))}') "
                           f"names a frame of the ground truth in {where[1]}; keys must be "
                           "TS<n>_img_<frame:06d>")

    def cat(parts, shape, dtype=np.float64):
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(shape, dtype)
    gt_2d, gt_3d = cat(gt_2d, (0, JOINT_NUM, 2)), cat(gt_3d, (0, JOINT_NUM, 3))
    pred_2d, pred_3d = cat(pred_2d, (0, JOINT_NUM, 2)), cat(pred_3d, (0, JOINT_NUM, 3))
    frame_ids = np.arange(len(g_count))
    match = match_frames(gt_2d, np.repeat(frame_ids, g_count), pred_2d,
                         np.repeat(frame_ids, p_count))
    matched = match >= 0
    chosen = np.full(gt_3d.shape, np.nan)
    chosen[matched] = pred_3d[match[matched]]
    return {'gt_3d': gt_3d, 'pred_3d': chosen, 'matched': matched,
            'occluded': cat(occluded, (0, JOINT_NUM), bool),
            'seq': np.repeat(np.asarray(frame_seq, np.int64), g_count),
            'unused_keys': len(preds) - used}


def subset_masks(occluded):
    """`{'all', 'visible', 'occluded'}` -> `(N, 17)` bool joint masks."""
    occluded = np.asarray(occluded, dtype=bool)
    return {'all': np.ones_like(occluded), 'visible': ~occluded, 'occluded': occluded}


def subset_metrics(errors, occluded, hits_auc=None):
    """`{subset: group_metrics}` of people's errors `(N, 17)` mm and occlusion `(N, 17)`: the
    visible and occluded subsets with the kit's `not error > 150` rule."""
    masks = subset_masks(occluded)
    hits_auc = auc_hits(errors) if hits_auc is None else hits_auc
    return {s: group_metrics(errors, masks[s], s in INCLUSIVE_PCK_SUBSETS, hits_auc)
            for s in SUBSETS}


def _mean_over_sequences(per_seq):
    """Mean (ignoring NaN = no joints) of each pck/auc entry over the sequences' dicts."""
    out = {}
    for metric in ('pck', 'auc'):
        out[metric] = {}
        for name in per_seq[0][metric]:
            vals = np.array([s[metric][name] for s in per_seq], dtype=np.float64)
            out[metric][name] = float(np.nanmean(vals)) if np.any(~np.isnan(vals)) else np.nan
    out['num_people'] = int(sum(s['num_people'] for s in per_seq))
    out['num_joints'] = int(sum(s['num_joints'] for s in per_seq))
    return out


def metrics_of_matches(matches, kit, eval_mode='all', is_relative=True, out_dir=None,
                       verbose=True):
    """The metrics dict of `evaluate_mupots` from `match_kit`'s result on the same `kit`."""
    mode = normalise_mode(eval_mode)
    errors = person_errors(matches['pred_3d'], matches['gt_3d'], matches['matched'], is_relative)
    keep = matches['matched'] if mode == 'matched' else np.ones(len(errors), bool)
    errors, occluded, seq = errors[keep], matches['occluded'][keep], matches['seq'][keep]
    hits_auc = auc_hits(errors)
    per_seq = {f'TS{num}': subset_metrics(errors[seq == s], occluded[seq == s],
                                          hits_auc[seq == s])
               for s, (num, _) in enumerate(kit)}
    metrics = {'mode': mode, 'is_relative': bool(is_relative), 'sequences': per_seq,
               'mean': {s: _mean_over_sequences([v[s] for v in per_seq.values()])
                        for s in SUBSETS},
               'pooled': subset_metrics(errors, occluded, hits_auc), 'files': [],
               'unused_keys': matches['unused_keys']}
    metrics['pck'] = metrics['mean']['all']['pck']['total']
    metrics['auc'] = metrics['mean']['all']['auc']['total']
    metrics['pck_pooled'] = metrics['pooled']['all']['pck']['total']
    metrics['auc_pooled'] = metrics['pooled']['all']['auc']['total']
    if out_dir is not None:
        metrics['files'] = write_csvs(metrics, out_dir)
    if verbose:
        print(format_table(metrics))
    return metrics


def score(preds, kit, eval_mode='all', is_relative=True, out_dir=None, verbose=True,
          where=('predictions', 'ground truth')):
    """`evaluate_mupots` on paired predictions (`load_predictions` / `pair_predictions`) and a
    loaded kit (`load_kit`); `where` names the predictions and the kit folder in errors."""
    mode = normalise_mode(eval_mode)
    return metrics_of_matches(match_kit(preds, kit, where), kit, mode, is_relative, out_dir,
                              verbose)


def _kit_of(gt):
    """`(kit, label)` of a kit folder path or an already loaded kit (`load_kit`)."""
    if isinstance(gt, (str, os.PathLike)):
        return load_kit(os.fspath(gt)), os.fspath(gt)
    if not isinstance(gt, (list, tuple)) or not gt:
        raise PoseNetError("gt: expected the kit's MultiPersonTestSet folder or load_kit's "
                           f"non-empty list of (n, frames), got {type(gt).__name__}")
    return list(gt), 'the given kit'


def score_predictions(pred_2d, pred_3d, gt, eval_mode='all', is_relative=True, out_dir=None,
                      verbose=True):
    """Evaluate in-memory predictions, no `.mat` files needed (what `MuPoTS.evaluate` uses).

    `pred_2d`: `{image_key: (P, 17, 2) px}`, `pred_3d`: `{image_key: (P, 17, 3) camera mm}`,
    keys `TS<n>_img_<frame:06d>` (`image_key`), persons in the same order in both; checked as
    the exported files are (`pair_predictions`). `gt`: the kit's `MultiPersonTestSet` folder or
    `load_kit(folder)`. Other arguments and the returned dict as `evaluate_mupots`.
    """
    mode = normalise_mode(eval_mode)
    kit, label = _kit_of(gt)
    return score(pair_predictions(pred_2d, pred_3d), kit, mode, is_relative, out_dir, verbose,
                 where=('pred_2d', label))


def evaluate_all_variants(pred_2d, pred_3d, gt, out_dir=None, verbose=True):
    """The four variants of `score_predictions` (people matched once): returns
    `{'all_relative': metrics, 'matched_relative': ..., 'all_absolute': ...,
    'matched_absolute': ...}`; each variant's CSV files go into `out_dir` when given."""
    kit, label = _kit_of(gt)
    return _all_variants(pair_predictions(pred_2d, pred_3d), kit, ('pred_2d', label), out_dir,
                         verbose)


def _all_variants(preds, kit, where, out_dir, verbose):
    matches = match_kit(preds, kit, where)
    return {f"{mode}_{'relative' if rel else 'absolute'}":
            metrics_of_matches(matches, kit, mode, rel, out_dir, verbose)
            for mode, rel in VARIANTS}


def evaluate_mupots(pred_2d_path, pred_3d_path, gt_dir, eval_mode='all', is_relative=True,
                    out_dir=None, verbose=True):
    """Evaluate MuPoTS-3D predictions against the kit's ground truth.

    `pred_2d_path`, `pred_3d_path`: the two section-7 `.mat` files; `gt_dir`: the kit's
    `MultiPersonTestSet` folder; `eval_mode`: 'all' (all annotated people; unmatched count as
    wrong) or 'matched' (only matched people); `is_relative`: root-relative (True) or absolute
    camera-space (False) 3D. Prints a table when `verbose`, writes the sequence-wise CSV files
    into `out_dir` when given. Returns a dict:
      `pck`, `auc`: all-joint 3DPCK@150mm / AUC in percent, mean over sequences (papers' figure);
      `pck_pooled`, `auc_pooled`: the same pooled over all people;
      `sequences`: `{'TS<n>': {subset: group_metrics}}`, subset in 'all', 'visible', 'occluded';
      `mean`, `pooled`: `{subset: group_metrics-like}`; `mode`, `is_relative`, `files`;
      `unused_keys`: prediction keys naming no frame of the kit (ignored).
    """
    mode = normalise_mode(eval_mode)
    preds = load_predictions(pred_2d_path, pred_3d_path)
    return score(preds, load_kit(gt_dir), mode, is_relative, out_dir, verbose,
                 where=(pred_2d_path, gt_dir))


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------
def csv_prefix(metrics):
    """File name prefix naming mode and coordinates, e.g. `mupots_all_relative`."""
    return f"mupots_{metrics['mode']}_{'relative' if metrics['is_relative'] else 'absolute'}"


def _rows(metrics):
    """`(label, {subset: group_metrics})` rows: the sequences, then 'mean' and 'pooled'."""
    return list(metrics['sequences'].items()) + [('mean', metrics['mean']),
                                                  ('pooled', metrics['pooled'])]


def format_csv(metrics, subset='all'):
    """CSV text: one row per sequence, then the mean over sequences and the pooled total."""
    groups = [g for g, _ in JOINT_GROUPS_1BASED] + ['total']
    header = (['sequence', 'people', 'joints'] + [f'pck_{g}' for g in groups]
              + [f'auc_{g}' for g in groups])
    lines = [','.join(header)]
    for label, row in _rows(metrics):
        m = row[subset]
        vals = [m['pck'][g] for g in groups] + [m['auc'][g] for g in groups]
        lines.append(','.join([label, str(m['num_people']), str(m['num_joints'])]
                              + [f'{v:.4f}' for v in vals]))
    return '\n'.join(lines) + '\n'


def write_csvs(metrics, out_dir):
    """Write `<prefix>_multiperson_3dhp_evaluation_sequencewise[_visible|_occluded].csv`
    atomically into `out_dir`; returns their paths."""
    paths = []
    for subset in SUBSETS:
        suffix = '' if subset == 'all' else f'_{subset}'
        path = osp.join(out_dir, f'{csv_prefix(metrics)}_multiperson_3dhp_evaluation_'
                                 f'sequencewise{suffix}.csv')
        write_text(path, format_csv(metrics, subset))
        paths.append(path)
    return paths


def _fmt(value):
    return '   -  ' if value is None or np.isnan(value) else f'{value:6.2f}'


def format_table(metrics):
    """Human-readable table: per sequence 3DPCK/AUC (all, visible, occluded joints), then the
    joint-group 3DPCK of the mean over sequences and of the pooled total."""
    kind = 'relative' if metrics['is_relative'] else 'absolute'
    mode = 'all annotated' if metrics['mode'] == 'all' else 'only matched'
    lines = [f'MuPoTS-3D evaluation ({kind} 3D, {mode} people): 3DPCK@150mm / AUC in %',
             f"{'sequence':>9} {'people':>6} | {'PCK':>6} {'AUC':>6} | {'PCKvis':>6} "
             f"{'AUCvis':>6} | {'PCKocc':>6} {'AUCocc':>6}"]
    for label, src in _rows(metrics):
        cells = ' | '.join(f"{_fmt(src[s]['pck']['total'])} {_fmt(src[s]['auc']['total'])}"
                           for s in SUBSETS)
        lines.append(f"{label:>9} {src['all']['num_people']:>6} | {cells}")
    groups = [g for g, _ in JOINT_GROUPS_1BASED] + ['total']
    lines.append(f"{'3DPCK':>9} " + ' '.join(f'{g:>9}' for g in groups))
    for label in ('mean', 'pooled'):
        lines.append(f'{label:>9} ' + ' '.join(
            f"   {_fmt(metrics[label]['all']['pck'][g])}" for g in groups))
    if metrics.get('unused_keys'):
        lines.append(f"note: {metrics['unused_keys']} prediction key(s) name no frame of the "
                     "ground truth and were ignored")
    return '\n'.join(lines)


# --------------------------------------------------------------------------------------------
# helpers for the test driver and the command line
# --------------------------------------------------------------------------------------------
def find_kit_ground_truth(data_dir):
    """`(gt_dir, present)`: the kit's ground truth folder `<data_dir>/MuPoTS/data/
    MultiPersonTestSet` and whether it holds any `TS<n>/annot.mat`."""
    gt_dir = osp.join(data_dir, 'MuPoTS', 'data', 'MultiPersonTestSet')
    try:
        present = bool(list_kit_sequences(gt_dir))
    except PoseNetError:
        present = False
    return gt_dir, present


def evaluate_if_present(pose_2d, pose_3d, data_dir, out_dir, verbose=True):
    """`MuPoTS.evaluate`'s scoring, from memory: when the kit's ground truth is present under
    `data_dir`, evaluate all four variants of the exported predictions `pose_2d {key: (P, 17,
    2) px}`, `pose_3d {key: (P, 17, 3) mm}` and write their CSV files into `out_dir`.

    Returns None without ground truth, else `{'all_relative': metrics, 'matched_relative': ...,
    'all_absolute': ..., 'matched_absolute': ...}` (`evaluate_all_variants`).
    """
    gt_dir, present = find_kit_ground_truth(data_dir)
    if not present:
        if verbose:
            print(f'MuPoTS kit ground truth not found under {gt_dir}: skipping the 3DPCK '
                  'evaluation (put the kit\'s TS<n>/annot.mat and occlusion.mat there)')
        return None
    return evaluate_all_variants(pose_2d, pose_3d, gt_dir, out_dir, verbose)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='MuPoTS-3D 3DPCK / AUC of preds_2d_kpt_mupots.mat and '
                    'preds_3d_kpt_mupots.mat against the official kit ground truth.')
    parser.add_argument('--pred_dir', default=osp.join('output', 'result'),
                        help='folder with the two prediction .mat files (default output/result)')
    parser.add_argument('--gt_dir', default=DEFAULT_GT_DIR,
                        help='the kit\'s MultiPersonTestSet folder (default '
                             'data/MuPoTS/data/MultiPersonTestSet of this repository)')
    parser.add_argument('--mode', default='all', choices=['all', 'matched'],
                        help="'all': every annotated person (unmatched = wrong); "
                             "'matched': only matched people")
    parser.add_argument('--absolute', action='store_true',
                        help='absolute camera-space 3D instead of root-relative')
    parser.add_argument('--out_dir', default=None,
                        help='folder for the CSV files (default: --pred_dir)')
    return parser.parse_args(argv)


def main(argv=None):
    """Command line: evaluate, print the table, write the CSV files next to the predictions."""
    args = parse_args(argv)
    return evaluate_mupots(osp.join(args.pred_dir, PRED_2D_NAME),
                           osp.join(args.pred_dir, PRED_3D_NAME), args.gt_dir, args.mode,
                           not args.absolute, out_dir=args.out_dir or args.pred_dir)


if __name__ == '__main__':
    run_cli(main)
