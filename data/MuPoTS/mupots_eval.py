"""MuPoTS-3D evaluation in Python: the official kit's 3DPCK and AUC without MATLAB.

Inputs
  * predictions: `preds_2d_kpt_mupots.mat` and `preds_3d_kpt_mupots.mat` (SPEC section 7), one
    variable per image key `TS<n>_img_<frame:06d>` (frame 0-based) holding `(persons, 17, 2)`
    pixels and `(persons, 17, 3)` camera millimetres, persons in the same order in both files;
  * the kit's ground truth folder `MultiPersonTestSet/` with `TS<n>/annot.mat` (cell array
    `annotations`, frames x people, of structs `annot2` 2x17 px, `annot3` / `univ_annot3` 3x17 mm,
    `isValidFrame`) and `TS<n>/occlusion.mat` (cell array `occlusion_labels`, frames x people, of
    1x17 flags, 1 = occluded).

Procedure (the kit's), per frame of every sequence:
  1. the ground-truth people are the annotated people whose `isValidFrame` is non-zero;
  2. identity matching (`match_people`): each ground-truth person in turn takes the not yet
     matched prediction with the most joints 2..14 (1-based) visible in both whose |dx| and |dy|
     are both below 40 px (a joint at exactly (0, 0) is invisible); the best positive score
     wins, ties go to the lowest prediction index;
  3. the 3D ground truth is `univ_annot3`; in relative mode joint 15 (pelvis) is subtracted from
     prediction and ground truth;
  4. matched predictions get the ground truth's bone lengths (`rescale_bones`), walking the
     skeleton outwards from the pelvis;
  5. per-joint Euclidean error; an unmatched person has every joint wrong in mode "all"
     (all annotated people) and is left out in mode "matched" (only matched people).
Metrics over the 14 joints 1..14 (head-top to ankles): a joint is correct when its error is
strictly below the threshold; 3DPCK = 100 x fraction correct at 150 mm; AUC = 100 x the mean
fraction correct over the 31 thresholds 0, 5, ..., 150 mm. Reported per joint group and in total
(group values weighted by joint count = the pooled fraction), per sequence, as the mean over
sequences (the figure papers report) and pooled over all people, for all joints and restricted to
the visible and to the occluded joints.

Internally joints are rows: a pose is `(17, 2|3)`, never the kit's `3 x 17`.

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
EVAL_MODES = {'all': 'all', 'all_annotated': 'all', 'matched': 'matched',
              'only_matched': 'matched'}
PRED_2D_NAME = 'preds_2d_kpt_mupots.mat'
PRED_3D_NAME = 'preds_3d_kpt_mupots.mat'
_SEQ_RE = re.compile(r'^TS(\d+)$')
DEFAULT_GT_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'MultiPersonTestSet')


# --------------------------------------------------------------------------------------------
# matching, rescaling, errors (pure numpy)
# --------------------------------------------------------------------------------------------
def visible_2d(pose_2d):
    """`(..., 17, 2)` px -> `(..., 17)` bool: a joint at exactly (0, 0) is invisible."""
    pose_2d = np.asarray(pose_2d, dtype=np.float64)
    return ~np.all(pose_2d == 0, axis=-1)


def match_scores(gt_2d, pred_2d, gt_vis=None, pred_vis=None, threshold=MATCH_THRESHOLD_PX,
                 joints_1based=MATCH_JOINTS_1BASED):
    """Matching score of every (ground truth, prediction) pair: `(G, P)` int.

    `gt_2d (G, 17, 2)`, `pred_2d (P, 17, 2)` px; `gt_vis (G, 17)`, `pred_vis (P, 17)` bool
    (default: `visible_2d`). Score = number of the given joints visible in both whose |dx| and
    |dy| are both strictly below `threshold` px.
    """
    gt_2d = np.asarray(gt_2d, dtype=np.float64).reshape(-1, JOINT_NUM, 2)
    pred_2d = np.asarray(pred_2d, dtype=np.float64).reshape(-1, JOINT_NUM, 2)
    gt_vis = visible_2d(gt_2d) if gt_vis is None else np.asarray(gt_vis, dtype=bool)
    pred_vis = visible_2d(pred_2d) if pred_vis is None else np.asarray(pred_vis, dtype=bool)
    idx = np.asarray(joints_1based) - 1
    diff = np.abs(gt_2d[:, None, idx] - pred_2d[None, :, idx])             # (G, P, j, 2)
    close = np.all(diff < threshold, axis=-1)                              # (G, P, j)
    both = gt_vis[:, None, idx] & pred_vis[None, :, idx]
    return np.sum(close & both, axis=-1)


def match_people(gt_2d, pred_2d, gt_vis=None, pred_vis=None, threshold=MATCH_THRESHOLD_PX):
    """Prediction index matched to each ground-truth person, `(G,)` int, -1 when unmatched.

    Ground-truth people are served in order; each takes, among the predictions not yet taken,
    the one with the highest positive `match_scores` (ties: lowest index).
    """
    scores = match_scores(gt_2d, pred_2d, gt_vis, pred_vis, threshold)
    matching = np.full(scores.shape[0], -1, dtype=np.int64)
    taken = np.zeros(scores.shape[1], dtype=bool)
    for g in range(scores.shape[0]):
        row = np.where(taken, -1, scores[g])
        if row.size and row.max() > 0:
            best = int(np.argmax(row))          # first maximum = lowest index
            matching[g] = best
            taken[best] = True
    return matching


def rescale_bones(pred_3d, gt_3d, parents_1based=PARENTS_1BASED, order_1based=BONE_ORDER_1BASED):
    """Give predicted poses the ground truth's bone lengths; returns `(N, 17, 3)` mm.

    `pred_3d`, `gt_3d`: `(N, 17, 3)` or `(17, 3)` mm. The root keeps its position; walking
    `order_1based`, each joint = its already rescaled parent + the original predicted bone
    direction x the ground-truth bone length. A zero-length predicted bone stays zero (the
    joint sits on its parent).
    """
    pred = np.asarray(pred_3d, dtype=np.float64)
    gt = np.asarray(gt_3d, dtype=np.float64)
    single = pred.ndim == 2
    pred = pred.reshape(-1, JOINT_NUM, 3)
    gt = gt.reshape(-1, JOINT_NUM, 3)
    out = pred.copy()
    for joint in order_1based:
        j, p = joint - 1, parents_1based[joint - 1] - 1
        bone = pred[:, j] - pred[:, p]
        length = np.linalg.norm(bone, axis=-1, keepdims=True)
        gt_length = np.linalg.norm(gt[:, j] - gt[:, p], axis=-1, keepdims=True)
        scale = np.divide(gt_length, length, out=np.zeros_like(length), where=length > 0)
        out[:, j] = out[:, p] + bone * scale
    return out[0] if single else out


def root_relative(pose_3d, root_1based=ROOT_1BASED):
    """`(..., 17, 3)` mm minus its root joint (pelvis)."""
    pose_3d = np.asarray(pose_3d, dtype=np.float64)
    return pose_3d - pose_3d[..., root_1based - 1:root_1based, :]


def joint_errors(pred_3d, gt_3d):
    """Per-joint Euclidean error `(N, 17)` mm of `(N, 17, 3)` poses."""
    return np.linalg.norm(np.asarray(pred_3d, np.float64) - np.asarray(gt_3d, np.float64), axis=-1)


def fraction_correct(errors, thresholds):
    """Fraction of `errors (n,)` strictly below each threshold, `(T,)`; NaN when n == 0."""
    errors = np.asarray(errors, dtype=np.float64).reshape(-1)
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if errors.size == 0:
        return np.full(thresholds.shape, np.nan)
    return np.mean(errors[None, :] < thresholds[:, None], axis=1)


def pck_and_auc(errors):
    """3DPCK at 150 mm and AUC over 0:5:150 mm, both in percent, of `errors (n,)` mm."""
    pck = 100. * fraction_correct(errors, [PCK_THRESHOLD_MM])[0]
    auc = 100. * np.mean(fraction_correct(errors, AUC_THRESHOLDS_MM))
    return float(pck), float(auc)


def group_metrics(errors, mask):
    """Per joint group and total 3DPCK / AUC of people's joints.

    `errors`: `(N, 17)` mm (inf = wrong); `mask`: `(N, 17)` bool, the joints that count.
    Returns `{'pck': {group: %, ..., 'total': %}, 'auc': {...}, 'num_people', 'num_joints'}`;
    the total pools the 14 evaluation joints (the groups weighted by their joint counts).
    """
    errors = np.asarray(errors, dtype=np.float64).reshape(-1, JOINT_NUM)
    mask = np.asarray(mask, dtype=bool).reshape(-1, JOINT_NUM)
    pck, auc = {}, {}
    groups = JOINT_GROUPS_1BASED + (('total', EVAL_JOINTS_1BASED),)
    for name, joints in groups:
        idx = np.asarray(joints) - 1
        selected = errors[:, idx][mask[:, idx]]
        pck[name], auc[name] = pck_and_auc(selected)
    eval_idx = np.asarray(EVAL_JOINTS_1BASED) - 1
    return {'pck': pck, 'auc': auc, 'num_people': int(errors.shape[0]),
            'num_joints': int(mask[:, eval_idx].sum())}


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


def load_predictions(pred_2d_path, pred_3d_path):
    """Predictions per image key: `{key: (pred_2d (P, 17, 2) px, pred_3d (P, 17, 3) mm)}`."""
    mat2d = _loadmat(pred_2d_path, 'MuPoTS 2D prediction file')
    mat3d = _loadmat(pred_3d_path, 'MuPoTS 3D prediction file')
    keys2d = {k for k in mat2d if not k.startswith('__')}
    keys3d = {k for k in mat3d if not k.startswith('__')}
    if keys2d != keys3d:
        odd = sorted(keys2d ^ keys3d)[0]
        raise PoseNetError(f"{pred_2d_path} and {pred_3d_path} hold different images (e.g. "
                           f"'{odd}'); write both with the same MuPoTS evaluate run")
    preds = {}
    for key in keys2d:
        p2 = np.asarray(mat2d[key], dtype=np.float64)
        p3 = np.asarray(mat3d[key], dtype=np.float64)
        if p2.size % (JOINT_NUM * 2) or p3.size % (JOINT_NUM * 3):
            raise PoseNetError(f"{pred_2d_path}: '{key}' must be (persons, 17, 2) and "
                               f"(persons, 17, 3) in the 3D file; got {p2.shape} and {p3.shape}")
        p2 = p2.reshape(-1, JOINT_NUM, 2)
        p3 = p3.reshape(-1, JOINT_NUM, 3)
        if len(p2) != len(p3):
            raise PoseNetError(f"'{key}': {len(p2)} persons in {pred_2d_path} but {len(p3)} "
                               f"in {pred_3d_path}")
        preds[key] = (p2, p3)
    return preds


def image_key(seq_num, frame_idx):
    """Prediction key of frame `frame_idx` (0-based) of sequence TS<seq_num>."""
    return f'TS{seq_num}_img_{frame_idx:06d}'


# --------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------
def evaluate_sequence(frames, preds, seq_num, eval_mode='all', is_relative=True):
    """Per-joint errors of one sequence's evaluated people.

    `frames`: from `load_kit_sequence`; `preds`: from `load_predictions`. Returns
    `(errors (N, 17) mm, occluded (N, 17) bool, matched (N,) bool)` over the people evaluated
    (in mode "matched" only the matched ones); unmatched people's errors are inf.
    """
    empty2, empty3 = np.zeros((0, JOINT_NUM, 2)), np.zeros((0, JOINT_NUM, 3))
    gts, pred_sel, occluded, matched = [], [], [], []
    for i, frame in enumerate(frames):
        if len(frame['gt_2d']) == 0:
            continue
        p2, p3 = preds.get(image_key(seq_num, i), (empty2, empty3))
        match = match_people(frame['gt_2d'], p2)
        keep = match >= 0 if eval_mode == 'matched' else np.ones(len(match), bool)
        chosen = np.full((len(match), JOINT_NUM, 3), np.nan)
        chosen[match >= 0] = p3[match[match >= 0]]
        gts.append(frame['gt_3d'][keep])
        pred_sel.append(chosen[keep])
        occluded.append(frame['occluded'][keep])
        matched.append(match[keep] >= 0)
    if not gts:
        return np.zeros((0, JOINT_NUM)), np.zeros((0, JOINT_NUM), bool), np.zeros(0, bool)
    gt = np.concatenate(gts)
    pred = np.concatenate(pred_sel)
    matched = np.concatenate(matched)
    if is_relative:
        gt, pred = root_relative(gt), root_relative(pred)
    errors = np.full((len(gt), JOINT_NUM), np.inf)
    if matched.any():
        errors[matched] = joint_errors(rescale_bones(pred[matched], gt[matched]), gt[matched])
    return errors, np.concatenate(occluded), matched


def subset_masks(occluded):
    """`{'all', 'visible', 'occluded'}` -> `(N, 17)` bool joint masks."""
    occluded = np.asarray(occluded, dtype=bool)
    return {'all': np.ones_like(occluded), 'visible': ~occluded, 'occluded': occluded}


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


def normalise_mode(eval_mode):
    """'all' / 'all_annotated' -> 'all'; 'matched' / 'only_matched' -> 'matched'."""
    mode = EVAL_MODES.get(str(eval_mode).lower())
    if mode is None:
        raise PoseNetError(f"evaluation mode {eval_mode!r}: use 'all' (all annotated people) "
                           "or 'matched' (only matched people)")
    return mode


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
      `mean`, `pooled`: `{subset: group_metrics-like}`; `mode`, `is_relative`, `files`.
    """
    mode = normalise_mode(eval_mode)
    preds = load_predictions(pred_2d_path, pred_3d_path)
    return score(preds, load_kit(gt_dir), mode, is_relative, out_dir, verbose,
                 where=(pred_2d_path, gt_dir))


