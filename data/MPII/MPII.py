"""MPII Human Pose (docs/SPEC.md §6): 2D, training only.

Files under `<data_dir>/MPII/`: `annotations/train.json` (COCO-style, 16 keypoints per
person) and the images at `MPII/<file_name>` (`file_name` as written in train.json, e.g.
`images/015601864.jpg`).
"""
import os.path as osp

import numpy as np

from data import annotations
from data.entries import boxed_annotations, entry_2d
from data.joint_sets import MPII_FLIP_PAIRS, MPII_JOINTS, MPII_SKELETON

FOCAL = (1500., 1500.)   # px, the assumed camera of MPII images (RootNet)


class MPII:
    """MPII training samples. `MPII('train', cfg)`; from `cfg`: `data_dir`, `input_shape`.
    Entries: `img_path, bbox (4,) px, joint_img (16, 3) [x_px, y_px, 0], joint_vis (16, 1)` (the
    annotation's visibility flag), `f (2,)`, `c (2,)` px (the assumed camera RootNet's `k` uses:
    focal 1500 px, principal point at the image centre)."""
    joint_num = len(MPII_JOINTS)
    joints_name = MPII_JOINTS
    flip_pairs = MPII_FLIP_PAIRS
    skeleton = MPII_SKELETON
    joints_have_depth = False
    root_idx = MPII_JOINTS.index('Pelvis')

    def __init__(self, data_split, cfg):
        annotations.check_split('MPII', data_split, ('train',))
        self.data_split = data_split
        self.data_dir = cfg.data_dir
        self.input_shape = tuple(cfg.input_shape)
        self.img_dir = annotations.dataset_dir(self.data_dir, 'MPII')
        self.train_annot_path = osp.join(self.img_dir, 'annotations', 'train.json')
        self.data = self.load_data()

    def load_data(self):
        db = annotations.load_coco(self.train_annot_path, 'MPII annotation file', self.data_dir,
                                   ('id', 'file_name', 'width', 'height'),
                                   ('id', 'image_id', 'bbox', 'keypoints', 'num_keypoints'))
        return [entry_2d(osp.join(self.img_dir, img['file_name']), bbox, ann['keypoints'],
                         f=np.array(FOCAL), c=np.array([img['width'] / 2., img['height'] / 2.]))
                for ann, img, bbox in boxed_annotations(db, lambda ann: ann['num_keypoints'] == 0,
                                                        self.input_shape)]
