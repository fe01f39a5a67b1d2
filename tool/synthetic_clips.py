"""Synthetic video clips with known identities and known 2D/3D poses over time (docs/SPEC.md
§15), for the tracking and smoothing tests and `tool/benchmark.py --video_quality`.

    python tool/synthetic_clips.py --out /tmp/clips              # all scenarios, .mp4 + .json

    from tool.synthetic_clips import make_clip, noisy_estimates
    clip = make_clip('crossing', seed=0)                # ground truth (and clip.images)
    estimates = noisy_estimates(clip, seed=1)           # per-frame "pipeline output"

People are the articulated skeletons of `tool/synthetic_data.py` (its body model, rendering and
camera helpers) performing a smooth scripted action while they walk on the floor in front of a
fixed camera (1.5 m high, looking 5 m ahead), drawn frame by frame on a fixed background.
Poses are given in MuCo's 21 joints (what the pipeline outputs; root = Pelvis). Scenarios:

* `crossing`: two people walk across the view in opposite directions, 0.6 m apart in depth,
  and cross in the middle of the clip (the nearer one hides the other).
* `leave_and_return`: one person walks out of the view on the right, is out of view for
  about `OUT_FRAMES` frames (20-22 depending on the body: always longer than the tracker's
  default gap of 10), and walks back in; another person stays in view.
* `occluded`: a person walks in front of one standing farther back; the one behind is missed
  (no estimate) in the frames where more than half of their joints are hidden (0-9 frames in
  a row, depending on the poses; seed 0: 7).
* `focal`: two people walk towards and away from a camera with a long focal length and an
  off-centre principal point (`FOCAL_SCENARIO`).

The default camera of a clip has focal `CLIP_FOCAL` px (a normal lens for a 128 px wide
image), not the pipeline's 1500 px: pass `clip.f`, `clip.c` to the pipeline (`--focal`).
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np

from common.utils.errors import PoseNetError
from common.utils.file_io import atomic_path, write_json
from common.utils.pose_utils import cam2pixel, pixel2cam, world2cam
from tool.synthetic_data import (BODY_INDEX, clipped_bbox, joint_indices, look_at, pose_people,
                                 render, sample_action, sample_bodies, to_rotations)

SCENARIOS = ('crossing', 'leave_and_return', 'occluded', 'focal')
CLIP_SIZE = (128, 96)                 # (W, H) px
CLIP_FPS = 30.
CLIP_FOCAL = 150.                     # px: a normal lens for the 128 px width
FOCAL_SCENARIO = {'f': (320., 320.), 'c': (70., 44.)}
OUT_FRAMES = 22                       # leave_and_return: frames the root is beyond x = 2130 mm
JOINTS = joint_indices('MuCo')        # body-model joints written, MuCo order
ROOT = int(np.flatnonzero(JOINTS == BODY_INDEX['Pelvis'])[0])
HIDDEN_MISSED = 0.5                   # occluded: missed when more joints than this are hidden

# per-frame estimate noise (noisy_estimates): standard deviations, independent per frame
ROOT_DEPTH_SIGMA = 50.                # mm, the root's depth (RootNet's jitter)
JOINT_SIGMA = 10.                     # mm, each joint's depth relative to the root, and its
                                      # 2D position (as px at the person's depth)


class Clip:
    """Ground truth of a synthetic clip.

    `name`; `size (W, H)` px; `fps`; `f`, `c` `(2,)` px; `ids (P,)` person ids (1..P);
    `joint_cam (T, P, J, 3)` camera mm (MuCo joints); `pose_2d (T, P, J, 2)` px;
    `in_view (T, P)` bool (the root projects into the image); `detected (T, P)` bool (in view
    and not hidden: the frames where a detector finds the person); `images`: list of `T`
    `(H, W, 3)` uint8 BGR frames.
    """

    def __init__(self, name, size, fps, f, c, joint_cam, in_view, detected, images):
        self.name, self.size, self.fps = name, size, fps
        self.f, self.c = np.asarray(f, dtype=np.float64), np.asarray(c, dtype=np.float64)
        self.joint_cam, self.in_view, self.detected = joint_cam, in_view, detected
        self.pose_2d = cam2pixel(joint_cam, self.f, self.c)[..., :2]
        self.ids = np.arange(1, joint_cam.shape[1] + 1)
        self.images = images

    @property
    def num_frames(self):
        return len(self.joint_cam)

    def ground_truth(self):
        """JSON-serialisable ground truth (everything but the images)."""
        return {'name': self.name, 'size': list(self.size), 'fps': self.fps,
                'f': self.f.tolist(), 'c': self.c.tolist(), 'ids': self.ids.tolist(),
                'root_idx': ROOT, 'joint_cam': self.joint_cam.tolist(),
                'pose_2d': self.pose_2d.tolist(), 'in_view': self.in_view.tolist(),
                'detected': self.detected.tolist()}


def smooth_rotations(action, frames, heading):
    """Rotations of a person performing `action` (`sample_action`) at `frames (T,)`: the swing
    without `action_rotations`' per-frame noise, so that the ground truth itself is smooth."""
    frames = np.asarray(frames, dtype=np.float64)
    swing = np.sin(2 * np.pi * frames[:, None, None] / action['period'] + action['phase'])
    angles = action['base'] + action['amplitude'] * swing
    return to_rotations(angles, np.zeros((len(frames), 2)), np.broadcast_to(heading, len(frames)))


