"""MuPoTS-3D (docs/SPEC.md §6): 3D multi-person test set, evaluated with a MuCo-trained model.

Files under `<data_dir>/MuPoTS/`:
    data/MuPoTS-3D.json                  COCO-style; images `file_name` (`TS1/img_000000.jpg`),
                                         `width`, `height`, `intrinsic [fx, fy, cx, cy]`;
                                         annotations `keypoints_cam (17, 3)` mm,
                                         `keypoints_img (17, 2)` px, `bbox`, `is_valid`
    data/MultiPersonTestSet/TS<n>/...    images (and the evaluation kit's annot.mat/occlusion.mat)
    bbox_root/bbox_root_mupots_output.json   PoseNet: boxes and roots when use_gt_info is False
    bbox/bbox_mupots_output.json         RootNet: detected boxes when use_gt_info is False

`evaluate` writes the `.mat` files of docs/SPEC.md §7 and, when the kit's ground truth is
present, scores them with `data/MuPoTS/mupots_eval.py` (3DPCK, AUC) directly from memory.
`evaluate_root` scores RootNet's roots (AP_root at 250 mm) and writes the bbox_root file.
"""
import os.path as osp

import numpy as np

from data import annotations
from data.detections import bbox_root_name, read_bbox_root, read_detections
from data.entries import (boxed_annotations, detected_entries, detection_entries, entry_3d,
                          heatmap_geometry)
from data.joint_sets import MuCoOutputJoints
from data.MuPoTS import mupots_eval
from data.result_files import export_pose_mats, export_roots, mupots_key
from data.root_metrics import ap_root, format_ap_root

ANNOTATION_FIELDS = ('id', 'image_id', 'bbox', 'keypoints_cam', 'keypoints_img', 'is_valid')


def camera(img):
    """`(f, c)` px of a MuPoTS image from its `intrinsic [fx, fy, cx, cy]`."""
    fx, fy, cx, cy = (float(v) for v in img['intrinsic'])
    return np.array([fx, fy]), np.array([cx, cy])


