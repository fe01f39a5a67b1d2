"""MuPoTS-3D evaluation, predictions: the one reader of the exported `.mat` files
(docs/SPEC.md §7; also used by `vis/view_results.py`) and one set of checks for predictions
from files or from memory.
"""
import os.path as osp

import numpy as np

from common.utils.errors import PoseNetError
from data.MuPoTS.mupots_kit import read_mat
from data.MuPoTS.mupots_matching import JOINT_NUM
from data.result_files import mupots_frame_key, pred_mat_name


PRED_2D_NAME = pred_mat_name('2d', 'mupots')
PRED_3D_NAME = pred_mat_name('3d', 'mupots')


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
    data = read_mat(path, what)
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
