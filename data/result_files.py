"""Result files of testing: names, image keys and the `.mat` export (docs/SPEC.md §6, §7).

* Human36M: `bbox_root_pose_human36m_output.json` (list of `{image_id, joint_cam (17, 3)
  root-relative mm, bbox, root_cam}`);
* RootNet, every test set: `bbox_root_<dataset>_output.json` (`data/detections.py`), the file
  PoseNet testing with `use_gt_info=False` and the demo read;
* MuPoTS / MSCOCO: `preds_2d_kpt_<mupots|coco>.mat` and `preds_3d_kpt_<mupots|coco>.mat`, one
  variable per image holding `(persons, 17, 2)` px / `(persons, 17, 3)` camera mm.
  **compat**: the variable names are the MATLAB scripts' image keys — MuPoTS `TS1_img_000000`
  for `TS1/img_000000.jpg` (frame numbers 0-based, 6 digits), COCO `coco_000000000139` for
  `000000000139.jpg`.
"""
import os.path as osp
import re

import numpy as np

from common.utils.errors import PoseNetError
from common.utils.file_io import savemat
from data.detections import bbox_root_name, write_bbox_root
from data.entries import check_preds, entries_root_cam, entries_to_cam, stack_entries

H36M_RESULT_NAME = 'bbox_root_pose_human36m_output.json'
_MUPOTS_KEY = re.compile(r'^TS(\d+)_img_(\d+)$')
_POSIX = osp.sep == '/' and not osp.altsep


def pred_mat_name(dim, dataset):
    """`preds_<2d|3d>_kpt_<dataset>.mat`, `dataset` 'mupots' or 'coco'."""
    return f'preds_{dim}_kpt_{dataset}.mat'


def image_stem(img_path):
    """File name of `img_path` without folder and extension (`osp.splitext(osp.basename())`;
    POSIX paths with string methods: the export calls it once per image)."""
    if not _POSIX:
        return osp.splitext(osp.basename(img_path))[0]
    name = img_path[img_path.rfind('/') + 1:]
    dot = name.rfind('.')
    return name[:dot] if dot > 0 and name[:dot].strip('.') else name


def mupots_frame_key(seq_num, frame_idx):
    """Key of frame `frame_idx` (0-based) of sequence TS<seq_num>: `TS1_img_000000`."""
    return f'TS{int(seq_num)}_img_{int(frame_idx):06d}'


def mupots_key(img_path):
    """Key of a MuPoTS image path `.../TS1/img_000000.jpg`: `<folder>_<stem>`
    (`osp.basename(osp.dirname(path))`; POSIX paths with string methods)."""
    if not _POSIX:
        return osp.basename(osp.dirname(img_path)) + '_' + image_stem(img_path)
    folder = img_path[:img_path.rfind('/') + 1].rstrip('/')
    return folder[folder.rfind('/') + 1:] + '_' + image_stem(img_path)


def parse_mupots_key(key):
    """`TS1_img_000042` -> `(1, 42)`; an error for anything else."""
    match = _MUPOTS_KEY.match(key)
    if match is None:
        raise PoseNetError(f"result key {key!r} is not a MuPoTS key like 'TS1_img_000000'")
    return int(match.group(1)), int(match.group(2))


def coco_key(img_path):
    """Key of a COCO image path `.../000000000139.jpg`: `coco_000000000139`."""
    return 'coco_' + image_stem(img_path)


def coco_key_stem(key):
    """`coco_000000000139` -> `000000000139`; an error for anything else."""
    if not key.startswith('coco_'):
        raise PoseNetError(f"result key {key!r} is not a COCO key like 'coco_000000000139'")
    return key[len('coco_'):]


def group_by_key(keys, *arrays):
    """For each of `arrays` (rows in the order of `keys`): `{key: its rows stacked}`, keys in
    order of first appearance, rows in data order. Returns one dict per array."""
    first = {}
    group = np.array([first.setdefault(k, len(first)) for k in keys], dtype=np.int64)
    order = None                                   # None: each key's rows are together already
    if np.any(group[1:] < group[:-1]):
        order = np.argsort(group, kind='stable')   # grouped, data order within a group
    bounds = np.cumsum(np.bincount(group, minlength=len(first))).tolist()
    spans = list(zip(first, [0] + bounds[:-1], bounds))
    out = []
    for rows in arrays:
        rows = np.asarray(rows) if order is None else np.asarray(rows)[order]
        out.append({key: rows[a:b] for key, a, b in spans})
    return out


def image_keys(img_paths, image_key):
    """`image_key(path)` of every path (computed once per distinct path)."""
    known = {p: image_key(p) for p in dict.fromkeys(img_paths)}
    return [known[p] for p in img_paths]


def export_pose_mats(db, preds, result_dir, dataset, image_key):
    """MuPoTS / MSCOCO `evaluate`: write `preds_{2d,3d}_kpt_<dataset>.mat` (docs/SPEC.md §7).

    `db`: the test set (`data`, `joint_num`, `eval_joint`, `heatmap`); `preds (N, db.joint_num,
    3)` heatmap space in data order; the `db.eval_joint` joints are mapped to image px and
    camera mm with each entry's box and root depth, grouped under `image_key(img_path)` and
    saved atomically: 2D `(persons, 17, 2)` px, 3D `(persons, 17, 3)` mm.
    Returns `(summary, pose_2d, pose_3d)`: `{'num_samples', 'num_images', 'pred_2d_path',
    'pred_3d_path'}` and the two `{key: array}` dicts that were written.
    """
    name = type(db).__name__
    print(f'{name}: evaluation start...')
    preds = check_preds(preds, len(db.data), (db.joint_num, 3), f'{name}.evaluate')
    joints = list(db.eval_joint)
    if joints == list(range(len(joints))):
        joints = slice(len(joints))            # the first joints: a view, no copy
    pixel, cam = entries_to_cam(db.data, preds[:, joints], *db.heatmap)
    keys = image_keys([e['img_path'] for e in db.data], image_key)
    grouped = group_by_key(keys, pixel[..., :2], cam)
    summary = {'num_samples': len(db.data), 'num_images': len(grouped[0])}
    for dim, values in zip(('2d', '3d'), grouped):
        path = osp.join(result_dir, pred_mat_name(dim, dataset))
        savemat(path, values)
        summary[f'pred_{dim}_path'] = path
        print(f'{name}: test result saved at {path}')
    return summary, grouped[0], grouped[1]


def export_roots(db, preds, result_dir, with_score):
    """RootNet `evaluate_root`: outputs `(N, 3)` (x, y output space, depth mm, data order) to
    camera-space roots `(N, 3)` mm, written as `bbox_root_<dataset>_output.json` with each
    entry's processed box (and `score` when `with_score`). Returns `(root_cam, path)`."""
    name = type(db).__name__
    print(f'{name}: RootNet evaluation start...')
    preds = check_preds(preds, len(db.data), (3,), f'{name}.evaluate_root',
                        'one root per test sample')
    root_cam = entries_root_cam(db.data, preds, db.heatmap[0])
    path = osp.join(result_dir, bbox_root_name(name))
    write_bbox_root(path, [e['img_id'] for e in db.data], stack_entries(db.data, 'bbox', (4,)),
                    root_cam, [e.get('score', 1.0) for e in db.data] if with_score else None)
    print(f'{name}: RootNet result saved at {path}')
    return root_cam, path
