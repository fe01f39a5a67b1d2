"""Human3.6M per-sequence metadata (`.mat`) -> the three per-subject JSON files the loader reads.

Input: one folder per sequence, named `s_%02d_act_%02d_subact_%02d_ca_%02d` (subject, action
2..16, subaction 1..2, camera 1..4), holding `h36m_meta.mat` (written by `preprocess_h36m.m`):
  pose3d_world  N x 17 x 3   world joints, mm, Human3.6M's 17-joint order (Pelvis .. R_Wrist)
  R             3 x 3        world-to-camera rotation
  T             3            camera centre in world coordinates, mm (Human3.6M's convention:
                             X_cam = R (X_world - T))
  f, c          2, 2         focal length and principal point, px
  img_width, img_height      image size, px
and the frames `<folder>_%06d.jpg` (1-based: row n of pose3d_world is frame n+1).
`<meta_dir>/<folder>.mat` is accepted too. The sequence `s_11_act_02_subact_02_ca_01` is skipped
(its video is broken in the release).

Output, per subject S, in `out_dir` (docs/SPEC.md §6):
  Human36M_subject<S>_data.json     COCO-style `images` and `annotations` (one person per image)
  Human36M_subject<S>_camera.json   {cam_idx: {R 3x3, t 3, f 2, c 2}}
  Human36M_subject<S>_joint_3d.json {action_idx: {subaction_idx: {frame_idx: 17 x 3 world mm}}}

Camera convention written: the loader computes `joint_cam = R @ world + t`, so the converter
writes `t = -R @ T` (from X_cam = R (X_world - T) = R X_world - R T).

Image ids (= annotation ids) are a running count, from 0, over the converted sequences sorted by
subject, action, subaction, camera, frame: unique across every file written by one run. Convert
all subjects in one run so that ids never repeat between subjects.

    python tool/Human36M/convert_h36m.py --meta_dir data/Human36M/images \
        --out_dir data/Human36M/annotations [--subjects 1 5 6 7 8 9 11]
"""
import argparse
import os
import os.path as osp
import re

import numpy as np

from common.utils.cli import run_cli
from common.utils.errors import PoseNetError
from common.utils.file_io import write_json
from common.utils.pose_utils import cam2pixel, get_bbox, world2cam
from data.joint_sets import H36M_ACTIONS      # action_idx 2..16 -> H36M_ACTIONS[action_idx - 2]

JOINT_NUM = 17
META_NAME = 'h36m_meta.mat'
SKIP_SEQUENCES = ('s_11_act_02_subact_02_ca_01',)
SEQ_RE = re.compile(r'^s_(\d{2})_act_(\d{2})_subact_(\d{2})_ca_(\d{2})$')
CAMERA_TOL = 1e-6        # same camera in two sequences of a subject: max difference allowed
POSE_TOL_MM = 1e-3       # same world pose seen by two cameras: max difference allowed (mm)


def sequence_name(subject, action, subaction, camera):
    """Folder name of a sequence, e.g. `s_09_act_02_subact_01_ca_01`."""
    return f's_{subject:02d}_act_{action:02d}_subact_{subaction:02d}_ca_{camera:02d}'


def image_name(folder, frame_idx):
    """Image path relative to `Human36M/images/`; `frame_idx` 0-based, the file 1-based."""
    return f'{folder}/{folder}_{frame_idx + 1:06d}.jpg'


def camera_extrinsics(R, T):
    """World-to-camera `(R (3, 3), t (3,))` with `cam = R @ world + t`, from Human3.6M's `R` and
    camera centre `T` (mm, world coordinates): `t = -R @ T`."""
    R = np.asarray(R, dtype=np.float64).reshape(3, 3)
    T = np.asarray(T, dtype=np.float64).reshape(3)
    return R, -R @ T


