"""Straightforward per-entry versions of evaluation and Human3.6M loading, written the way the
original release wrote them (one entry at a time, `.tolist()` + `json.dump`, all subjects'
annotations in one pycocotools index) but with this project's arithmetic (float64) and options.

They are slow on purpose: the tests check that the batched code gives the same entries and
numbers, and `tool/benchmark.py` times them as the baseline ("original") next to ours.
"""
import json
import os.path as osp

import numpy as np
import scipy.io

from common.utils.pose_utils import cam2pixel, pixel2cam, process_bbox, world2cam
from data.annotations import coco_from_dict
from data.detections import read_bbox_root
from data.entries import entry_3d
from data.Human36M.Human36M import PROTOCOL_SUBJECTS, SUBSAMPLING
from data.result_files import H36M_RESULT_NAME, pred_mat_name


def align_one(A, B, scale=False):
    """`A (J, 3)` moved onto `B` by Kabsch (rotation, translation; with `scale` Umeyama)."""
    cA, cB = A.mean(axis=0), B.mean(axis=0)
    U, s, Vt = np.linalg.svd((A - cA).T @ (B - cB))
    if not scale:
        R = Vt.T @ U.T
        if np.linalg.det(R) < 0:
            Vt[2] = -Vt[2]
            R = Vt.T @ U.T
        return A @ R.T + (cB - R @ cA)
    D = np.eye(3)
    if np.linalg.det(Vt.T @ U.T) < 0:
        D[2, 2] = -1
    R = Vt.T @ D @ U.T
    var_A = ((A - cA) ** 2).sum()
    k = (s * np.diag(D)).sum() / var_A if var_A > 0 else 1.0
    return k * A @ R.T + (cB - k * R @ cA)


def heatmap_to_image(pred, bbox, root_z, heatmap):
    """One sample's heatmap output `(J, 3)` to `[x_px, y_px, Z_mm]` (the original's lines)."""
    output_shape, depth_dim, bbox_3d_shape = heatmap
    pred = pred.copy()
    pred[:, 0] = pred[:, 0] / output_shape[1] * bbox[2] + bbox[0]
    pred[:, 1] = pred[:, 1] / output_shape[0] * bbox[3] + bbox[1]
    pred[:, 2] = (pred[:, 2] / depth_dim * 2. - 1.) * (bbox_3d_shape[0] / 2.) + root_z
    return pred


def h36m_evaluate(db, preds, result_dir):
    """`Human36M.evaluate` entry by entry; returns `(errors (N, 17), path)` and writes the
    result file with `json.dump` of `.tolist()` values."""
    errors, pred_save = np.zeros((len(db.data), len(db.eval_joint))), []
    for n, gt in enumerate(db.data):
        bbox, root_cam = np.asarray(gt['bbox']), np.asarray(gt['root_cam'])
        pred_3d = pixel2cam(heatmap_to_image(preds[n], bbox, root_cam[2], db.heatmap),
                            gt['f'], gt['c'])
        pred_3d = pred_3d - pred_3d[db.root_idx]
        gt_3d = gt['joint_cam'] - gt['joint_cam'][db.root_idx]
        if db.protocol == 1:
            pred_3d = align_one(pred_3d, gt_3d, db.scaled_procrustes)
        pred_3d, gt_3d = pred_3d[list(db.eval_joint)], gt_3d[list(db.eval_joint)]
        errors[n] = np.sqrt(np.sum((pred_3d - gt_3d) ** 2, 1))
        pred_save.append({'image_id': gt['img_id'], 'joint_cam': pred_3d.tolist(),
                          'bbox': bbox.tolist(), 'root_cam': root_cam.tolist()})
    path = osp.join(result_dir, H36M_RESULT_NAME)
    with open(path, 'w') as f:
        json.dump(pred_save, f)
    return errors, path


def export_mats(db, preds, result_dir, dataset, image_key):
    """MuPoTS / MSCOCO `evaluate` entry by entry (`scipy.io.savemat` of per-image lists);
    returns the 2D and 3D `{key: (persons, 17, 2|3)}` dicts it wrote."""
    pred_2d, pred_3d = {}, {}
    for n, gt in enumerate(db.data):
        key = image_key(gt['img_path'])
        pixel = heatmap_to_image(preds[n][list(db.eval_joint)], np.asarray(gt['bbox']),
                                 gt['root_cam'][2], db.heatmap)
        pred_2d.setdefault(key, []).append(pixel[:, :2])
        pred_3d.setdefault(key, []).append(pixel2cam(pixel, gt['f'], gt['c']))
    for dim, saved in (('2d', pred_2d), ('3d', pred_3d)):
        for key in saved:
            saved[key] = np.stack(saved[key])
        scipy.io.savemat(osp.join(result_dir, pred_mat_name(dim, dataset)), saved)
    return pred_2d, pred_3d


def h36m_load(data_dir, data_split, protocol=2, input_shape=(256, 256), use_gt_info=True):
    """Human36M entries the original way: every subject's three files parsed, one COCO index,
    then one annotation at a time (camera, world -> camera -> pixel, box)."""
    annot_dir = osp.join(data_dir, 'Human36M', 'annotations')
    subjects, ratio = PROTOCOL_SUBJECTS[protocol][data_split], SUBSAMPLING[data_split]
    dataset, cameras, joints = {'images': [], 'annotations': []}, {}, {}
    for subject in subjects:
        def read(kind):
            with open(osp.join(annot_dir, f'Human36M_subject{subject}_{kind}.json')) as f:
                return json.load(f)
        annot = read('data')
        dataset['images'] += annot['images']
        dataset['annotations'] += annot['annotations']
        cameras[subject], joints[subject] = read('camera'), read('joint_3d')
    db = coco_from_dict(dataset)
    bbox_root = None
    if data_split == 'test' and not use_gt_info:
        path = osp.join(data_dir, 'Human36M', 'bbox_root', 'bbox_root_human36m_output.json')
        bbox_root = {str(r['image_id']): r for r in read_bbox_root(path)}
    img_dir = osp.join(data_dir, 'Human36M', 'images')
    data = []
    for ann in db.anns.values():
        img = db.imgs[ann['image_id']]
        if img['subject'] not in subjects or img['frame_idx'] % ratio != 0:
            continue
        cam = {k: np.asarray(v, dtype=np.float64)
               for k, v in cameras[img['subject']][str(img['cam_idx'])].items()}
        world = np.asarray(joints[img['subject']][str(img['action_idx'])][
            str(img['subaction_idx'])][str(img['frame_idx'])], dtype=np.float64)
        world = np.concatenate([world, (world[11:12] + world[14:15]) / 2])   # + Thorax
        joint_cam = world2cam(world, cam['R'], cam['t'])
        joint_px = cam2pixel(joint_cam, cam['f'], cam['c'])
        if bbox_root is not None:
            rec = bbox_root[str(img['id'])]
            bbox = rec['bbox']
        else:
            bbox = process_bbox(np.asarray(ann['bbox'], dtype=np.float64), img['width'],
                                img['height'], input_shape)
            if bbox is None:
                continue
        vis = ann.get('keypoints_vis')
        entry = entry_3d(osp.join(img_dir, img['file_name']), bbox, joint_cam, joint_px, 0,
                         cam['f'], cam['c'], img_id=img['id'], action_idx=img['action_idx'],
                         root_vis=float(vis[0]) if isinstance(vis, list) and vis else 1.0)
        if bbox_root is not None:
            entry['root_cam'] = rec['root_cam']
        data.append(entry)
    return data

