"""What the five dataset classes share (SPEC sections 6 and 7).

* joint sets of every dataset (names, flip pairs, skeletons; **compat**: order matters);
* locating the dataset files under `cfg.data_dir` with one clear error when they are missing;
* reading COCO-style annotation JSON with pycocotools, and the `bbox_root` files of
  DetectNet/RootNet;
* the mapping between network output ("heatmap space") and camera space, both ways, batched;
* root-relative 3D errors with optional rigid / scaled Procrustes alignment;
* the `.mat` export of MuPoTS and MSCOCO predictions, grouped by image.

Units: camera coordinates in mm, image coordinates in pixels; heatmap space is
`x in [0, W_out)`, `y in [0, H_out)`, `z in [0, depth_dim)` with `bbox_3d_shape[0]` mm of
relative depth spread over the `depth_dim` bins.
"""
import contextlib
import io
import json
import os.path as osp

import numpy as np

from common.utils.errors import PoseNetError
from common.utils.file_io import savemat
from common.utils.pose_utils import (cam2pixel, heatmap_to_pixel, pixel2cam, process_bbox,
                                     rigid_align)
from main.config import cfg

README_HINT = "see README.md, section 'Datasets'"

# -- joint sets ---------------------------------------------------------------------------------
H36M_JOINTS = ('Pelvis', 'R_Hip', 'R_Knee', 'R_Ankle', 'L_Hip', 'L_Knee', 'L_Ankle', 'Torso',
               'Neck', 'Nose', 'Head', 'L_Shoulder', 'L_Elbow', 'L_Wrist', 'R_Shoulder',
               'R_Elbow', 'R_Wrist', 'Thorax')
H36M_FLIP_PAIRS = ((1, 4), (2, 5), (3, 6), (14, 11), (15, 12), (16, 13))
H36M_SKELETON = ((0, 7), (7, 8), (8, 9), (9, 10), (8, 11), (11, 12), (12, 13), (8, 14), (14, 15),
                 (15, 16), (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6))
# action_idx 2..16 -> H36M_ACTIONS[action_idx - 2]
H36M_ACTIONS = ('Directions', 'Discussion', 'Eating', 'Greeting', 'Phoning', 'Posing',
                'Purchases', 'Sitting', 'SittingDown', 'Smoking', 'Photo', 'Waiting', 'Walking',
                'WalkDog', 'WalkTogether')

MPII_JOINTS = ('R_Ankle', 'R_Knee', 'R_Hip', 'L_Hip', 'L_Knee', 'L_Ankle', 'Pelvis', 'Thorax',
               'Neck', 'Head', 'R_Wrist', 'R_Elbow', 'R_Shoulder', 'L_Shoulder', 'L_Elbow',
               'L_Wrist')
MPII_FLIP_PAIRS = ((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13))
MPII_SKELETON = ((0, 1), (1, 2), (2, 6), (7, 12), (12, 11), (11, 10), (5, 4), (4, 3), (3, 6),
                 (7, 13), (13, 14), (14, 15), (6, 7), (7, 8), (8, 9))

# COCO's 17 keypoints, then Thorax and Pelvis added by the loader
COCO_JOINTS = ('Nose', 'L_Eye', 'R_Eye', 'L_Ear', 'R_Ear', 'L_Shoulder', 'R_Shoulder',
               'L_Elbow', 'R_Elbow', 'L_Wrist', 'R_Wrist', 'L_Hip', 'R_Hip', 'L_Knee', 'R_Knee',
               'L_Ankle', 'R_Ankle', 'Thorax', 'Pelvis')
COCO_KEYPOINT_NUM = 17
COCO_FLIP_PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
COCO_SKELETON = ((1, 2), (0, 1), (0, 2), (2, 4), (1, 3), (6, 8), (8, 10), (5, 7), (7, 9),
                 (12, 14), (14, 16), (11, 13), (13, 15), (5, 6), (11, 12))

MUCO_JOINTS = ('Head_top', 'Thorax', 'R_Shoulder', 'R_Elbow', 'R_Wrist', 'L_Shoulder', 'L_Elbow',
               'L_Wrist', 'R_Hip', 'R_Knee', 'R_Ankle', 'L_Hip', 'L_Knee', 'L_Ankle', 'Pelvis',
               'Spine', 'Head', 'R_Hand', 'L_Hand', 'R_Toe', 'L_Toe')
