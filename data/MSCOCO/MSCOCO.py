"""MS COCO 2017 keypoints (SPEC section 6): 2D training set; test set for a MuCo-trained model.

Files under `<cfg.data_dir>/MSCOCO/`:
    annotations/person_keypoints_train2017.json, images/train2017/   training
    annotations/person_keypoints_val2017.json,   images/val2017/     testing (image sizes)
    bbox_root/bbox_root_coco_output.json                             testing (boxes, roots)

COCO has no camera parameters: focal length 1500 px and the image centre are assumed (the
RootNet roots in `bbox_root_coco_output.json` use the same virtual camera).
"""
import os.path as osp

import numpy as np

from common.utils.errors import PoseNetError
from data import db_utils
from data.db_utils import COCO_FLIP_PAIRS, COCO_JOINTS, COCO_KEYPOINT_NUM, COCO_SKELETON

FOCAL = (1500., 1500.)   # px, the assumed camera of COCO images


def image_key(img_path):
    """`.mat` variable of an image: `coco_<stem>`, e.g. `coco_000000000139`."""
    return 'coco_' + db_utils.image_stem(img_path)


def virtual_camera(img):
    """`(f, c)` of the assumed camera of a COCO image: 1500 px, principal point at the centre."""
    return np.array(FOCAL), np.array([img['width'] / 2., img['height'] / 2.])


class MSCOCO:
    """COCO samples.

    Training (`'train'`): 19 joints (COCO's 17 + Thorax + Pelvis, each the mean of the
    shoulders / hips with visibility = product of theirs). Entries: `img_path, bbox, joint_img
    (19, 3) [x_px, y_px, 0], joint_vis (19, 1) (v > 0), f, c`.
    Testing (`'test'`): the network outputs MuCo's 21 joints (`joint_num`, `joints_name`); the
    first 17 (`original_joint_num`, `original_joints_name`, `eval_joint`) are exported by
    `evaluate`. One entry per record of the bbox_root file: `img_path, bbox, root_cam (3,) mm,
    f, c` and zero placeholders `joint_img/joint_cam (17, 3)`, `joint_vis (17, 1)`.
    """
    joints_have_depth = False

    def __init__(self, data_split):
        db_utils.check_split('MSCOCO', data_split, ('train', 'test'))
        self.data_split = data_split
        root = db_utils.dataset_dir('MSCOCO')
        self.img_dir = osp.join(root, 'images')
        self.train_annot_path = osp.join(root, 'annotations', 'person_keypoints_train2017.json')
        self.test_annot_path = osp.join(root, 'annotations', 'person_keypoints_val2017.json')
        self.human_3d_bbox_root_dir = osp.join(root, 'bbox_root', 'bbox_root_coco_output.json')
        if data_split == 'train':
            self.joint_num = len(COCO_JOINTS)
            self.joints_name = COCO_JOINTS
            self.flip_pairs = COCO_FLIP_PAIRS
            self.skeleton = COCO_SKELETON
            self.lshoulder_idx = COCO_JOINTS.index('L_Shoulder')
            self.rshoulder_idx = COCO_JOINTS.index('R_Shoulder')
            self.lhip_idx = COCO_JOINTS.index('L_Hip')
            self.rhip_idx = COCO_JOINTS.index('R_Hip')
        else:
            # a MuCo-trained model: outputs MuCo's 21 joints, MuPoTS' 17 are evaluated
            out = db_utils.MuCoOutputJoints
            self.joint_num, self.joints_name = out.joint_num, out.joints_name
            self.original_joint_num = out.original_joint_num
            self.original_joints_name = out.original_joints_name
            self.eval_joint = out.eval_joint
            self.flip_pairs, self.skeleton = out.flip_pairs, out.skeleton
        self.data = self.load_data()

    def add_joint(self, keypoints, a, b):
        """`(3,)` midpoint of keypoints `a` and `b`; visibility = product of theirs."""
        joint = (keypoints[a] + keypoints[b]) / 2.
        joint[2] = keypoints[a, 2] * keypoints[b, 2]
        return joint

    def load_data(self):
        if self.data_split == 'train':
            return self._load_train()
        return self._load_test()

    def _load_train(self):
        db = db_utils.load_coco(self.train_annot_path, 'MSCOCO annotation file')
        data = []
        for ann, img, bbox in db_utils.boxed_annotations(
                db, lambda a: a['image_id'] not in db.imgs or a['iscrowd'] or
                a['num_keypoints'] == 0):
            kps = np.asarray(ann['keypoints'], dtype=np.float64).reshape(COCO_KEYPOINT_NUM, 3)
            kps = np.concatenate([kps, [self.add_joint(kps, self.lshoulder_idx, self.rshoulder_idx),
                                        self.add_joint(kps, self.lhip_idx, self.rhip_idx)]])
            kps[:, 2] = kps[:, 2] > 0
            f, c = virtual_camera(img)
            data.append(db_utils.entry_2d(osp.join(self.img_dir, 'train2017', img['file_name']),
                                          bbox, kps, f=f, c=c, img_id=img['id']))
        return data

    def _load_test(self):
        db = db_utils.load_coco(self.test_annot_path, 'MSCOCO annotation file')
        return db_utils.bbox_root_entries(db, self.human_3d_bbox_root_dir, self.test_annot_path,
                                          osp.join(self.img_dir, 'val2017'),
                                          self.original_joint_num, virtual_camera)

    def evaluate(self, preds, result_dir):
        """Write `preds_2d_kpt_coco.mat` / `preds_3d_kpt_coco.mat` (SPEC section 7).

        `preds (N, 21, 3)` heatmap space in data order. Returns `{'num_samples', 'num_images',
        'pred_2d_path', 'pred_3d_path'}`.
        """
        if self.data_split != 'test':
            raise PoseNetError("MSCOCO.evaluate needs the test split (MSCOCO('test'))")
        return db_utils.export_pose_mats(self, preds, result_dir, 'coco', image_key)
