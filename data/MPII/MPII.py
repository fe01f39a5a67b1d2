"""MPII Human Pose (SPEC section 6): 2D, training only.

Files under `<cfg.data_dir>/MPII/`: `annotations/train.json` (COCO-style, 16 keypoints per
person) and the images at `MPII/<file_name>` (`file_name` as written in train.json, e.g.
`images/015601864.jpg`).
"""
import os.path as osp

from data import db_utils
from data.db_utils import MPII_FLIP_PAIRS, MPII_JOINTS, MPII_SKELETON


class MPII:
    """MPII training samples. Entries: `img_path, bbox (4,) px, joint_img (16, 3) [x_px, y_px, 0],
    joint_vis (16, 1)` (the annotation's visibility flag)."""
    joint_num = len(MPII_JOINTS)
    joints_name = MPII_JOINTS
    flip_pairs = MPII_FLIP_PAIRS
    skeleton = MPII_SKELETON
    joints_have_depth = False

    def __init__(self, data_split):
        db_utils.check_split('MPII', data_split, ('train',))
        self.data_split = data_split
        self.img_dir = db_utils.dataset_dir('MPII')
        self.train_annot_path = osp.join(self.img_dir, 'annotations', 'train.json')
        self.data = self.load_data()

    def load_data(self):
        db = db_utils.load_coco(self.train_annot_path, 'MPII annotation file')
        return [db_utils.entry_2d(osp.join(self.img_dir, img['file_name']), bbox, ann['keypoints'])
                for ann, img, bbox in db_utils.boxed_annotations(
                    db, lambda ann: ann['num_keypoints'] == 0)]
