"""MuPoTS-3D (SPEC section 6): 3D multi-person test set, evaluated with a MuCo-trained model.

Files under `<cfg.data_dir>/MuPoTS/`:
    data/MuPoTS-3D.json                  COCO-style; images `file_name` (`TS1/img_000000.jpg`),
                                         `width`, `height`, `intrinsic [fx, fy, cx, cy]`;
                                         annotations `keypoints_cam (17, 3)` mm,
                                         `keypoints_img (17, 2)` px, `bbox`, `is_valid`
    data/MultiPersonTestSet/TS<n>/...    images (and the evaluation kit's annot.mat/occlusion.mat)
    bbox_root/bbox_root_mupots_output.json   boxes and roots when cfg.use_gt_info is False

`evaluate` writes the `.mat` files of SPEC section 7; `data/MuPoTS/mupots_eval.py` scores them
against the kit's ground truth (3DPCK, AUC).
"""
import os.path as osp

import numpy as np

from data import db_utils
from main.config import cfg


def image_key(img_path):
    """`.mat` variable of an image: `<folder>_<stem>`, e.g. `TS1_img_000000`."""
    return osp.basename(osp.dirname(img_path)) + '_' + db_utils.image_stem(img_path)


def camera(img):
    """`(f, c)` px of a MuPoTS image from its `intrinsic [fx, fy, cx, cy]`."""
    fx, fy, cx, cy = (float(v) for v in img['intrinsic'])
    return np.array([fx, fy]), np.array([cx, cy])


class MuPoTS(db_utils.MuCoOutputJoints):
    """MuPoTS-3D test samples.

    Joint sets: network output = MuCo's 21 (`joint_num`, `joints_name`), evaluated = the first
    17 (`original_joint_num`, `original_joints_name`, `eval_joint`); `root_idx` = Pelvis.
    With `cfg.use_gt_info` (default): one entry per annotation with `is_valid != 0`:
    `img_path, img_id, bbox (processed), joint_img (17, 3) [x_px, y_px, Z - Z_root],
    joint_cam (17, 3) mm, joint_vis (17, 1), root_cam (3,) mm (ground truth), f, c`.
    Otherwise one entry per record of the bbox_root file (box, root; zero joint placeholders).
    """
    joints_have_depth = True

    def __init__(self, data_split):
        db_utils.check_split('MuPoTS', data_split, ('test',))
        self.data_split = data_split
        root = db_utils.dataset_dir('MuPoTS')
        self.img_dir = osp.join(root, 'data', 'MultiPersonTestSet')
        self.test_annot_path = osp.join(root, 'data', 'MuPoTS-3D.json')
        self.human_bbox_root_dir = osp.join(root, 'bbox_root', 'bbox_root_mupots_output.json')
        self.data = self.load_data()

    def load_data(self):
        db = db_utils.load_coco(self.test_annot_path, 'MuPoTS annotation file')
        if not cfg.use_gt_info:
            print('Get bounding box and root from ' + self.human_bbox_root_dir)
            return db_utils.bbox_root_entries(db, self.human_bbox_root_dir, self.test_annot_path,
                                              self.img_dir, self.original_joint_num, camera)
        print('Get bounding box and root from groundtruth')
        return [db_utils.entry_3d(osp.join(self.img_dir, img['file_name']), bbox,
                                  ann['keypoints_cam'], ann['keypoints_img'], self.root_idx,
                                  *camera(img), img_id=img['id'])
                for ann, img, bbox in db_utils.boxed_annotations(db, lambda a: a['is_valid'] == 0)]

    def evaluate(self, preds, result_dir):
        """Write `preds_2d_kpt_mupots.mat` / `preds_3d_kpt_mupots.mat` (SPEC section 7).

        `preds (N, 21, 3)` heatmap space in data order; the first 17 joints are exported per
        image key `TS<n>_img_<frame>`: 2D `(persons, 17, 2)` px, 3D `(persons, 17, 3)` camera mm.
        Returns `{'num_samples', 'num_images', 'pred_2d_path', 'pred_3d_path'}`.
        """
        return db_utils.export_pose_mats(self, preds, result_dir, 'mupots', image_key)
