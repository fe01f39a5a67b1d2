"""Annotation-only Human3.6M trees of any size, in the published file formats (no images).

    python tool/h36m_annotation_tree.py --out /tmp/h36m                  # full size (~1 GB)
    python tool/h36m_annotation_tree.py --out /tmp/h36m --frames 70     # 1/20

    from tool.h36m_annotation_tree import write_tree
    write_tree(out_dir, subjects=(1, 5, 9, 11), actions=2, subactions=2, cameras=2, frames=130)

Writes `<out_dir>/Human36M/annotations/Human36M_subject<S>_{data,camera,joint_3d}.json` for every
subject (the real dataset: 7 subjects x 15 actions x 2 subactions x 4 cameras x about 1,400
frames) and `<out_dir>/Human36M/bbox_root/bbox_root_human36m_output.json` (one record per test
image of subjects 9 and 11, frames `% 64 == 0`). Files follow the real ones' order: images by
action, subaction, camera, frame; one annotation per image. Poses are a standing skeleton with
random noise walking around the room; for loading speed and memory, not for learning.
`measure_load` times and measures one loading in the current process (`tool/benchmark.py
--h36m_loading` runs it in fresh processes).
"""
import argparse
import os.path as osp

import numpy as np

from common.utils.file_io import write_json
from data.joint_sets import H36M_ACTIONS

SUBJECTS = (1, 5, 6, 7, 8, 9, 11)
TEST_SUBJECTS = (9, 11)
# Human3.6M's 17 joints standing (world mm, z up): Pelvis, R_Hip, R_Knee, R_Ankle, L_Hip,
# L_Knee, L_Ankle, Torso, Neck, Nose, Head, L_Shoulder, L_Elbow, L_Wrist, R_Shoulder, R_Elbow,
# R_Wrist
SKELETON = np.array([[0, 0, 900], [-130, 0, 900], [-130, 0, 470], [-130, 0, 60], [130, 0, 900],
                     [130, 0, 470], [130, 0, 60], [0, 0, 1130], [0, 0, 1400], [0, -80, 1500],
                     [0, 0, 1600], [170, 0, 1380], [200, 0, 1100], [210, 0, 860],
                     [-170, 0, 1380], [-200, 0, 1100], [-210, 0, 860]], dtype=np.float64)
IMG_SIZE = (1000, 1002)                      # width, height


def cameras(rng, num):
    """`{cam_idx: {R, t, f, c}}`: cameras around the room at 1.5 m height looking at its centre
    from about 5 m (world z up; camera x right, y down, z forward)."""
    out = {}
    for k in range(1, num + 1):
        angle = 2 * np.pi * (k - 1) / max(num, 1) + rng.uniform(-.2, .2)
        forward = np.array([-np.sin(angle), -np.cos(angle), 0.])   # towards the centre
        right = np.cross(forward, [0., 0., 1.])
        R = np.stack([right, np.cross(forward, right), forward])    # rows: x, y, z of the camera
        centre = -5000. * forward + [0., 0., 1500.]
        out[k] = {'R': R, 't': -R @ centre, 'f': rng.uniform(1140, 1150, 2),
                  'c': rng.uniform(490, 520, 2)}
    return out


