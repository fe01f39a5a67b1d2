"""Helpers shared by the dataset tests: tiny generated trees and perfect predictions."""
import numpy as np

from common.utils.pose_utils import cam2pixel
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


def cam_to_heatmap(joint_cam, bbox, root_depth, f, c, output_shape, depth_dim, bbox_3d_shape):
    """Inverse of `heatmap_to_cam`: camera joints `(N, J, 3)` mm -> heatmap space `(N, J, 3)`.

    What a perfect network would output for these joints in these crops (used to check
    evaluation, and to turn ground truth into predictions).
    """
    h_out, w_out = output_shape
    joint_cam = np.asarray(joint_cam, dtype=np.float64).reshape(-1, *np.shape(joint_cam)[-2:])
    bbox = np.asarray(bbox, dtype=np.float64).reshape(-1, 1, 4)
    root_depth = np.asarray(root_depth, dtype=np.float64).reshape(-1, 1)
    f = np.asarray(f, dtype=np.float64).reshape(-1, 1, 2)
    c = np.asarray(c, dtype=np.float64).reshape(-1, 1, 2)
    pixel = cam2pixel(joint_cam, f, c)
    coord = np.empty_like(joint_cam)
    coord[..., 0] = (pixel[..., 0] - bbox[..., 0]) / bbox[..., 2] * w_out
    coord[..., 1] = (pixel[..., 1] - bbox[..., 1]) / bbox[..., 3] * h_out
    coord[..., 2] = ((pixel[..., 2] - root_depth) / (bbox_3d_shape[0] / 2.) + 1.) / 2. * depth_dim
    return coord
