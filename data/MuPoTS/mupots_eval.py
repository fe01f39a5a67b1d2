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

Python API (this module: scoring and the command line): `score_predictions` /
`evaluate_all_variants` score in-memory predictions, `evaluate_mupots` the exported files,
`evaluate_if_present` the files of a result folder. The jobs it uses, one module each:
`mupots_matching.py` (skeleton, identity matching, bone rescaling, errors), `mupots_metrics.py`
(3DPCK / AUC per group and subset), `mupots_kit.py` (reading the kit), `mupots_predictions.py`
(`read_pred_mat`, the one reader of exported files, and the checks of predictions),
`mupots_tables.py` (printed table, CSV files).

    python data/MuPoTS/mupots_eval.py --pred_dir output/result \
        --gt_dir data/MuPoTS/data/MultiPersonTestSet [--mode all|matched] [--absolute]
"""
import argparse
import os
import os.path as osp

import numpy as np

from common.utils.cli import run_cli
from common.utils.errors import PoseNetError
from data.MuPoTS.mupots_kit import find_kit_ground_truth, load_kit
from data.MuPoTS.mupots_matching import JOINT_NUM, match_frames, person_errors
from data.MuPoTS.mupots_metrics import SUBSETS, auc_hits, mean_over_sequences, subset_metrics
from data.MuPoTS.mupots_predictions import (PRED_2D_NAME, PRED_3D_NAME, image_key,
                                            load_predictions, pair_predictions)
from data.MuPoTS.mupots_tables import format_table, write_csvs

EVAL_MODES = {'all': 'all', 'all_annotated': 'all', 'matched': 'matched',
              'only_matched': 'matched'}
VARIANTS = (('all', True), ('matched', True), ('all', False), ('matched', False))
DEFAULT_GT_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'MultiPersonTestSet')


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
               'mean': {s: mean_over_sequences([v[s] for v in per_seq.values()])
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