def load_kit(gt_dir):
    """`[(n, frames), ...]`: every `TS<n>` sequence of the kit folder (`load_kit_sequence`)."""
    return [(num, load_kit_sequence(folder)) for num, folder in list_kit_sequences(gt_dir)]


def score(preds, kit, eval_mode='all', is_relative=True, out_dir=None, verbose=True,
          where=('predictions', 'ground truth')):
    """`evaluate_mupots` on loaded predictions (`load_predictions`) and kit (`load_kit`);
    `where` names the prediction file and the kit folder in errors."""
    mode = normalise_mode(eval_mode)
    if preds and not any(image_key(num, i) in preds for num, frames in kit
                         for i in range(len(frames))):
        raise PoseNetError(f"no prediction key of {where[0]} (e.g. '{sorted(preds)[0]}') names "
                           f"a frame of the ground truth in {where[1]}; keys must be "
                           "TS<n>_img_<frame:06d>")
    per_seq, pooled_err, pooled_occ = {}, [], []
    for num, frames in kit:
        errors, occluded, _ = evaluate_sequence(frames, preds, num, mode, is_relative)
        masks = subset_masks(occluded)
        per_seq[f'TS{num}'] = {s: group_metrics(errors, masks[s]) for s in SUBSETS}
        pooled_err.append(errors)
        pooled_occ.append(occluded)
    errors, occluded = np.concatenate(pooled_err), np.concatenate(pooled_occ)
    masks = subset_masks(occluded)
    metrics = {'mode': mode, 'is_relative': bool(is_relative), 'sequences': per_seq,
               'mean': {s: _mean_over_sequences([v[s] for v in per_seq.values()])
                        for s in SUBSETS},
               'pooled': {s: group_metrics(errors, masks[s]) for s in SUBSETS}, 'files': []}
    metrics['pck'] = metrics['mean']['all']['pck']['total']
    metrics['auc'] = metrics['mean']['all']['auc']['total']
    metrics['pck_pooled'] = metrics['pooled']['all']['pck']['total']
    metrics['auc_pooled'] = metrics['pooled']['all']['auc']['total']
    if out_dir is not None:
        metrics['files'] = write_csvs(metrics, out_dir)
    if verbose:
        print(format_table(metrics))
    return metrics


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
    'all_absolute': ..., 'matched_absolute': ...}`.
    """
    gt_dir, present = find_kit_ground_truth(data_dir)
    if not present:
        if verbose:
            print(f'MuPoTS kit ground truth not found under {gt_dir}: skipping the 3DPCK '
                  'evaluation (put the kit\'s TS<n>/annot.mat and occlusion.mat there)')
        return None
    preds = {key: (pose_2d[key], pose_3d[key]) for key in pose_2d}
    kit = load_kit(gt_dir)
    results = {}
    for is_relative in (True, False):
        for mode in ('all', 'matched'):
            key = f"{mode}_{'relative' if is_relative else 'absolute'}"
            results[key] = score(preds, kit, mode, is_relative, out_dir=out_dir,
                                 verbose=verbose, where=('the MuPoTS predictions', gt_dir))
    return results


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
