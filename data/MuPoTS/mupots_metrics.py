"""MuPoTS-3D evaluation, metrics: 3DPCK at 150 mm and AUC over 0:5:150 mm of per-joint errors,
per joint group, joint subset (all / visible / occluded) and over sequences (the rules are
described in `mupots_eval.py`).
"""
import numpy as np

from data.MuPoTS.mupots_matching import JOINT_NUM


PCK_THRESHOLD_MM = 150.
AUC_THRESHOLDS_MM = np.arange(0., 151., 5.)    # 0, 5, ..., 150: 31 thresholds
EVAL_JOINTS_1BASED = tuple(range(1, 15))       # head-top .. left ankle
JOINT_GROUPS_1BASED = (('head', (1,)), ('neck', (2,)), ('shoulders', (3, 6)),
                       ('elbows', (4, 7)), ('wrists', (5, 8)), ('hips', (9, 12)),
                       ('knees', (10, 13)), ('ankles', (11, 14)))
SUBSETS = ('all', 'visible', 'occluded')
# visible / occluded tables: correct when not `error > 150` (exactly 150 mm is correct there)
INCLUSIVE_PCK_SUBSETS = ('visible', 'occluded')


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


def mean_over_sequences(per_seq):
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
