"""MS COCO 2017 keypoints (docs/SPEC.md §6): 2D training set; test set for a MuCo-trained model.

Files under `<data_dir>/MSCOCO/`:
    annotations/person_keypoints_train2017.json, images/train2017/   training
    annotations/person_keypoints_val2017.json,   images/val2017/     testing (image sizes)
    bbox_root/bbox_root_coco_output.json                             testing (boxes, roots)
    bbox/bbox_coco_output.json                                       RootNet testing (detections)

COCO has no camera parameters: focal length 1500 px and the image centre are assumed (the
RootNet roots in `bbox_root_coco_output.json` use the same virtual camera).
"""
import os.path as osp

import numpy as np

from common.utils.errors import PoseNetError
from data import annotations
from data.detections import bbox_root_name, read_bbox_root, read_detections
from data.entries import (boxed_annotations, detected_entries, detection_entries, entry_2d,
                          heatmap_geometry)
from data.joint_sets import (COCO_FLIP_PAIRS, COCO_JOINTS, COCO_KEYPOINT_NUM, COCO_SKELETON,
                             MuCoOutputJoints)
from data.result_files import coco_key, export_pose_mats, export_roots

FOCAL = (1500., 1500.)   # px, the assumed camera of COCO images


def virtual_camera(img):
    """`(f, c)` of the assumed camera of a COCO image: 1500 px, principal point at the centre."""
    return np.array(FOCAL), np.array([img['width'] / 2., img['height'] / 2.])


class MSCOCO:
    """COCO samples. `MSCOCO(data_split, cfg)`; from `cfg`: `data_dir`, `input_shape`, and for
    `evaluate` `output_shape`, `depth_dim`, `bbox_3d_shape`.

    Training (`'train'`): 19 joints (COCO's 17 + Thorax + Pelvis, each the mean of the
    shoulders / hips with visibility = product of theirs). Entries: `img_path, bbox, joint_img
    (19, 3) [x_px, y_px, 0], joint_vis (19, 1) (v > 0), f, c`.
    Testing (`'test'`): the network outputs MuCo's 21 joints (`joint_num`, `joints_name`); the
    first 17 (`original_joint_num`, `original_joints_name`, `eval_joint`) are exported by
    `evaluate`. One entry per record of the bbox_root file: `img_path, bbox, root_cam (3,) mm,
    f, c` and zero placeholders `joint_img/joint_cam (17, 3)`, `joint_vis (17, 1)`.
    """
    joints_have_depth = False

    def __init__(self, data_split, cfg):
        annotations.check_split('MSCOCO', data_split, ('train', 'test'))
        self.data_split = data_split
        self.data_dir = cfg.data_dir
        self.input_shape = tuple(cfg.input_shape)
        self.heatmap = heatmap_geometry(cfg)
        self.network = cfg.network
        root = annotations.dataset_dir(self.data_dir, 'MSCOCO')
        self.img_dir = osp.join(root, 'images')
        self.train_annot_path = osp.join(root, 'annotations', 'person_keypoints_train2017.json')
        self.test_annot_path = osp.join(root, 'annotations', 'person_keypoints_val2017.json')
        self.human_3d_bbox_root_dir = cfg.bbox_root_file or osp.join(
            root, 'bbox_root', bbox_root_name('MSCOCO'))
        self.human_bbox_dir = osp.join(root, 'bbox', 'bbox_coco_output.json')
        if data_split == 'train':
            self.joint_num = len(COCO_JOINTS)
            self.joints_name = COCO_JOINTS
            self.flip_pairs = COCO_FLIP_PAIRS
            self.skeleton = COCO_SKELETON
            self.lshoulder_idx = COCO_JOINTS.index('L_Shoulder')
            self.rshoulder_idx = COCO_JOINTS.index('R_Shoulder')
            self.lhip_idx = COCO_JOINTS.index('L_Hip')
            self.rhip_idx = COCO_JOINTS.index('R_Hip')
            self.root_idx = COCO_JOINTS.index('Pelvis')      # added: the mid-hip
        else:
            # a MuCo-trained model: outputs MuCo's 21 joints, MuPoTS' 17 are evaluated
            out = MuCoOutputJoints
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
        db = annotations.load_coco(self.train_annot_path, 'MSCOCO annotation file',
                                   self.data_dir, ('id', 'file_name', 'width', 'height'),
                                   ('id', 'image_id', 'bbox', 'keypoints', 'num_keypoints',
                                    'iscrowd'))
        data = []
        for ann, img, bbox in boxed_annotations(
                db, lambda a: a['image_id'] not in db.imgs or a['iscrowd'] or
                a['num_keypoints'] == 0, self.input_shape):
            kps = np.asarray(ann['keypoints'], dtype=np.float64).reshape(COCO_KEYPOINT_NUM, 3)
            kps = np.concatenate([kps, [self.add_joint(kps, self.lshoulder_idx, self.rshoulder_idx),
                                        self.add_joint(kps, self.lhip_idx, self.rhip_idx)]])
            kps[:, 2] = kps[:, 2] > 0
            f, c = virtual_camera(img)
            data.append(entry_2d(osp.join(self.img_dir, 'train2017', img['file_name']), bbox,
                                 kps, f=f, c=c, img_id=img['id']))
        return data

    def _load_test(self):
        db = annotations.load_coco(self.test_annot_path, 'MSCOCO annotation file', self.data_dir,
                                   ('id', 'file_name', 'width', 'height'), ('id', 'image_id'))
        if self.network == 'RootNet':     # RootNet runs on the detected boxes
            return detection_entries(read_detections(self.human_bbox_dir, score_thresh=0.),
                                     db.imgs, osp.join(self.img_dir, 'val2017'), virtual_camera,
                                     self.input_shape, (self.human_bbox_dir,
                                                        self.test_annot_path))
        return detected_entries(read_bbox_root(self.human_3d_bbox_root_dir), db.imgs,
                                osp.join(self.img_dir, 'val2017'), self.original_joint_num,
                                virtual_camera, (self.human_3d_bbox_root_dir,
                                                 self.test_annot_path))

    def evaluate(self, preds, result_dir):
        """Write `preds_2d_kpt_coco.mat` / `preds_3d_kpt_coco.mat` (docs/SPEC.md §7).

        `preds (N, 21, 3)` heatmap space in data order. Returns `{'num_samples', 'num_images',
        'pred_2d_path', 'pred_3d_path'}`.
        """
        if self.data_split != 'test':
            raise PoseNetError("MSCOCO.evaluate needs the test split (MSCOCO('test'))")
        return export_pose_mats(self, preds, result_dir, 'coco', coco_key)[0]

    def evaluate_root(self, preds, result_dir):
        """RootNet on COCO (no 3D ground truth): writes `bbox_root_coco_output.json` (processed
        boxes, roots with the assumed camera, scores) from `preds (N, 3)` and returns
        `{'num_samples', 'result_path'}`."""
        if self.data_split != 'test':
            raise PoseNetError("MSCOCO.evaluate_root needs the test split (MSCOCO('test'))")
        _, path = export_roots(self, preds, result_dir, with_score=True)
        return {'num_samples': len(self.data), 'result_path': path}