MUCO_FLIP_PAIRS = ((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (17, 18), (19, 20))
MUCO_SKELETON = ((0, 16), (16, 1), (1, 15), (15, 14), (14, 8), (14, 11), (8, 9), (9, 10),
                 (10, 19), (11, 12), (12, 13), (13, 20), (1, 2), (2, 3), (3, 4), (4, 17), (1, 5),
                 (5, 6), (6, 7), (7, 18))

# MuPoTS-3D: the first 17 of MuCo's joints (what the kit evaluates)
MUPOTS_JOINTS = MUCO_JOINTS[:17]
MUPOTS_FLIP_PAIRS = MUCO_FLIP_PAIRS[:6]
MUPOTS_SKELETON = ((0, 16), (16, 1), (1, 15), (15, 14), (14, 8), (14, 11), (8, 9), (9, 10),
                   (11, 12), (12, 13), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7))


class MuCoOutputJoints:
    """Joint attributes of a test set evaluated with a MuCo-trained model (MuPoTS, MSCOCO test).

    The network outputs MuCo's 21 joints (`joint_num`, `joints_name`); the first 17 (the MuPoTS
    set: `original_joint_num`, `original_joints_name`, `eval_joint`) are evaluated/exported.
    """
    joint_num = len(MUCO_JOINTS)
    joints_name = MUCO_JOINTS
    original_joint_num = len(MUPOTS_JOINTS)
    original_joints_name = MUPOTS_JOINTS
    eval_joint = tuple(range(len(MUPOTS_JOINTS)))
    flip_pairs = MUPOTS_FLIP_PAIRS
    skeleton = MUPOTS_SKELETON
    root_idx = MUCO_JOINTS.index('Pelvis')


# -- files ----------------------------------------------------------------------------------------
def missing_error(path, what):
    """The one error for a missing dataset folder or file: names it and where to read more."""
    return PoseNetError(
        f"{what} not found: {path}. Put the dataset under cfg.data_dir ({cfg.data_dir}) as "
        f"described in README.md, section 'Datasets' (or generate a synthetic one with "
        f"`python tool/synthetic_data.py --out <data_dir>`)")


def check_split(name, data_split, allowed):
    """Raise PoseNetError unless `data_split` is one of `allowed` for dataset `name`."""
    if data_split not in allowed:
        raise PoseNetError(f"{name} has no '{data_split}' split here; use "
                           f"{' or '.join(repr(s) for s in allowed)}")


def dataset_dir(name):
    """`<cfg.data_dir>/<name>`, read now (not at import); error when the folder is missing."""
    path = osp.join(cfg.data_dir, name)
    if not osp.isdir(path):
        raise missing_error(path, f"{name} dataset folder")
    return path


def require_file(path, what):
    """`path` itself when it is a file, else the missing-data error."""
    if not osp.isfile(path):
        raise missing_error(path, what)
    return path


def load_json(path, what):
    """Parsed JSON of `path` (must exist; a broken file is a clear error too)."""
    require_file(path, what)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise PoseNetError(f"{what} {path} cannot be read as JSON ({exc}); re-download or "
                           f"regenerate it ({README_HINT})") from None


def coco_from_dict(dataset):
    """A pycocotools `COCO` index over an already parsed annotation dict (printing nothing)."""
    from pycocotools.coco import COCO
    db = COCO()
    db.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        db.createIndex()
    return db


def load_coco(path, what):
    """pycocotools `COCO` of a COCO-style annotation file `path`, with clear errors."""
    dataset = load_json(path, what)
    if not isinstance(dataset, dict) or 'images' not in dataset or 'annotations' not in dataset:
        raise PoseNetError(f"{what} {path} is not a COCO-style annotation file (it needs "
                           f"'images' and 'annotations'; {README_HINT})")
    return coco_from_dict(dataset)


def merge_coco(datasets):
    """One `COCO` index over several annotation dicts (their lists concatenated, key by key)."""
    merged = {}
    for dataset in datasets:
        for key, value in dataset.items():
            if isinstance(value, list):
                merged.setdefault(key, []).extend(value)
            else:
                merged.setdefault(key, value)
    merged.setdefault('images', [])
    merged.setdefault('annotations', [])
    return coco_from_dict(merged)