def walk(rng, path, heading):
    """World joints `(T, 27, 3)` mm of one person following `path (T, 2)` floor mm, facing
    `heading (T,)` deg (0: away from the camera, 90: to the camera's left)."""
    frames = np.arange(len(path))
    offsets = np.repeat(sample_bodies(rng, 1), len(path), axis=0)
    rotations = smooth_rotations(sample_action(rng), frames, heading)
    # pose_people stands each frame's pose on the floor; take the height of the mean pose so
    # that the pelvis does not bob with the swing
    world, _ = pose_people(rng, offsets, path, rotations)
    world[..., 2] += world[:, :1, 2].mean() - world[:, :1, 2]
    return world


def scenario_paths(name, num_frames):
    """Floor paths `(P, T, 2)` mm and headings `(P, T)` deg of a scenario's people."""
    t = np.arange(num_frames, dtype=np.float64)
    if name == 'crossing':
        x = 40. * (t - (num_frames - 1) / 2.)                      # 1.2 m/s, cross mid-clip
        paths = [np.stack([x, np.full_like(t, 4700.)], 1),
                 np.stack([-x, np.full_like(t, 5300.)], 1)]
        headings = [np.full_like(t, -90.), np.full_like(t, 90.)]
    elif name == 'leave_and_return':
        # out of view (root beyond the right edge, x > 2130 mm at 5 m) for OUT_FRAMES frames
        turn = num_frames / 2.
        speed = 60.                                                  # mm/frame (1.8 m/s)
        x = 2130. + speed * (OUT_FRAMES / 2. - np.abs(t - turn + 0.5))
        paths = [np.stack([x, np.full_like(t, 5000.)], 1),
                 np.stack([np.full_like(t, -1200.), np.full_like(t, 5000.)], 1)]
        headings = [np.where(t < turn, -90., 90.), np.full_like(t, 180.)]
    elif name == 'occluded':
        x = 45. * (t - (num_frames - 1) / 2.)                      # 1.35 m/s, passes mid-clip
        paths = [np.stack([x, np.full_like(t, 3800.)], 1),
                 np.stack([np.full_like(t, 0.), np.full_like(t, 5600.)], 1)]
        headings = [np.full_like(t, -90.), np.full_like(t, 180.)]
    elif name == 'focal':
        speed = 1500. / num_frames
        paths = [np.stack([np.full_like(t, -500.), 9000. + speed * t], 1),
                 np.stack([np.full_like(t, 500.), 10500. - speed * t], 1)]
        headings = [np.full_like(t, 0.), np.full_like(t, 180.)]
    else:
        raise PoseNetError(f"synthetic clip scenario {name!r}: choose one of "
                           f"{', '.join(SCENARIOS)}")
    return np.stack(paths), np.stack(headings)


def make_clip(name, seed=0, num_frames=48, size=CLIP_SIZE):
    """The ground truth and frames of scenario `name` (see the module docstring) as a `Clip`."""
    if name == 'leave_and_return' and num_frames < OUT_FRAMES + 20:
        raise PoseNetError(f"leave_and_return needs at least {OUT_FRAMES + 20} frames")
    rng = np.random.default_rng(seed)
    paths, headings = scenario_paths(name, num_frames)
    world = np.stack([walk(rng, p, h) for p, h in zip(paths, headings)], 1)   # (T, P, 27, 3)
    w, h = size
    if name == 'focal':
        f, c = np.array(FOCAL_SCENARIO['f']), np.array(FOCAL_SCENARIO['c'])
    else:
        f, c = np.full(2, CLIP_FOCAL), np.array([w / 2., h / 2.])
    R, t = look_at([0., 0., 1500.], [0., 5000., 900.])
    body_cam = world2cam(world, R, t)
    background_seed = int(rng.integers(1 << 31))
    images, detected, in_view = [], [], []
    for frame_cam in body_cam:
        # the same background every frame: render draws it from a fresh generator
        img, pix, inside, occluded = render(np.random.default_rng(background_seed), size,
                                            frame_cam, f, c)
        root = pix[:, BODY_INDEX['Pelvis']]
        view = (root[:, 0] >= 0) & (root[:, 0] < w) & (root[:, 1] >= 0) & (root[:, 1] < h)
        hidden = (occluded | ~inside)[:, JOINTS].mean(1)
        boxes_ok = np.array([clipped_bbox(p[JOINTS], size) is not None for p in pix])
        images.append(img)
        in_view.append(view)
        detected.append(view & boxes_ok & (hidden <= HIDDEN_MISSED if name == 'occluded'
                                           else True))
    return Clip(name, tuple(size), CLIP_FPS, f, c, body_cam[:, :, JOINTS],
                np.array(in_view), np.array(detected), images)