class MuPoTS(MuCoOutputJoints):
    """MuPoTS-3D test samples.

    `MuPoTS('test', cfg)`; from `cfg`: `data_dir`, `input_shape`, `use_gt_info`, `network`, and
    for `evaluate` `output_shape`, `depth_dim`, `bbox_3d_shape`.
    Joint sets: network output = MuCo's 21 (`joint_num`, `joints_name`), evaluated = the first
    17 (`original_joint_num`, `original_joints_name`, `eval_joint`); `root_idx` = Pelvis.
    With `use_gt_info` (default): one entry per annotation with `is_valid != 0`:
    `img_path, img_id, bbox (processed), joint_img (17, 3) [x_px, y_px, Z - Z_root],
    joint_cam (17, 3) mm, joint_vis (17, 1), root_cam (3,) mm (ground truth), f, c`.
    Otherwise one entry per record of the bbox_root file (box, root; zero joint placeholders),
    or for RootNet (`cfg.network == 'RootNet'`) one per detected box of the detection file
    (`img_path, img_id, bbox, score, f, c`). `valid_roots`: `(image_ids (M,), roots (M, 3) mm)`
    of every valid annotation (RootNet's AP ground truth).
    """
    joints_have_depth = True

    def __init__(self, data_split, cfg):
        annotations.check_split('MuPoTS', data_split, ('test',))
        self.data_split = data_split
        self.data_dir = cfg.data_dir
        self.input_shape = tuple(cfg.input_shape)
        self.use_gt_info = bool(cfg.use_gt_info)
        self.network = cfg.network
        self.heatmap = heatmap_geometry(cfg)
        root = annotations.dataset_dir(self.data_dir, 'MuPoTS')
        self.img_dir = osp.join(root, 'data', 'MultiPersonTestSet')
        self.test_annot_path = osp.join(root, 'data', 'MuPoTS-3D.json')
        self.human_bbox_root_dir = cfg.bbox_root_file or osp.join(
            root, 'bbox_root', bbox_root_name('MuPoTS'))
        self.human_bbox_dir = osp.join(root, 'bbox', 'bbox_mupots_output.json')
        self.data = self.load_data()

    def load_data(self):
        db = annotations.load_coco(self.test_annot_path, 'MuPoTS annotation file', self.data_dir,
                                   ('id', 'file_name', 'width', 'height', 'intrinsic'),
                                   ANNOTATION_FIELDS)
        valid = [a for a in db.anns.values() if a['is_valid'] != 0]
        self.valid_roots = (np.array([a['image_id'] for a in valid]),
                            np.array([a['keypoints_cam'][self.root_idx] for a in valid],
                                     dtype=np.float64).reshape(-1, 3))
        if not self.use_gt_info and self.network == 'RootNet':
            print('Get bounding boxes from ' + self.human_bbox_dir)
            return detection_entries(read_detections(self.human_bbox_dir, score_thresh=0.),
                                     db.imgs, self.img_dir, camera, self.input_shape,
                                     (self.human_bbox_dir, self.test_annot_path))
        if not self.use_gt_info:
            print('Get bounding box and root from ' + self.human_bbox_root_dir)
            return detected_entries(read_bbox_root(self.human_bbox_root_dir), db.imgs,
                                    self.img_dir, self.original_joint_num, camera,
                                    (self.human_bbox_root_dir, self.test_annot_path))
        print('Get bounding box and root from groundtruth')
        return [entry_3d(osp.join(self.img_dir, img['file_name']), bbox, ann['keypoints_cam'],
                         ann['keypoints_img'], self.root_idx, *camera(img), img_id=img['id'])
                for ann, img, bbox in boxed_annotations(db, lambda a: a['is_valid'] == 0,
                                                        self.input_shape)]

    def evaluate(self, preds, result_dir):
        """Write `preds_2d_kpt_mupots.mat` / `preds_3d_kpt_mupots.mat` (docs/SPEC.md §7) and,
        when the kit's ground truth lies under `<data_dir>/MuPoTS/data/MultiPersonTestSet`,
        its 3DPCK / AUC in the four variants (under `'3dpck'`, CSV files into `result_dir`).

        `preds (N, 21, 3)` heatmap space in data order; the first 17 joints are exported per
        image key `TS<n>_img_<frame>`: 2D `(persons, 17, 2)` px, 3D `(persons, 17, 3)` camera mm.
        Returns `{'num_samples', 'num_images', 'pred_2d_path', 'pred_3d_path', '3dpck'?}`.
        """
        metrics, pose_2d, pose_3d = export_pose_mats(self, preds, result_dir, 'mupots',
                                                     mupots_key)
        pck = mupots_eval.evaluate_if_present(pose_2d, pose_3d, self.data_dir, result_dir)
        if pck is not None:
            metrics['3dpck'] = pck
        return metrics

    def evaluate_root(self, preds, result_dir):
        """RootNet: AP_root at 250 mm of `preds (N, 3)` (x, y output space, depth mm; data
        order) against every valid ground-truth root, people ranked by score (1.0 with
        ground-truth boxes).

        Prints the original's `AP_root: ...` line and returns `{'metric': 'AP_root',
        'ap_root' (the original's arithmetic: the first ranked prediction's recall step is
        left out, so perfect predictions of M people give (M-1)/M), 'ap_root_complete' (with
        that step: perfect = 1.0), 'num_samples', 'result_path'}`; writes
        `bbox_root_mupots_output.json` (with scores) to `result_dir`.
        """
        root_cam, path = export_roots(self, preds, result_dir, with_score=True)
        image_id = [e['img_id'] for e in self.data]
        score = [e.get('score', 1.0) for e in self.data]
        gt_image_id, gt_root = self.valid_roots
        ap = ap_root(root_cam, image_id, score, gt_root, gt_image_id)
        complete = ap_root(root_cam, image_id, score, gt_root, gt_image_id, include_first=True)
        print(format_ap_root(ap))
        return {'metric': 'AP_root', 'ap_root': ap, 'ap_root_complete': complete,
                'num_samples': len(self.data), 'result_path': path}