def load_bbox_root(path):
    """Records of a DetectNet/RootNet output file (list of `{image_id, bbox, root_cam}`).

    Returns a list of dicts `{'image_id', 'bbox' (4,) px (already processed),
    'root_cam' (3,) mm}` in file order.
    """
    records = load_json(path, 'bounding box + root file')
    out = []
    for i, rec in enumerate(records if isinstance(records, list) else [None]):
        if not isinstance(rec, dict) or not {'image_id', 'bbox', 'root_cam'} <= set(rec):
            raise PoseNetError(f"{path}: record {i} is not {{image_id, bbox, root_cam}}; it must "
                               f"be the DetectNet/RootNet output list ({README_HINT})")
        out.append({'image_id': rec['image_id'],
                    'bbox': np.asarray(rec['bbox'], dtype=np.float64).reshape(4),
                    'root_cam': np.asarray(rec['root_cam'], dtype=np.float64).reshape(3)})
    return out


# -- entries --------------------------------------------------------------------------------------
def entry_3d(img_path, bbox, joint_cam, joint_xy, root_idx, f, c, **extra):
    """A data entry of a 3D set from camera joints `(J, 3)` mm and their pixels `(J, 2)`.

    `joint_img = [x_px, y_px, Z - Z_root]`, `joint_vis` ones, `root_cam = joint_cam[root_idx]`.
    """
    joint_cam = np.asarray(joint_cam, dtype=np.float64)
    root_cam = joint_cam[root_idx].copy()
    joint_img = np.concatenate([np.asarray(joint_xy, dtype=np.float64)[:, :2],
                                joint_cam[:, 2:] - root_cam[2]], axis=1)
    entry = {'img_path': img_path, 'bbox': bbox, 'joint_img': joint_img, 'joint_cam': joint_cam,
             'joint_vis': np.ones((len(joint_cam), 1)), 'root_cam': root_cam,
             'f': np.asarray(f, dtype=np.float64).reshape(2),
             'c': np.asarray(c, dtype=np.float64).reshape(2)}
    entry.update(extra)
    return entry


def entry_2d(img_path, bbox, keypoints, **extra):
    """A data entry of a 2D set from `(J, 3)` `[x_px, y_px, visibility]` keypoints.

    `joint_img = [x, y, 0]`, `joint_vis = visibility` `(J, 1)` (the original's convention).
    """
    joint_img = np.array(keypoints, dtype=np.float64).reshape(-1, 3)
    joint_vis = joint_img[:, 2:].copy()
    joint_img[:, 2] = 0
    entry = {'img_path': img_path, 'bbox': bbox, 'joint_img': joint_img, 'joint_vis': joint_vis}
    entry.update(extra)
    return entry


def bbox_root_entries(db, bbox_root_path, annot_path, img_dir, joint_num, camera):
    """Test entries, one per record of a DetectNet/RootNet file, in file order.

    `db`: COCO index of `annot_path` holding the records' images; `camera(img)` -> `(f, c)` px.
    Each entry: `img_path` (`img_dir/<file_name>`), `img_id`, the record's processed `bbox` and
    `root_cam` mm, `f`, `c`, and zero placeholders `joint_img/joint_cam (joint_num, 3)`,
    `joint_vis (joint_num, 1)`.
    """
    data = []
    for rec in load_bbox_root(bbox_root_path):
        img = db.imgs.get(rec['image_id'])
        if img is None:
            raise PoseNetError(f"{bbox_root_path}: image_id {rec['image_id']} is not in "
                               f"{annot_path}; the two files must belong together")
        f, c = camera(img)
        data.append({'img_path': osp.join(img_dir, img['file_name']), 'img_id': img['id'],
                     'bbox': rec['bbox'], 'root_cam': rec['root_cam'],
                     'joint_img': np.zeros((joint_num, 3)), 'joint_cam': np.zeros((joint_num, 3)),
                     'joint_vis': np.zeros((joint_num, 1)),
                     'f': np.asarray(f, dtype=np.float64).reshape(2),
                     'c': np.asarray(c, dtype=np.float64).reshape(2)})
    return data


def processed_bbox(ann, img):
    """`process_bbox` of an annotation's box in its image (None when nothing of it is inside)."""
    return process_bbox(np.asarray(ann['bbox'], dtype=np.float64), img['width'], img['height'])