def write_subject(out_dir, subject, rng, actions, subactions, num_cameras, frames, first_id):
    """The three files of one subject; returns `(next image id, bbox_root records)`."""
    cams = cameras(rng, num_cameras)
    images, anns, joint_3d, records = [], [], {}, []
    img_id = first_id
    for action in range(2, 2 + actions):
        for sub in range(1, subactions + 1):
            walk = np.cumsum(rng.normal(0, 5, (frames, 1, 3)) * [1, 1, 0], axis=0)
            world = SKELETON + walk + rng.normal(0, 20, (frames, 17, 3))
            joint_3d.setdefault(str(action), {})[str(sub)] = {str(f): world[f]
                                                              for f in range(frames)}
            for k, cam in cams.items():
                joint_cam = world @ cam['R'].T + cam['t']
                pix = joint_cam[..., :2] / joint_cam[..., 2:] * cam['f'] + cam['c']
                low, high = pix.min(axis=1), pix.max(axis=1)
                bbox = np.concatenate([low, high - low], axis=1)
                folder = f's_{subject:02d}_act_{action:02d}_subact_{sub:02d}_ca_{k:02d}'
                for f in range(frames):
                    img_id += 1
                    images.append({'id': img_id,
                                   'file_name': f'{folder}/{folder}_{f + 1:06d}.jpg',
                                   'width': IMG_SIZE[0], 'height': IMG_SIZE[1],
                                   'subject': subject, 'action_name': H36M_ACTIONS[action - 2],
                                   'action_idx': action, 'subaction_idx': sub, 'cam_idx': k,
                                   'frame_idx': f})
                    anns.append({'id': img_id, 'image_id': img_id, 'bbox': bbox[f],
                                 'keypoints_vis': [True] * 17})
                    if subject in TEST_SUBJECTS and f % 64 == 0:
                        records.append({'image_id': img_id, 'bbox': bbox[f],
                                        'root_cam': joint_cam[f, 0]})
    prefix = osp.join(out_dir, 'Human36M', 'annotations', f'Human36M_subject{subject}')
    write_json(prefix + '_data.json', {'images': images, 'annotations': anns,
                                       'categories': [{'id': 1, 'name': 'person'}]})
    write_json(prefix + '_camera.json', {str(k): cam for k, cam in cams.items()})
    write_json(prefix + '_joint_3d.json', joint_3d)
    return img_id, records


def write_tree(out_dir, subjects=SUBJECTS, actions=15, subactions=2, cameras=4, frames=1400,
               seed=0):
    """Write an annotation-only Human3.6M tree under `out_dir` (a `cfg.data_dir`); returns
    the number of images (= annotations) written."""
    if not (1 <= actions <= len(H36M_ACTIONS) and subactions >= 1 and cameras >= 1 and
            frames >= 1):
        raise ValueError('need 1..15 actions and at least one subaction, camera and frame')
    rng = np.random.default_rng(seed)
    img_id, records = 0, []
    for subject in subjects:
        img_id, recs = write_subject(out_dir, subject, rng, actions, subactions, cameras, frames,
                                     img_id)
        records += recs
    write_json(osp.join(out_dir, 'Human36M', 'bbox_root', 'bbox_root_human36m_output.json'),
               records)
    return img_id


def rss_kib(field):
    """`VmRSS` / `VmHWM` (peak) of this process in KiB, from /proc/self/status."""
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ':'))


def measure_load(data_dir, how='ours', split='train'):
    """`{'seconds', 'peak_mib', 'entries'}` of loading Human3.6M `split` (protocol 2) from
    `data_dir` in this process: `how` 'ours' (`Human36M(split, cfg)`) or 'original' (the
    original's procedure, `tool/reference.py`). `peak_mib`: peak RSS during the loading above
    the RSS before it (the peak is reset first; Linux), so what the imports took is left out.
    Run it in a fresh process (`tool/benchmark.py --h36m_loading` does)."""
    import contextlib
    import io
    import time

    from data.Human36M.Human36M import Human36M
    from main.config import Config
    from tool import reference
    cfg = Config(data_dir=data_dir)
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')                              # peak RSS := current RSS (Linux)
    base = rss_kib('VmRSS')
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        data = reference.h36m_load(data_dir, split) if how == 'original' else \
            Human36M(split, cfg).data
    seconds = time.perf_counter() - start
    return {'seconds': seconds, 'peak_mib': (rss_kib('VmHWM') - base) / 1024,
            'entries': len(data)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='data folder (cfg.data_dir) to write')
    parser.add_argument('--subjects', type=int, nargs='+', default=list(SUBJECTS))
    parser.add_argument('--actions', type=int, default=15)
    parser.add_argument('--subactions', type=int, default=2)
    parser.add_argument('--cameras', type=int, default=4)
    parser.add_argument('--frames', type=int, default=1400, help='frames per sequence')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    num = write_tree(args.out, args.subjects, args.actions, args.subactions, args.cameras,
                     args.frames, args.seed)
    print(f'{num} images / annotations under {osp.join(args.out, "Human36M")}')


if __name__ == '__main__':
    main()