def load_sequence_meta(path):
    """Read one `h36m_meta.mat`: dict with `pose3d_world (N, 17, 3)` mm, `R (3, 3)`, `T (3,)`
    mm, `f (2,)`, `c (2,)` px, `img_width`, `img_height` (int)."""
    import scipy.io
    try:
        mat = scipy.io.loadmat(path)
    except NotImplementedError:
        raise PoseNetError(f"{path}: MATLAB v7.3 files are not supported; save it with "
                           "save(..., '-v7')") from None
    except Exception as exc:
        raise PoseNetError(f"{path}: cannot read it as a MATLAB file ({exc})") from None
    missing = [k for k in ('pose3d_world', 'R', 'T', 'f', 'c', 'img_width', 'img_height')
               if k not in mat]
    if missing:
        raise PoseNetError(f"{path}: missing variable(s) {', '.join(missing)}; write it with "
                           "tool/Human36M/preprocess_h36m.m")
    pose = np.asarray(mat['pose3d_world'], dtype=np.float64)
    if pose.size % (JOINT_NUM * 3):
        raise PoseNetError(f"{path}: pose3d_world has shape {pose.shape}, expected N x 17 x 3")
    sizes = {k: np.asarray(mat[k], np.float64).size for k in ('R', 'T', 'f', 'c')}
    if sizes != {'R': 9, 'T': 3, 'f': 2, 'c': 2}:
        raise PoseNetError(f"{path}: camera sizes {sizes}, expected R 3x3, T 3, f 2, c 2")
    return {'pose3d_world': pose.reshape(-1, JOINT_NUM, 3),
            'R': np.asarray(mat['R'], np.float64).reshape(3, 3),
            'T': np.asarray(mat['T'], np.float64).reshape(3),
            'f': np.asarray(mat['f'], np.float64).reshape(2),
            'c': np.asarray(mat['c'], np.float64).reshape(2),
            'img_width': int(np.asarray(mat['img_width']).reshape(-1)[0]),
            'img_height': int(np.asarray(mat['img_height']).reshape(-1)[0])}


def find_sequences(meta_dir, subjects=None):
    """`[((subject, action, subaction, camera), folder, meta_path), ...]` sorted, skipping
    `SKIP_SEQUENCES` and subjects not in `subjects` (None = all)."""
    if not osp.isdir(meta_dir):
        raise PoseNetError(f"Human3.6M metadata folder not found: {meta_dir} (run "
                           "tool/Human36M/preprocess_h36m.m first, or pass --meta_dir)")
    found = {}
    for entry in os.listdir(meta_dir):
        name = entry[:-4] if entry.endswith('.mat') else entry
        m = SEQ_RE.match(name)
        if not m or name in SKIP_SEQUENCES:
            continue
        path = (osp.join(meta_dir, entry) if entry.endswith('.mat')
                else osp.join(meta_dir, entry, META_NAME))
        if not osp.isfile(path):
            continue
        key = tuple(int(g) for g in m.groups())
        if subjects is None or key[0] in subjects:
            found.setdefault(key, (name, path))
    if not found:
        raise PoseNetError(f"{meta_dir}: no s_XX_act_XX_subact_XX_ca_XX/{META_NAME} found"
                           + (f" for subjects {sorted(subjects)}" if subjects else ''))
    return [(key, name, path) for key, (name, path) in sorted(found.items())]


def sequence_records(key, folder, meta, first_id):
    """Images and annotations of one sequence, ids from `first_id`.

    Boxes: `get_bbox` of the joints projected with `cam = R @ world + t` and `cam2pixel`.
    """
    subject, action, subaction, camera = key
    R, t = camera_extrinsics(meta['R'], meta['T'])
    images, annots = [], []
    for frame_idx, world in enumerate(meta['pose3d_world']):
        img = cam2pixel(world2cam(world, R, t), meta['f'], meta['c'])
        image_id = first_id + frame_idx
        images.append({'id': image_id, 'file_name': image_name(folder, frame_idx),
                       'width': meta['img_width'], 'height': meta['img_height'],
                       'subject': subject, 'action_name': H36M_ACTIONS[action - 2],
                       'action_idx': action, 'subaction_idx': subaction, 'cam_idx': camera,
                       'frame_idx': frame_idx})
        annots.append({'id': image_id, 'image_id': image_id, 'category_id': 1, 'iscrowd': 0,
                       'bbox': get_bbox(img[:, :2]).tolist(), 'keypoints_vis': [1] * JOINT_NUM})
    return images, annots


