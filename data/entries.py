"""Dataset entries: one person sample each, as every dataset class builds them (docs/SPEC.md §5).

An entry is a dict with `img_path`, `bbox` (processed, `[x, y, w, h]` px), `joint_img (J, 3)`
`[x_px, y_px, z_rel_mm]` and `joint_vis (J, 1)`; 3D sets add `joint_cam (J, 3)` mm,
`root_cam (3,)` mm, `f (2,)` and `c (2,)` px. Here: building entries from annotations, and
reading the per-entry arrays back as batches (for evaluation).
"""
import os.path as osp

import numpy as np

from common.utils.errors import PoseNetError
from common.utils.pose_utils import heatmap_to_cam, process_bbox, root_output_to_cam

EVAL_CHUNK = 4096   # entries per evaluation batch: big enough for numpy, small for the caches


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


def _test_entry(rec, imgs, img_dir, camera, where, **fields):
    """A test entry of a file record's image: `img_path`, `img_id`, `f`, `c` and `fields`; an
    error when the record's image is not in the annotation file."""
    img = imgs.get(rec['image_id'])
    if img is None:
        raise PoseNetError(f"{where[0]}: image_id {rec['image_id']} is not in {where[1]}; "
                           "the two files must belong together")
    f, c = camera(img)
    return {'img_path': osp.join(img_dir, img['file_name']), 'img_id': img['id'], **fields,
            'f': np.asarray(f, dtype=np.float64).reshape(2),
            'c': np.asarray(c, dtype=np.float64).reshape(2)}


def detected_entries(records, imgs, img_dir, joint_num, camera, where):
    """Test entries, one per record of a DetectNet/RootNet `bbox_root` file, in file order.

    `records`: `data.detections.read_bbox_root` output; `imgs`: `{image_id: image dict}` of the
    annotation file; `camera(img)` -> `(f, c)` px; `where`: `(bbox_root path, annotation path)`
    for the error. Each entry: `img_path` (`img_dir/<file_name>`), `img_id`, the record's
    processed `bbox` and `root_cam` mm, `f`, `c`, and zero placeholders
    `joint_img/joint_cam (joint_num, 3)`, `joint_vis (joint_num, 1)`.
    """
    return [_test_entry(rec, imgs, img_dir, camera, where, bbox=rec['bbox'],
                        root_cam=rec['root_cam'], joint_img=np.zeros((joint_num, 3)),
                        joint_cam=np.zeros((joint_num, 3)), joint_vis=np.zeros((joint_num, 1)))
            for rec in records]


def processed_bbox(ann, img, input_shape):
    """`process_bbox` of an annotation's box in its image (None when nothing of it is inside)."""
    return process_bbox(np.asarray(ann['bbox'], dtype=np.float64), img['width'], img['height'],
                        input_shape)


def boxed_annotations(db, skip, input_shape):
    """`(ann, img, bbox)` of every annotation of `db` (a COCO index) in file order, except those
    where `skip(ann)` is true or whose processed box is None (nothing inside the image)."""
    for aid in db.anns:
        ann = db.anns[aid]
        if skip(ann):
            continue
        img = db.imgs[ann['image_id']]
        bbox = processed_bbox(ann, img, input_shape)
        if bbox is not None:
            yield ann, img, bbox


def stack_entries(data, key, shape):
    """`entry[key]` of every entry stacked: `(N, *shape)` float64 (empty-safe)."""
    shape = tuple(shape)
    values = [e[key] for e in data]
    if not values:
        return np.zeros((0,) + shape)
    try:
        stacked = np.array(values, dtype=np.float64)      # one call for equal-shaped values
        if stacked.shape[1:] == shape:
            return stacked
    except ValueError:
        pass
    return np.stack([np.asarray(v, dtype=np.float64).reshape(shape) for v in values])


def entries_to_cam(data, coord_hm, output_shape, depth_dim, bbox_3d_shape):
    """`heatmap_to_cam` of network outputs `(N, J, 3)` with each entry's own `bbox`,
    `root_cam[2]`, `f`, `c`; returns `(pixel (N, J, 3), cam (N, J, 3) mm)`. Computed
    `EVAL_CHUNK` entries at a time (the same numbers, less memory traffic)."""
    coord_hm = np.asarray(coord_hm, dtype=np.float64)
    pixel, cam = np.empty_like(coord_hm), np.empty_like(coord_hm)
    for start in range(0, len(data), EVAL_CHUNK):
        part = slice(start, start + EVAL_CHUNK)
        entries = data[part]
        pixel[part], cam[part] = heatmap_to_cam(
            coord_hm[part], stack_entries(entries, 'bbox', (4,)),
            stack_entries(entries, 'root_cam', (3,))[:, 2], stack_entries(entries, 'f', (2,)),
            stack_entries(entries, 'c', (2,)), output_shape, depth_dim, bbox_3d_shape)
    return pixel, cam


def heatmap_geometry(cfg):
    """`(output_shape, depth_dim, bbox_3d_shape)` of a config: what a test set needs to map
    network outputs back to the image and camera (`entries_to_cam`)."""
    return tuple(cfg.output_shape), int(cfg.depth_dim), tuple(cfg.bbox_3d_shape)


def check_preds(preds, num_samples, sample_shape, where, what='one per test sample'):
    """`preds` as float64 `(num_samples, *sample_shape)`, finite; else a PoseNetError naming
    `where` (e.g. `Human36M.evaluate`): PoseNet `(J, 3)` heatmap coordinates, RootNet `(3,)`."""
    preds = np.asarray(preds, dtype=np.float64)
    expected = (num_samples,) + tuple(sample_shape)
    if preds.shape != expected:
        raise PoseNetError(f"{where}: predictions have shape {preds.shape}, expected "
                           f"{expected} — {what}, in data order")
    if not np.all(np.isfinite(preds)):
        raise PoseNetError(f"{where}: the predictions hold NaN or inf values; the model is "
                           "broken (check the snapshot and the training log)")
    return preds


def entries_root_cam(data, coord, output_shape):
    """RootNet outputs `(N, 3)` (x, y output space, depth mm) to camera-space roots `(N, 3)` mm
    with each entry's own processed `bbox`, `f`, `c`."""
    return root_output_to_cam(coord, stack_entries(data, 'bbox', (4,)), output_shape,
                              stack_entries(data, 'f', (2,)), stack_entries(data, 'c', (2,)))


def detection_entries(records, imgs, img_dir, camera, input_shape, where):
    """RootNet test entries, one per detected person box (docs/SPEC.md §13, detection mode), in
    order: `img_path, img_id, bbox` (`process_bbox` of the detected box; boxes with nothing
    inside the image are dropped), `score`, `f`, `c`.

    `records`: `data.detections.read_detections` output; `imgs`: `{image_id: image dict}`;
    `camera(img)` -> `(f, c)` px; `where`: `(detection path, annotation path)` for errors.
    """
    data = []
    for rec in records:
        entry = _test_entry(rec, imgs, img_dir, camera, where,
                            score=1.0 if rec['score'] is None else rec['score'])
        img = imgs[rec['image_id']]
        entry['bbox'] = process_bbox(rec['bbox'], img['width'], img['height'], input_shape)
        if entry['bbox'] is not None:
            data.append(entry)
    return data
