"""Human3.6M (SPEC section 6): 3D, single person, train and test.

Files under `<cfg.data_dir>/Human36M/`:
    annotations/Human36M_subject<S>_data.json      COCO-style images + annotations
    annotations/Human36M_subject<S>_camera.json    {cam_idx: {R (3, 3), t (3,) mm, f (2,) px,
                                                   c (2,) px}} with cam = R @ world + t
    annotations/Human36M_subject<S>_joint_3d.json  {action_idx: {subaction_idx: {frame_idx:
                                                   (17, 3) world mm}}}
    images/<file_name>
    bbox_root/bbox_root_human36m_output.json       (testing with cfg.use_gt_info = False)

Protocol 1 trains on subjects 1, 5, 6, 7, 8, 9 and tests on 11 with rigid alignment before the
error ("PA MPJPE"); protocol 2 trains on 1, 5, 6, 7, 8 and tests on 9 and 11 (MPJPE).
"""
import os.path as osp

import numpy as np

from common.utils.errors import PoseNetError
from common.utils.file_io import write_json
from common.utils.pose_utils import cam2pixel, world2cam
from data import db_utils
from data.db_utils import H36M_ACTIONS, H36M_FLIP_PAIRS, H36M_JOINTS, H36M_SKELETON
from main.config import cfg

PROTOCOL_SUBJECTS = {1: {'train': (1, 5, 6, 7, 8, 9), 'test': (11,)},
                     2: {'train': (1, 5, 6, 7, 8), 'test': (9, 11)}}
SUBSAMPLING = {'train': 5, 'test': 64}   # keep frames with frame_idx % ratio == 0


