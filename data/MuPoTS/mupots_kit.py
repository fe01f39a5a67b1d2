"""MuPoTS-3D evaluation, ground truth: reading MATLAB files and the official kit's
`MultiPersonTestSet/TS<n>/annot.mat` and `occlusion.mat`.
"""
import os
import os.path as osp
import re

import numpy as np

from common.utils.errors import PoseNetError
from data.MuPoTS.mupots_matching import JOINT_NUM


_SEQ_RE = re.compile(r'^TS(\d+)$')


def read_mat(path, what):
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
    annot_mat = read_mat(annot_path, 'MuPoTS kit annotation file')
    occ_mat = read_mat(occ_path, 'MuPoTS kit occlusion file')
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


def find_kit_ground_truth(data_dir):
    """`(gt_dir, present)`: the kit's ground truth folder `<data_dir>/MuPoTS/data/
    MultiPersonTestSet` and whether it holds any `TS<n>/annot.mat`."""
    gt_dir = osp.join(data_dir, 'MuPoTS', 'data', 'MultiPersonTestSet')
    try:
        present = bool(list_kit_sequences(gt_dir))
    except PoseNetError:
        present = False
    return gt_dir, present