def boxed_annotations(db, skip):
    """`(ann, img, bbox)` of every annotation of `db` (a COCO index) in file order, except those
    where `skip(ann)` is true or whose processed box is None (nothing inside the image)."""
    for aid in db.anns:
        ann = db.anns[aid]
        if skip(ann):
            continue
        img = db.imgs[ann['image_id']]
        bbox = processed_bbox(ann, img)
        if bbox is not None:
            yield ann, img, bbox


# -- heatmap space <-> camera space -------------------------------------------------------------
def _space(output_shape, depth_dim, bbox_3d_shape):
    """The heatmap geometry, defaulting to the current `cfg` values."""
    return (tuple(cfg.output_shape if output_shape is None else output_shape),
            int(cfg.depth_dim if depth_dim is None else depth_dim),
            tuple(cfg.bbox_3d_shape if bbox_3d_shape is None else bbox_3d_shape))


def _batch(bbox, root_depth, f, c):
    """Per-sample parameters shaped to broadcast against `(N, J, 3)` joints."""
    bbox = np.asarray(bbox, dtype=np.float64).reshape(-1, 1, 4)
    root_depth = np.asarray(root_depth, dtype=np.float64).reshape(-1, 1)
    f = np.asarray(f, dtype=np.float64).reshape(-1, 1, 2)
    c = np.asarray(c, dtype=np.float64).reshape(-1, 1, 2)
    return bbox, root_depth, f, c


def heatmap_to_cam(coord_hm, bbox, root_depth, f, c, output_shape=None, depth_dim=None,
                   bbox_3d_shape=None):
    """Network outputs to image and camera space, for a batch.

    `coord_hm (N, J, 3)` heatmap space; `bbox (N, 4)` processed crop boxes px; `root_depth (N,)`
    absolute root Z mm; `f, c (N, 2)` px (or one `(2,)` for all). Shapes of the heatmap default
    to `cfg`. Returns `(pixel, cam)`: `(N, J, 3)` `[x_px, y_px, Z_mm]` and `(N, J, 3)` mm —
    `x = x_hm/W_out*bw + bx`, `y = y_hm/H_out*bh + by`,
    `Z = (z_hm/depth_dim*2 - 1) * bbox_3d_shape[0]/2 + root_depth`, then `pixel2cam`.
    """
    output_shape, depth_dim, bbox_3d_shape = _space(output_shape, depth_dim, bbox_3d_shape)
    coord_hm = np.asarray(coord_hm, dtype=np.float64).reshape(-1, *np.shape(coord_hm)[-2:])
    bbox, root_depth, f, c = _batch(bbox, root_depth, f, c)
    pixel = heatmap_to_pixel(coord_hm, bbox[:, 0], root_depth[:, 0], output_shape, depth_dim,
                             bbox_3d_shape)
    return pixel, pixel2cam(pixel, f, c)


def cam_to_heatmap(joint_cam, bbox, root_depth, f, c, output_shape=None, depth_dim=None,
                   bbox_3d_shape=None):
    """Inverse of `heatmap_to_cam`: camera joints `(N, J, 3)` mm -> heatmap space `(N, J, 3)`.

    What a perfect network would output for these joints in these crops (used to check
    `evaluate`, and to turn ground truth into predictions).
    """
    (h_out, w_out), depth_dim, bbox_3d_shape = _space(output_shape, depth_dim, bbox_3d_shape)
    joint_cam = np.asarray(joint_cam, dtype=np.float64).reshape(-1, *np.shape(joint_cam)[-2:])
    bbox, root_depth, f, c = _batch(bbox, root_depth, f, c)
    pixel = cam2pixel(joint_cam, f, c)
    coord = np.empty_like(joint_cam)
    coord[..., 0] = (pixel[..., 0] - bbox[..., 0]) / bbox[..., 2] * w_out
    coord[..., 1] = (pixel[..., 1] - bbox[..., 1]) / bbox[..., 3] * h_out
    coord[..., 2] = ((pixel[..., 2] - root_depth) / (bbox_3d_shape[0] / 2.) + 1.) / 2. * depth_dim
    return coord


def stack_entries(data, key, shape):
    """`np.stack` of `entry[key]` over the entries, `(N, *shape)` float64 (empty-safe)."""
    if not data:
        return np.zeros((0,) + tuple(shape))
    return np.stack([np.asarray(e[key], dtype=np.float64).reshape(shape) for e in data])