def noisy_estimates(clip, seed=0, root_depth_sigma=ROOT_DEPTH_SIGMA, joint_sigma=JOINT_SIGMA):
    """Per-frame estimates of the people `clip.detected`, as the pipeline would give them.

    Noise model (independent per frame, person and joint; Gaussian): the 2D joints move by
    `joint_sigma` mm expressed as px at the person's depth (`joint_sigma * f / Z_root`), each
    joint's depth relative to the root by `joint_sigma` mm, the root's depth by
    `root_depth_sigma` mm; the 3D pose is the noisy 2D pose back-projected at the noisy depths
    (as the pipeline does), so a root depth error also scales the pose's x, y. The box is
    `get_bbox` of the noisy 2D pose, clipped to the image.

    Returns a list of `T` lists of dicts `{'gt_id', 'bbox' (4,), 'score', 'pose_2d' (J, 2) px,
    'pose_3d' (J, 3) mm, 'root_cam' (3,) mm}` (the people in a random order per frame).
    """
    rng = np.random.default_rng(seed)
    estimates = []
    for t in range(clip.num_frames):
        people = []
        for p in rng.permutation(len(clip.ids)):
            if not clip.detected[t, p]:
                continue
            gt = clip.joint_cam[t, p]
            z_root = gt[ROOT, 2]
            num_joints = len(gt)
            px_sigma = joint_sigma * clip.f / z_root
            pose_2d = clip.pose_2d[t, p] + rng.normal(0., 1., (num_joints, 2)) * px_sigma
            depth = (z_root + rng.normal(0., root_depth_sigma)
                     + gt[:, 2] - z_root + rng.normal(0., joint_sigma, num_joints))
            pose_3d = pixel2cam(np.concatenate([pose_2d, depth[:, None]], 1), clip.f, clip.c)
            bbox = clipped_bbox(pose_2d, clip.size)
            if bbox is None:
                continue
            people.append({'gt_id': int(clip.ids[p]), 'bbox': bbox, 'score': 1.,
                           'pose_2d': pose_2d, 'pose_3d': pose_3d,
                           'root_cam': pose_3d[ROOT].copy()})
        estimates.append(people)
    return estimates


def write_video(path, images, fps):
    """Encode `images` (list of `(H, W, 3)` uint8 BGR) to `path` with OpenCV's mp4v codec."""
    h, w = images[0].shape[:2]
    with atomic_path(path) as tmp:
        writer = cv2.VideoWriter(tmp + '.mp4', cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
        if not writer.isOpened():
            raise PoseNetError(f"cannot write video {path}: OpenCV has no mp4v encoder here")
        try:
            for img in images:
                writer.write(img)
        finally:
            writer.release()
        os.replace(tmp + '.mp4', tmp)      # VideoWriter picks the container by the extension


def write_clip(clip, out_dir):
    """Write `<out_dir>/<name>.mp4` and its ground truth `<name>.json`; returns both paths."""
    video = osp.join(out_dir, clip.name + '.mp4')
    truth = osp.join(out_dir, clip.name + '.json')
    write_video(video, clip.images, clip.fps)
    write_json(truth, clip.ground_truth())
    return video, truth


def main(argv=None):
    parser = argparse.ArgumentParser(description='Write synthetic video clips with known '
                                                 'identities and poses (.mp4 + .json).')
    parser.add_argument('--out', required=True, help='folder to write the clips to')
    parser.add_argument('--scenarios', nargs='+', default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--frames', type=int, default=48, help='frames per clip')
    parser.add_argument('--overwrite', action='store_true', help='replace existing clips')
    args = parser.parse_args(argv)
    try:
        for name in args.scenarios:
            clip = make_clip(name, seed=args.seed, num_frames=args.frames)
            video = osp.join(args.out, name + '.mp4')
            if osp.exists(video) and not args.overwrite:
                raise PoseNetError(f"{video} exists; give --overwrite to replace it")
            for path in write_clip(clip, args.out):
                print(path)
    except PoseNetError as exc:
        parser.exit(2, f'error: {exc}\n')


if __name__ == '__main__':
    main()