def _same(a, b, tol):
    return np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))) <= tol


def add_camera(cameras, key, meta, where):
    """Record the camera `{R, t, f, c}` of `key` in `cameras` (per subject, by cam_idx);
    a different camera already recorded for the same index is an error."""
    R, t = camera_extrinsics(meta['R'], meta['T'])
    cam = {'R': R.tolist(), 't': t.tolist(), 'f': meta['f'].tolist(), 'c': meta['c'].tolist()}
    old = cameras.setdefault(str(key[3]), cam)
    if old is not cam and not all(_same(old[k], cam[k], CAMERA_TOL) for k in cam):
        raise PoseNetError(f"{where}: camera {key[3]} of subject {key[0]} differs from the one in "
                           "another sequence of that subject; regenerate the metadata")


def add_joints(joints, key, meta, where):
    """Record the world joints `(N, 17, 3)` of a take `(action, subaction)` in `joints`; another
    camera's copy of the same take must agree on the frames both have (within `POSE_TOL_MM`);
    the longer copy is kept."""
    take = (key[1], key[2])
    pose = meta['pose3d_world']
    old = joints.get(take)
    if old is not None:
        n = min(len(old), len(pose))
        if n and not _same(old[:n], pose[:n], POSE_TOL_MM):
            raise PoseNetError(f"{where}: world joints differ from another camera's copy of the "
                               "same take; regenerate the metadata")
        pose = pose if len(pose) > len(old) else old
    joints[take] = pose


def joints_json(joints):
    """`{(action, subaction): (N, 17, 3)}` -> `{action: {subaction: {frame: 17 x 3}}}`."""
    out = {}
    for (action, subaction), pose in sorted(joints.items()):
        out.setdefault(str(action), {})[str(subaction)] = {
            str(i): frame for i, frame in enumerate(pose.tolist())}
    return out


def convert(meta_dir, out_dir, subjects=None, verbose=True):
    """Convert every sequence under `meta_dir`; write the per-subject JSON files into `out_dir`.

    Returns the list of written paths.
    """
    subjects = None if subjects is None else {int(s) for s in subjects}
    seqs = find_sequences(meta_dir, subjects)
    per_subject = {}
    next_id = 0
    for key, folder, path in seqs:
        meta = load_sequence_meta(path)
        out = per_subject.setdefault(key[0], {'images': [], 'annotations': [], 'cameras': {},
                                              'joints': {}})
        images, annots = sequence_records(key, folder, meta, next_id)
        next_id += len(images)
        out['images'] += images
        out['annotations'] += annots
        add_camera(out['cameras'], key, meta, path)
        add_joints(out['joints'], key, meta, path)
        if verbose:
            print(f'{folder}: {len(images)} frames')
    written = []
    for subject, out in sorted(per_subject.items()):
        base = osp.join(out_dir, f'Human36M_subject{subject}')
        data = {'images': out['images'], 'annotations': out['annotations'],
                'categories': [{'id': 1, 'name': 'person'}]}
        for suffix, obj in (('data', data), ('camera', out['cameras']),
                            ('joint_3d', joints_json(out['joints']))):
            path = f'{base}_{suffix}.json'
            write_json(path, obj, separators=(',', ':'))
            written.append(path)
        if verbose:
            print(f'subject {subject}: {len(out["images"])} images -> {base}_*.json')
    return written


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert Human3.6M per-sequence h36m_meta.mat files into the per-subject '
                    'JSON annotation files of the Human36M loader.')
    parser.add_argument('--meta_dir', default=osp.join('data', 'Human36M', 'images'),
                        help='folder holding the s_XX_act_XX_subact_XX_ca_XX sequence folders')
    parser.add_argument('--out_dir', default=osp.join('data', 'Human36M', 'annotations'),
                        help='where to write Human36M_subject<S>_{data,camera,joint_3d}.json')
    parser.add_argument('--subjects', type=int, nargs='+', default=None,
                        help='subjects to convert (default: all found)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return convert(args.meta_dir, args.out_dir, args.subjects)


if __name__ == '__main__':
    run_cli(main)