def predictions_to_cam(data, coord_hm):
    """`heatmap_to_cam` with each entry's own `bbox`, `root_cam[2]`, `f`, `c`."""
    return heatmap_to_cam(coord_hm, stack_entries(data, 'bbox', (4,)),
                          stack_entries(data, 'root_cam', (3,))[:, 2],
                          stack_entries(data, 'f', (2,)), stack_entries(data, 'c', (2,)))


def check_preds(preds, num_samples, joint_num, name):
    """`preds` as float64 `(N, joint_num, 3)`; PoseNetError when it does not fit the test set."""
    preds = np.asarray(preds, dtype=np.float64)
    if preds.ndim != 3 or preds.shape[1:] != (joint_num, 3) or len(preds) != num_samples:
        raise PoseNetError(f"{name}.evaluate: predictions have shape {preds.shape}, expected "
                           f"({num_samples}, {joint_num}, 3) — one per test sample, in data "
                           "order")
    return preds


# -- errors ---------------------------------------------------------------------------------------
def root_relative_errors(pred_cam, gt_cam, root_idx, eval_joint, align=None):
    """Per-joint 3D errors after root alignment (and optional Procrustes alignment).

    `pred_cam, gt_cam (N, J, 3)` mm; both get their `root_idx` joint subtracted; `align`:
    None, 'rigid' (rotation + translation, the original's "PA MPJPE") or 'scaled' (with scale)
    moves each prediction onto its ground truth; then only `eval_joint` are kept.
    Returns `(errors (N, E) mm, pred_rel (N, E, 3), gt_rel (N, E, 3))`.
    """
    pred_rel = np.asarray(pred_cam, dtype=np.float64)
    gt_rel = np.asarray(gt_cam, dtype=np.float64)
    pred_rel = pred_rel - pred_rel[:, root_idx:root_idx + 1]
    gt_rel = gt_rel - gt_rel[:, root_idx:root_idx + 1]
    if align not in (None, 'rigid', 'scaled'):
        raise PoseNetError(f"alignment {align!r}: use None, 'rigid' or 'scaled'")
    if align is not None:
        pred_rel = np.stack([rigid_align(p, g, scale=(align == 'scaled'))
                             for p, g in zip(pred_rel, gt_rel)]).reshape(pred_rel.shape)
    eval_joint = list(eval_joint)
    pred_rel, gt_rel = pred_rel[:, eval_joint], gt_rel[:, eval_joint]
    return np.linalg.norm(pred_rel - gt_rel, axis=-1), pred_rel, gt_rel


# -- .mat export (SPEC section 7) ---------------------------------------------------------------
def group_by_key(keys, arrays):
    """`{key: stacked rows}` in order of first appearance, rows in data order."""
    groups = {}
    for key, row in zip(keys, arrays):
        groups.setdefault(key, []).append(row)
    return {key: np.stack(rows) for key, rows in groups.items()}


def export_pose_mats(db, preds, result_dir, suffix, image_key):
    """MuPoTS / MSCOCO `evaluate`: write `preds_{2d,3d}_kpt_<suffix>.mat` (SPEC section 7).

    `preds (N, db.joint_num, 3)` heatmap space in data order; the `db.eval_joint` joints are
    mapped to image px and camera mm with each entry's box and root depth, grouped under
    `image_key(img_path)` and saved atomically: 2D `(persons, 17, 2)` px, 3D `(persons, 17, 3)` mm.
    Returns `{'num_samples', 'num_images', 'pred_2d_path', 'pred_3d_path'}`.
    """
    name = type(db).__name__
    print(f'{name}: evaluation start...')
    preds = check_preds(preds, len(db.data), db.joint_num, name)
    pixel, cam = predictions_to_cam(db.data, preds[:, list(db.eval_joint)])
    keys = [image_key(e['img_path']) for e in db.data]
    paths = {}
    for dim, values in (('2d', pixel[..., :2]), ('3d', cam)):
        path = osp.join(result_dir, f'preds_{dim}_kpt_{suffix}.mat')
        savemat(path, group_by_key(keys, values))
        paths[f'pred_{dim}_path'] = path
        print(f'{name}: test result saved at {path}')
    return {'num_samples': len(db.data), 'num_images': len(set(keys)), **paths}


def image_stem(img_path):
    """File name of `img_path` without folder and extension."""
    return osp.splitext(osp.basename(img_path))[0]