class Human36M:
    """Human3.6M samples of one split.

    `Human36M(data_split, protocol=None, scaled_procrustes=None)`: `protocol` 1 or 2 (default the
    class attribute `protocol` = 2); `scaled_procrustes` (default the class attribute, False):
    protocol 1 aligns with scale as well (the usual PA-MPJPE) instead of the original's rigid
    alignment. Entries: `img_path, img_id, action_idx, bbox (4,) px, joint_img (18, 3)
    [x_px, y_px, Z - Z_root mm], joint_cam (18, 3) mm, joint_vis (18, 1), root_cam (3,) mm,
    f (2,), c (2,) px`.
    """
    protocol = 2
    scaled_procrustes = False
    joint_num = len(H36M_JOINTS)       # 17 + Thorax
    joints_name = H36M_JOINTS
    flip_pairs = H36M_FLIP_PAIRS
    skeleton = H36M_SKELETON
    joints_have_depth = True
    eval_joint = tuple(range(17))      # Thorax (added) is not evaluated
    action_name = H36M_ACTIONS
    root_idx = H36M_JOINTS.index('Pelvis')
    lshoulder_idx = H36M_JOINTS.index('L_Shoulder')
    rshoulder_idx = H36M_JOINTS.index('R_Shoulder')

    def __init__(self, data_split, protocol=None, scaled_procrustes=None):
        db_utils.check_split('Human36M', data_split, ('train', 'test'))
        self.data_split = data_split
        if protocol is not None:
            self.protocol = protocol
        if self.protocol not in PROTOCOL_SUBJECTS:
            raise PoseNetError(f"Human36M protocol {self.protocol!r}: use 1 or 2")
        if scaled_procrustes is not None:
            self.scaled_procrustes = bool(scaled_procrustes)
        root = db_utils.dataset_dir('Human36M')
        self.img_dir = osp.join(root, 'images')
        self.annot_path = osp.join(root, 'annotations')
        self.human_bbox_root_dir = osp.join(root, 'bbox_root', 'bbox_root_human36m_output.json')
        self.data = self.load_data()

    def get_subject(self):
        """Subjects of this split under the current protocol."""
        return PROTOCOL_SUBJECTS[self.protocol][self.data_split]

    def get_subsampling_ratio(self):
        """Frames kept: `frame_idx % ratio == 0` (5 for training, 64 for testing)."""
        return SUBSAMPLING[self.data_split]

    def add_thorax(self, joint_coord):
        """`(..., 17, 3)` joints -> `(..., 18, 3)` with Thorax = mean of the two shoulders."""
        thorax = (joint_coord[..., self.lshoulder_idx, :] +
                  joint_coord[..., self.rshoulder_idx, :]) / 2
        return np.concatenate([joint_coord, thorax[..., None, :]], axis=-2)

    def _subject_file(self, subject, kind):
        return osp.join(self.annot_path, f'Human36M_subject{subject}_{kind}.json')

    def load_data(self):
        subjects = self.get_subject()
        ratio = self.get_subsampling_ratio()
        print(f'Load data of H36M Protocol {self.protocol} ({self.data_split}, subjects '
              f'{", ".join(map(str, subjects))})')
        annots, cameras, joints = [], {}, {}
        for subject in subjects:
            annots.append(db_utils.load_json(self._subject_file(subject, 'data'),
                                             'Human36M annotation file'))
            cameras[subject] = db_utils.load_json(self._subject_file(subject, 'camera'),
                                                  'Human36M camera file')
            joints[subject] = db_utils.load_json(self._subject_file(subject, 'joint_3d'),
                                                 'Human36M joint file')
        db = db_utils.merge_coco(annots)

        bbox_root = None
        if self.data_split == 'test' and not cfg.use_gt_info:
            print('Get bounding box and root from ' + self.human_bbox_root_dir)
            bbox_root = {str(r['image_id']): r
                         for r in db_utils.load_bbox_root(self.human_bbox_root_dir)}
        else:
            print('Get bounding box and root from groundtruth')

        # pick the annotations of this split, gather their world joints per camera
        picked = []
        for aid in sorted(db.anns):
            ann = db.anns[aid]
            img = db.imgs[ann['image_id']]
            if img['subject'] not in subjects or img['frame_idx'] % ratio != 0:
                continue
            try:
                world = joints[img['subject']][str(img['action_idx'])][
                    str(img['subaction_idx'])][str(img['frame_idx'])]
            except KeyError:
                raise PoseNetError(
                    f"{self._subject_file(img['subject'], 'joint_3d')}: no joints for action "
                    f"{img['action_idx']} subaction {img['subaction_idx']} frame "
                    f"{img['frame_idx']} (image {img['id']})") from None
            picked.append((ann, img, world))
        if not picked:
            return []

        # world -> camera -> image for all picked samples at once, camera by camera
        joint_world = self.add_thorax(np.asarray([w for _, _, w in picked], dtype=np.float64))
        joint_cam = np.empty_like(joint_world)
        joint_px = np.empty_like(joint_world)
        cam_keys = [(img['subject'], str(img['cam_idx'])) for _, img, _ in picked]
        params = {}
        for key in set(cam_keys):
            sel = np.array([k == key for k in cam_keys])
            cam = self._camera(cameras, *key)
            params[key] = cam
            joint_cam[sel] = world2cam(joint_world[sel], cam['R'], cam['t'])
            joint_px[sel] = cam2pixel(joint_cam[sel], cam['f'], cam['c'])

        data = []
        for n, ((ann, img, _), key) in enumerate(zip(picked, cam_keys)):
            if bbox_root is not None:
                rec = bbox_root.get(str(img['id']))
                if rec is None:
                    raise PoseNetError(f"{self.human_bbox_root_dir}: no box/root for image_id "
                                       f"{img['id']} ({img['file_name']}); the file must cover "
                                       "every test image")
                bbox = rec['bbox']        # already processed by RootNet's pipeline
            else:
                bbox = db_utils.processed_bbox(ann, img)
                if bbox is None:
                    continue
            entry = db_utils.entry_3d(osp.join(self.img_dir, img['file_name']), bbox,
                                      joint_cam[n], joint_px[n], self.root_idx,
                                      params[key]['f'], params[key]['c'],
                                      img_id=img['id'], action_idx=img['action_idx'])
            if bbox_root is not None:
                entry['root_cam'] = rec['root_cam']
            data.append(entry)
        return data

    def _camera(self, cameras, subject, cam_idx):
        try:
            cam = cameras[subject][cam_idx]
            return {k: np.asarray(cam[k], dtype=np.float64) for k in ('R', 't', 'f', 'c')}
        except KeyError as exc:
            raise PoseNetError(f"{self._subject_file(subject, 'camera')}: camera {cam_idx} "
                               f"lacks {exc} (needs R, t, f, c)") from None

    def evaluate(self, preds, result_dir):
        """Root-relative 3D error of `preds (N, 18, 3)` (heatmap space, data order).

        Prints and returns `{'protocol', 'metric', 'error' (mm, over all samples and the 17
        evaluation joints), 'per_action' {name: mm}, 'per_joint' {name: mm}, 'num_samples',
        'result_path'}` and writes `bbox_root_pose_human36m_output.json` (list of `{image_id,
        joint_cam (17, 3) root-relative mm, bbox, root_cam}`) to `result_dir` atomically.
        """
        print('Evaluation start...')
        preds = db_utils.check_preds(preds, len(self.data), self.joint_num, 'Human36M')
        _, pred_cam = db_utils.predictions_to_cam(self.data, preds)
        gt_cam = db_utils.stack_entries(self.data, 'joint_cam', (self.joint_num, 3))
        align = None
        if self.protocol == 1:
            align = 'scaled' if self.scaled_procrustes else 'rigid'
        error, pred_rel, _ = db_utils.root_relative_errors(pred_cam, gt_cam, self.root_idx,
                                                           self.eval_joint, align)

        metric = 'MPJPE' if align is None else ('PA MPJPE (scaled)' if align == 'scaled'
                                                else 'PA MPJPE')
        action_idx = np.array([e['action_idx'] for e in self.data], dtype=np.int64)
        per_action = {}
        for i, name in enumerate(self.action_name):
            sel = action_idx - 2 == i
            if sel.any():
                per_action[name] = float(error[sel].mean())
        tot = float(error.mean()) if len(error) else float('nan')
        summary = f'Protocol {self.protocol} error ({metric}) >> tot: {tot:.2f}\n'
        summary += ' '.join(f'{name}: {err:.2f}' for name, err in per_action.items())
        print(summary)

        pred_save = [{'image_id': e['img_id'], 'joint_cam': p.tolist(),
                      'bbox': np.asarray(e['bbox']).tolist(),
                      'root_cam': np.asarray(e['root_cam']).tolist()}
                     for e, p in zip(self.data, pred_rel)]
        output_path = osp.join(result_dir, 'bbox_root_pose_human36m_output.json')
        write_json(output_path, pred_save)
        print('Test result is saved at ' + output_path)
        per_joint = error.mean(axis=0) if len(error) else np.full(len(self.eval_joint), np.nan)
        return {'protocol': self.protocol, 'metric': metric, 'error': tot,
                'per_action': per_action,
                'per_joint': {self.joints_name[j]: float(v)
                              for j, v in zip(self.eval_joint, per_joint)},
                'num_samples': len(self.data), 'result_path': output_path}
