"""MuCo-3DHP (docs/SPEC.md §6): 3D, multi-person composites, training only.

Files under `<data_dir>/MuCo/data/`: `MuCo-3DHP.json` (COCO-style; images carry `f`, `c`
px; annotations `keypoints_cam (21, 3)` mm, `keypoints_img (21, 2)` px, `keypoints_vis (21,)`
(read for RootNet's root visibility), `bbox`) and the images
(`augmented_set/`, `unaugmented_set/`) at `MuCo/data/<file_name>`.
"""
import os.path as osp

import numpy as np

from data import annotations
from data.entries import entry_3d, processed_bbox
from data.joint_sets import MUCO_FLIP_PAIRS, MUCO_JOINTS, MUCO_SKELETON

MIN_ROOT_DISTANCE = 500.   # mm


def pick_people(root_cam, min_dist=MIN_ROOT_DISTANCE):
    """Indices of the people of one image used for training, in the original's order.

    `root_cam (P, 3)` mm. Always the person closest to the camera (smallest root Z, first on
    ties); then, in index order, every other person whose root is at least `min_dist` from
    **every** other person's root both in X-Y distance and in 3D distance.
    """
    root_cam = np.asarray(root_cam, dtype=np.float64).reshape(-1, 3)
    if len(root_cam) == 0:
        return []
    closest = int(np.argmin(root_cam[:, 2]))
    diff = root_cam[:, None, :] - root_cam[None, :, :]
    dist_2d = np.sqrt((diff[..., :2] ** 2).sum(-1))
    dist_3d = np.sqrt((diff ** 2).sum(-1))
    far = (dist_2d >= min_dist) & (dist_3d >= min_dist)
    np.fill_diagonal(far, True)
    isolated = far.all(axis=1)
    return [closest] + [int(i) for i in np.flatnonzero(isolated) if i != closest]


class MuCo:
    """MuCo-3DHP training samples (people picked by `pick_people`).

    `MuCo('train', cfg)`; from `cfg`: `data_dir`, `input_shape`. Entries: `img_path, img_id,
    bbox (4,) px, joint_img (21, 3) [x_px, y_px, Z - Z_root mm], joint_cam (21, 3) mm,
    joint_vis (21, 1), root_cam (3,) mm, root_vis (the annotation's Pelvis visibility, 1 when
    absent), f (2,), c (2,) px`."""
    joint_num = len(MUCO_JOINTS)
    joints_name = MUCO_JOINTS
    flip_pairs = MUCO_FLIP_PAIRS
    skeleton = MUCO_SKELETON
    joints_have_depth = True
    root_idx = MUCO_JOINTS.index('Pelvis')
    rootnet_depth_range = (1500., 7500.)   # mm: RootNet trains only on people this far away

    def __init__(self, data_split, cfg):
        annotations.check_split('MuCo', data_split, ('train',))
        self.data_split = data_split
        self.data_dir = cfg.data_dir
        self.input_shape = tuple(cfg.input_shape)
        self.img_dir = osp.join(annotations.dataset_dir(self.data_dir, 'MuCo'), 'data')
        self.train_annot_path = osp.join(self.img_dir, 'MuCo-3DHP.json')
        self.data = self.load_data()

    def load_data(self):
        db = annotations.load_coco(self.train_annot_path, 'MuCo annotation file', self.data_dir,
                                   ('id', 'file_name', 'width', 'height', 'f', 'c'),
                                   ('id', 'image_id', 'bbox', 'keypoints_cam', 'keypoints_img'))
        data = []
        for iid in db.imgs:
            img = db.imgs[iid]
            anns = db.loadAnns(db.getAnnIds(imgIds=[iid]))
            if not anns:
                continue
            joint_cam = np.asarray([a['keypoints_cam'] for a in anns], dtype=np.float64)
            for pid in pick_people(joint_cam[:, self.root_idx]):
                bbox = processed_bbox(anns[pid], img, self.input_shape)
                if bbox is None:
                    continue
                vis = anns[pid].get('keypoints_vis')
                root_vis = float(vis[self.root_idx]) if isinstance(vis, list) and vis else 1.0
                data.append(entry_3d(osp.join(self.img_dir, img['file_name']), bbox,
                                     joint_cam[pid], anns[pid]['keypoints_img'], self.root_idx,
                                     img['f'], img['c'], img_id=iid, root_vis=root_vis))
        return data
