"""Helpers shared by the dataset tests: tiny generated trees and perfect predictions."""
import numpy as np

from common.utils.pose_utils import cam_to_heatmap
from data.entries import stack_entries
from tool.synthetic_data import generate

SMALL = dict(img_size=128, num_images=3, num_sequences=2, num_frames=3, h36m_actions=2,
             h36m_cameras=2)


def make_tree(tmp_path_factory, name, **kwargs):
    """Generate a small synthetic data_dir; returns `(path, ground truth)`."""
    out = tmp_path_factory.mktemp(name)
    options = dict(SMALL, **kwargs)
    return str(out), generate(str(out), **options)


def perfect_predictions(db, joint_cam=None):
    """Heatmap-space outputs `(N, db.joint_num, 3)` that reproduce `joint_cam` (default: each
    entry's ground truth) in each entry's crop, with the test set's heatmap geometry; joints
    beyond those given stay at 0."""
    if joint_cam is None:
        joint_cam = np.stack([e['joint_cam'] for e in db.data])
    coord = cam_to_heatmap(joint_cam, stack_entries(db.data, 'bbox', (4,)),
                           stack_entries(db.data, 'root_cam', (3,))[:, 2],
                           stack_entries(db.data, 'f', (2,)), stack_entries(db.data, 'c', (2,)),
                           *db.heatmap)
    preds = np.zeros((len(db.data), db.joint_num, 3))
    preds[:, :coord.shape[1]] = coord
    return preds
