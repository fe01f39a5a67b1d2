"""Synthetic datasets in the exact published formats (docs/SPEC.md §6), for tests and smoke runs.

    python tool/synthetic_data.py --out data                       # all five, small, seconds
    python tool/synthetic_data.py --out /tmp/d --datasets Human36M MuPoTS --seed 3 --img_size 512

    from tool.synthetic_data import generate
    gt = generate(out_dir, datasets=['MuCo'], seed=0, num_images=4, img_size=128)

People are articulated 3D skeletons (one body model, `BODY`: 27 joints with bone lengths of an
adult, scaled per person 0.88-1.12 with +-4 % per bone) in random poses within joint limits,
standing on the floor (world: z up, mm) in front of pinhole cameras `cam = R @ world + t`
(x right, y down, z forward). Every dataset's joint set is a selection of the body model's
joints (`JOINT_SOURCES`). Images show each person as a drawn figure, far to near: every body
part has its own colour, left limbs warm and right limbs cool; lines are thicker and brighter
the nearer a segment is, so 2D position and relative depth can be learnt from the pixels.

What is written under `out_dir` (a `cfg.data_dir`):
    Human36M/annotations/Human36M_subject<S>_{data,camera,joint_3d}.json, images/, bbox_root/
    MPII/annotations/train.json, images/
    MSCOCO/annotations/person_keypoints_{train,val}2017.json, images/{train,val}2017/, bbox_root/,
        bbox/ (detections of the val people)
    MuCo/data/MuCo-3DHP.json, data/unaugmented_set/
    MuPoTS/data/MuPoTS-3D.json, data/MultiPersonTestSet/TS<n>/{img_%06d.jpg, annot.mat,
        occlusion.mat}, bbox_root/, bbox/ (detections)
    <Name>/SYNTHETIC_DATA.txt   (marks a generated folder; only such folders are overwritten)

`generate` returns the ground truth it used (see its docstring), for tests.
"""
import argparse
import os
import os.path as osp
import shutil

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from common.utils.errors import PoseNetError
from common.utils.file_io import savemat, write_json, write_text
from common.utils.pose_utils import cam2pixel, get_bbox, pixel2cam, process_bbox, world2cam
from data import joint_sets

DATASETS = ('Human36M', 'MPII', 'MSCOCO', 'MuCo', 'MuPoTS')
H36M_SUBJECTS = (1, 5, 6, 7, 8, 9, 11)
H36M_TEST_SUBJECTS = (9, 11)                   # bbox_root records (test of either protocol)
H36M_FRAMES = (0, 5, 10, 64, 65, 128)          # kept: train (%5) 0 5 10 65, test (%64) 0 64 128
MARKER = 'SYNTHETIC_DATA.txt'
ROOTNET_INPUT_SHAPE = (256, 256)               # boxes in bbox_root files: RootNet's crop aspect
COCO_FOCAL = 1500.                             # the virtual COCO camera (px)

# -- body model -----------------------------------------------------------------------------------
# (joint, parent, offset from the parent in mm in the body frame: x = the person's right,
#  y = forward, z = up — right-handed, so a person facing the camera shows the left side on the
#  image's right; the rest pose stands with the arms hanging)
BODY = (
    ('Pelvis', None, (0, 0, 0)),
    ('Spine', 'Pelvis', (0, 0, 220)),
    ('Thorax', 'Spine', (0, 0, 250)),
    ('Neck', 'Thorax', (0, 10, 90)),
    ('Head', 'Neck', (0, 15, 100)),
    ('Head_top', 'Head', (0, 0, 110)),
    ('Nose', 'Head', (0, 95, -10)),
    ('L_Eye', 'Head', (-32, 80, 25)),
    ('R_Eye', 'Head', (32, 80, 25)),
    ('L_Ear', 'Head', (-75, 0, 10)),
    ('R_Ear', 'Head', (75, 0, 10)),
    ('L_Shoulder', 'Thorax', (-175, -10, -15)),
    ('L_Elbow', 'L_Shoulder', (0, 0, -285)),
    ('L_Wrist', 'L_Elbow', (0, 0, -255)),
    ('L_Hand', 'L_Wrist', (0, 0, -90)),
    ('R_Shoulder', 'Thorax', (175, -10, -15)),
    ('R_Elbow', 'R_Shoulder', (0, 0, -285)),
    ('R_Wrist', 'R_Elbow', (0, 0, -255)),
    ('R_Hand', 'R_Wrist', (0, 0, -90)),
    ('L_Hip', 'Pelvis', (-125, 0, -20)),
    ('L_Knee', 'L_Hip', (0, 0, -445)),
    ('L_Ankle', 'L_Knee', (0, 0, -435)),
    ('L_Toe', 'L_Ankle', (0, 140, -60)),
    ('R_Hip', 'Pelvis', (125, 0, -20)),
    ('R_Knee', 'R_Hip', (0, 0, -445)),
    ('R_Ankle', 'R_Knee', (0, 0, -435)),
    ('R_Toe', 'R_Ankle', (0, 140, -60)),
)
BODY_JOINTS = tuple(b[0] for b in BODY)
BODY_INDEX = {name: i for i, name in enumerate(BODY_JOINTS)}
PARENT = tuple(-1 if b[1] is None else BODY_INDEX[b[1]] for b in BODY)
REST_OFFSET = np.array([b[2] for b in BODY], dtype=np.float64)            # (27, 3) mm
# bones of both sides share their length factor: index of the left twin of each joint
TWIN = tuple(BODY_INDEX.get(n.replace('R_', 'L_', 1), i) for i, n in enumerate(BODY_JOINTS))

# joint limits in degrees about the parent's x (flexion), y (abduction), z (twist) axes;
# rotation at a joint turns everything below it. Joints not listed stay at rest.
LIMITS = {
    'Spine': ((-35, 10), (-15, 15), (-25, 25)),
    'Thorax': ((-15, 10), (-10, 10), (-15, 15)),
    'Neck': ((-30, 20), (-20, 20), (-40, 40)),
    'Head': ((-20, 15), (-10, 10), (-10, 10)),
    'L_Shoulder': ((-40, 150), (-10, 150), (-30, 30)),
    'R_Shoulder': ((-40, 150), (-150, 10), (-30, 30)),
    'L_Elbow': ((0, 145), (0, 0), (0, 0)),
    'R_Elbow': ((0, 145), (0, 0), (0, 0)),
    'L_Wrist': ((-40, 40), (-20, 20), (0, 0)),
    'R_Wrist': ((-40, 40), (-20, 20), (0, 0)),
    'L_Hip': ((-25, 100), (-8, 40), (-20, 20)),
    'R_Hip': ((-25, 100), (-40, 8), (-20, 20)),
    'L_Knee': ((-135, 0), (0, 0), (0, 0)),
    'R_Knee': ((-135, 0), (0, 0), (0, 0)),
    'L_Ankle': ((-20, 30), (0, 0), (0, 0)),
    'R_Ankle': ((-20, 30), (0, 0), (0, 0)),
}

# each dataset's joints as body-model joints (dataset name -> body joint where they differ)
RENAME = {'Human36M': {'Torso': 'Spine', 'Head': 'Head_top'},
          'MPII': {'Head': 'Head_top'}}
JOINT_SOURCES = {
    'Human36M': joint_sets.H36M_JOINTS[:17],
    'MPII': joint_sets.MPII_JOINTS,
    'MSCOCO': joint_sets.COCO_JOINTS[:joint_sets.COCO_KEYPOINT_NUM],
    'MuCo': joint_sets.MUCO_JOINTS,
    'MuPoTS': joint_sets.MUPOTS_JOINTS,
}


def joint_indices(dataset):
    """Indices into `BODY_JOINTS` of the joints written for `dataset`, in its order."""
    rename = RENAME.get(dataset, {})
    return np.array([BODY_INDEX[rename.get(n, n)] for n in JOINT_SOURCES[dataset]])


def sample_bodies(rng, n):
    """Bone offsets `(n, 27, 3)` mm of `n` people: rest offsets x body scale x bone jitter."""
    scale = rng.uniform(0.88, 1.12, size=(n, 1))
    jitter = rng.uniform(0.96, 1.04, size=(n, len(BODY)))[:, TWIN]
    return REST_OFFSET[None] * (scale * jitter)[..., None]


LIMIT_LO = np.zeros((len(BODY), 3))
LIMIT_HI = np.zeros((len(BODY), 3))
for _name, _limits in LIMITS.items():
    LIMIT_LO[BODY_INDEX[_name]], LIMIT_HI[BODY_INDEX[_name]] = np.array(_limits, dtype=np.float64).T


def sample_angles(rng, n):
    """Joint angles `(n, 27, 3)` degrees, uniform within `LIMITS` (0 for joints without)."""
    return rng.uniform(LIMIT_LO, LIMIT_HI, size=(n,) + LIMIT_LO.shape)


def to_rotations(angles, tilt, heading):
    """Local rotations `(n, 27, 3, 3)` from joint angles `(n, 27, 3)` deg, and the global one
    `(n, 3, 3)` from a tilt `(n, 2)` and a heading about the vertical `(n,)` deg."""
    n = len(angles)
    local = Rotation.from_euler('xyz', angles.reshape(-1, 3), degrees=True).as_matrix()
    root = Rotation.from_euler('xyz', np.concatenate([tilt, np.reshape(heading, (n, 1))], 1),
                               degrees=True)
    return local.reshape(n, len(BODY), 3, 3), root.as_matrix()


def sample_rotations(rng, n):
    """Random local joint rotations `(n, 27, 3, 3)` within `LIMITS` and a global one `(n, 3, 3)`.

    The global rotation turns the body about the vertical (any heading) and tilts it a little.
    """
    angles = sample_angles(rng, n)
    return to_rotations(angles, rng.uniform(-8, 8, size=(n, 2)), rng.uniform(-180, 180, size=n))


def sample_action(rng):
    """A scripted action, as Human3.6M's subjects perform the same scripts: a base pose, a swing
    of every joint around it (amplitude up to a third of the joint's range, its own phase) and a
    period in frames. Returns a dict of arrays."""
    return {'base': sample_angles(rng, 1)[0],
            'amplitude': rng.uniform(0, 1. / 3, size=LIMIT_LO.shape) * (LIMIT_HI - LIMIT_LO),
            'phase': rng.uniform(0, 2 * np.pi, size=LIMIT_LO.shape),
            'period': rng.uniform(60, 200)}


def action_rotations(rng, action, frames, heading, sway):
    """Rotations of one subject performing `action` at frame indices `frames` `(n,)`: the swing
    plus a little per-frame noise, the body turning `sway` degrees either way around `heading`
    (0 = facing the world's +y axis)."""
    frames = np.asarray(frames, dtype=np.float64)
    swing = np.sin(2 * np.pi * frames[:, None, None] / action['period'] + action['phase'])
    angles = action['base'] + action['amplitude'] * swing
    angles += rng.normal(0, 0.03, size=angles.shape) * (LIMIT_HI - LIMIT_LO)
    angles = np.clip(angles, LIMIT_LO, LIMIT_HI)
    tilt = rng.uniform(-4, 4, size=(len(frames), 2))
    turn = sway * np.sin(2 * np.pi * frames / (2 * action['period']) + rng.uniform(0, 2 * np.pi))
    return to_rotations(angles, tilt, heading + turn)


def forward_kinematics(offsets, local, root):
    """Joint positions `(n, 27, 3)` mm relative to the pelvis, in world axes.

    `offsets (n, 27, 3)` body-frame bones, `local (n, 27, 3, 3)` joint rotations, `root (n, 3, 3)`.
    """
    n = len(offsets)
    glob = np.empty((n, len(BODY), 3, 3))
    pos = np.zeros((n, len(BODY), 3))
    for j, p in enumerate(PARENT):
        if p < 0:
            glob[:, j] = root @ local[:, j]
            continue
        pos[:, j] = pos[:, p] + np.einsum('nij,nj->ni', glob[:, p], offsets[:, j])
        glob[:, j] = glob[:, p] @ local[:, j]
    return pos


def pose_people(rng, offsets, positions, rotations=None):
    """Poses of people with bones `offsets (n, 27, 3)` standing at `positions (n, 2)` mm; random
    unless `rotations = (local (n, 27, 3, 3), root (n, 3, 3))` is given.

    Returns `(joint_world, univ_world)`, both `(n, 27, 3)` world mm (z up; the lowest joint
    40 mm above the floor z = 0): the person, and the same pose on the universal (unscaled)
    skeleton with the same pelvis position (MuPoTS' `univ_annot3`).
    """
    local, root = sample_rotations(rng, len(offsets)) if rotations is None else rotations
    body = forward_kinematics(offsets, local, root)
    univ = forward_kinematics(np.broadcast_to(REST_OFFSET, offsets.shape), local, root)
    pelvis = np.zeros((len(offsets), 1, 3))
    pelvis[:, 0, :2] = positions
    pelvis[:, 0, 2] = 40. - body[:, :, 2].min(axis=1)
    return body + pelvis, univ + pelvis


def place_on_floor(rng, n, depth_range, half_width, min_gap=350.):
    """`n` floor positions `(n, 2)` mm (x lateral, y forward) at least `min_gap` apart.

    `depth_range`: forward distance range; `half_width(depth)`: allowed |x| at that depth.
    """
    positions = []
    for _ in range(1000 * n):
        if len(positions) == n:
            break
        y = rng.uniform(*depth_range)
        x = rng.uniform(-1, 1) * half_width(y)
        if all(np.hypot(x - px, y - py) >= min_gap for px, py in positions):
            positions.append((x, y))
    while len(positions) < n:     # crowded scene: accept the gap rule being broken
        positions.append((rng.uniform(-1, 1) * half_width(depth_range[1]), depth_range[1]))
    return np.array(positions)


# -- cameras -------------------------------------------------------------------------------------
def look_at(position, target):
    """`(R, t)` of a camera at `position` looking at `target` (world mm, z up).

    `cam = R @ world + t`; camera axes x right, y down, z forward.
    """
    position = np.asarray(position, dtype=np.float64)
    z = np.asarray(target, dtype=np.float64) - position
    z /= np.linalg.norm(z)
    x = np.cross(z, [0., 0., 1.])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    return R, -R @ position


def intrinsics(rng, size, focal_factor):
    """`(f (2,), c (2,))` px for an image `size = (W, H)`: focal `focal_factor * W` (+-0.5 %),
    principal point near the centre."""
    w, h = size
    f = focal_factor * w * (1 + rng.normal(0, 0.005, size=2))
    c = np.array([w / 2., h / 2.]) + rng.normal(0, 0.005, size=2) * np.array([w, h])
    return f, c


def front_camera(rng, size, focal_range):
    """A camera for a multi-person scene: at the origin 1.0-1.8 m high looking forward (+y),
    slightly down. Returns a dict `R, t, f, c` and the allowed |x| per forward distance."""
    f, c = intrinsics(rng, size, rng.uniform(*focal_range))
    height = rng.uniform(1000, 1800)
    R, t = look_at([0., 0., height], [rng.normal(0, 100), 5000., rng.uniform(700, 1100)])
    half_fov = size[0] / 2. / f[0]
    return {'R': R, 't': t, 'f': f, 'c': c}, (lambda d: max(0., d * half_fov * 0.8 - 350.))


# -- rendering -------------------------------------------------------------------------------------
SHIFT = 4                 # sub-pixel bits for OpenCV drawing
SEGMENTS = 3              # each bone is drawn in pieces, each shaded by its own depth
# (from, to, colour BGR, radius mm)
LIMBS = (
    ('Pelvis', 'Spine', (225, 225, 225), 60), ('Spine', 'Thorax', (245, 245, 245), 60),
    ('Thorax', 'Neck', (190, 215, 240), 40), ('Neck', 'Head', (190, 215, 240), 40),
    ('Thorax', 'L_Shoulder', (90, 90, 235), 40), ('L_Shoulder', 'L_Elbow', (0, 0, 255), 50),
    ('L_Elbow', 'L_Wrist', (0, 140, 255), 40), ('L_Wrist', 'L_Hand', (0, 230, 255), 32),
    ('Thorax', 'R_Shoulder', (235, 90, 90), 40), ('R_Shoulder', 'R_Elbow', (255, 0, 0), 50),
    ('R_Elbow', 'R_Wrist', (255, 200, 0), 40), ('R_Wrist', 'R_Hand', (200, 255, 120), 32),
    ('Pelvis', 'L_Hip', (150, 70, 235), 50), ('L_Hip', 'L_Knee', (130, 0, 200), 65),
    ('L_Knee', 'L_Ankle', (210, 110, 255), 50), ('L_Ankle', 'L_Toe', (120, 120, 255), 40),
    ('Pelvis', 'R_Hip', (120, 200, 60), 50), ('R_Hip', 'R_Knee', (0, 190, 0), 65),
    ('R_Knee', 'R_Ankle', (100, 255, 170), 50), ('R_Ankle', 'R_Toe', (70, 150, 70), 40),
)
# (centre joint, colour BGR, radius mm)
BLOBS = (('Head', (150, 190, 230), 105), ('Head_top', (40, 50, 70), 55),
         ('Nose', (40, 40, 170), 22), ('L_Eye', (20, 20, 20), 13), ('R_Eye', (20, 20, 20), 13))
TORSO = (('L_Shoulder', 'R_Shoulder', 'R_Hip', 'L_Hip'), (160, 160, 160))


def shade(colour, z_rel):
    """Colour darkened with depth behind the root (`z_rel` mm), brightened in front of it."""
    factor = np.clip(0.8 - 0.4 * z_rel / 500., 0.35, 1.2)
    return tuple(float(min(255., ch * factor)) for ch in colour)


def person_primitives(pix, z, f):
    """Drawing primitives of one person, far to near.

    `pix (27, 2)` px, `z (27,)` camera depth mm, `f` focal length px. Each primitive is
    `(depth, kind, points, colour, size_px)` with kind 'line', 'circle' or 'poly'.
    """
    z_root = z[BODY_INDEX['Pelvis']]
    prims = []
    for a, b, colour, radius in LIMBS:
        ia, ib = BODY_INDEX[a], BODY_INDEX[b]
        ends = np.linspace(0., 1., SEGMENTS + 1)
        for s0, s1 in zip(ends[:-1], ends[1:]):
            p0 = pix[ia] + (pix[ib] - pix[ia]) * s0
            p1 = pix[ia] + (pix[ib] - pix[ia]) * s1
            depth = z[ia] + (z[ib] - z[ia]) * (s0 + s1) / 2.
            prims.append((depth, 'line', np.stack([p0, p1]), shade(colour, depth - z_root),
                          2. * radius * f / depth))
    for name, colour, radius in BLOBS:
        i = BODY_INDEX[name]
        prims.append((z[i], 'circle', pix[i:i + 1], shade(colour, z[i] - z_root),
                      radius * f / z[i]))
    corners = [BODY_INDEX[n] for n in TORSO[0]]
    depth = z[corners].mean()
    prims.append((depth, 'poly', pix[corners], shade(TORSO[1], depth - z_root), 0.))
    prims.sort(key=lambda p: -p[0])
    return prims


def draw(img, kind, points, colour, size, line_type):
    """One primitive onto `img` (in place), sub-pixel precise."""
    lim = 8 * max(img.shape)
    pts = np.round(np.clip(points, -lim, lim) * (1 << SHIFT)).astype(np.int32)
    if kind == 'line':
        thickness = int(np.clip(round(size), 1, 255))
        cv2.line(img, tuple(map(int, pts[0])), tuple(map(int, pts[1])), colour, thickness,
                 line_type, SHIFT)
        cv2.circle(img, tuple(map(int, pts[1])), int(round(size / 2. * (1 << SHIFT))), colour, -1,
                   line_type, SHIFT)
    elif kind == 'circle':
        cv2.circle(img, tuple(map(int, pts[0])), max(1 << SHIFT, int(round(size * (1 << SHIFT)))),
                   colour, -1, line_type, SHIFT)
    else:
        cv2.fillPoly(img, [pts], colour, line_type, SHIFT)


def background(rng, size):
    """A smooth random colour field with a little noise, `(H, W, 3)` uint8."""
    w, h = size
    grid = rng.integers(30, 200, size=(3, 3, 3)).astype(np.uint8)
    img = cv2.resize(grid, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float64)
    img += rng.normal(0, 5, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def render(rng, size, body_cam, f, c):
    """Image of people given by their body joints `body_cam (P, 27, 3)` camera mm.

    `size = (W, H)`; `f, c (2,)` px. Returns `(img (H, W, 3) uint8 BGR, pix (P, 27, 2) px,
    inside (P, 27) bool, occluded (P, 27) bool)`: a joint is occluded when a nearer person is
    drawn over its pixel.
    """
    img = background(rng, size)
    owner = np.zeros(img.shape[:2], dtype=np.uint8)      # draw rank + 1 of the top person
    pix = cam2pixel(body_cam, f, c)[..., :2]
    order = np.argsort(-body_cam[:, BODY_INDEX['Pelvis'], 2], kind='stable')
    focal = float(np.mean(f))
    for rank, p in enumerate(order):
        for _, kind, points, colour, px_size in person_primitives(pix[p], body_cam[p, :, 2], focal):
            draw(img, kind, points, colour, px_size, cv2.LINE_AA)
            draw(owner, kind, points, (rank + 1,), px_size, cv2.LINE_8)
    w, h = size
    inside = (pix[..., 0] >= 0) & (pix[..., 0] < w) & (pix[..., 1] >= 0) & (pix[..., 1] < h)
    xy = np.clip(np.floor(pix).astype(np.int64), 0, [w - 1, h - 1])
    top = np.where(inside, owner[xy[..., 1], xy[..., 0]], 0)
    rank_of = np.empty(len(order), dtype=np.int64)
    rank_of[order] = np.arange(1, len(order) + 1)
    occluded = inside & (top > rank_of[:, None])
    return img, pix, inside, occluded


class Shot:
    """One rendered view of people: `world (P, 27, 3)` mm, `cam` dict (`R, t, f, c`), and after
    rendering `body_cam (P, 27, 3)` mm, `pix (P, 27, 2)` px, `inside`/`occluded (P, 27)`, `img`."""

    def __init__(self, rng, size, cam, world):
        self.world, self.cam, self.size = world, cam, size
        self.body_cam = world2cam(world, cam['R'], cam['t'])
        self.img, self.pix, self.inside, self.occluded = render(rng, size, self.body_cam,
                                                                cam['f'], cam['c'])

    def save(self, path, quality):
        os.makedirs(osp.dirname(path), exist_ok=True)
        if not cv2.imwrite(path, self.img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)]):
            raise PoseNetError(f"cannot write image {path}; check the folder is writable")


def front_scene(rng, size, n, focal_range, depth_range, offsets=None):
    """`n` people in front of a `front_camera`: `(cam, world (n, 27, 3), univ (n, 27, 3))` mm."""
    cam, half_width = front_camera(rng, size, focal_range)
    offsets = sample_bodies(rng, n) if offsets is None else offsets
    world, univ = pose_people(rng, offsets, place_on_floor(rng, n, depth_range, half_width))
    return cam, world, univ


# -- file formats --------------------------------------------------------------------------------
def coco_image(img_id, file_name, size, **extra):
    """COCO `images` record."""
    return {'id': int(img_id), 'file_name': file_name, 'width': int(size[0]),
            'height': int(size[1]), **extra}


def coco_annotation(ann_id, img_id, bbox, **extra):
    """COCO `annotations` record of a person with box `bbox [x, y, w, h]` px."""
    bbox = [float(v) for v in bbox]
    return {'id': int(ann_id), 'image_id': int(img_id), 'category_id': 1, 'iscrowd': 0,
            'area': bbox[2] * bbox[3], 'bbox': bbox, **extra}


def coco_categories(joints=(), skeleton=()):
    """COCO `categories`: one 'person' with keypoint names (COCO spelling) and 1-based skeleton."""
    names = [n.replace('L_', 'left_').replace('R_', 'right_').lower() for n in joints]
    return [{'id': 1, 'name': 'person', 'supercategory': 'person', 'keypoints': names,
             'skeleton': [[a + 1, b + 1] for a, b in skeleton]}]


def keypoints_2d(shot, idx, flags):
    """`(P, J, 3)` `[x, y, v]` of the joints `idx`: `v = flags[0]` visible, `flags[1]` when a
    nearer person covers it, 0 (and x = y = 0) outside the image."""
    inside, occluded = shot.inside[:, idx], shot.occluded[:, idx]
    v = np.where(inside, np.where(occluded, flags[1], flags[0]), 0).astype(np.float64)
    xy = np.where(inside[..., None], shot.pix[:, idx], 0.)
    return np.concatenate([xy, v[..., None]], axis=-1)


def clipped_bbox(joint_px, size):
    """`get_bbox` of the joints clipped to the image (COCO boxes lie inside it), or None."""
    x, y, w, h = get_bbox(joint_px)
    x1, y1 = max(0., x), max(0., y)
    x2, y2 = min(size[0] - 1., x + w), min(size[1] - 1., y + h)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return np.array([x1, y1, x2 - x1, y2 - y1])


def rootnet_record(rng, img_id, bbox, root_px, root_z, f, c, size, noise):
    """A DetectNet/RootNet output record: processed box and a root with depth error.

    `root_px (2,)` px, `root_z` mm (in the camera `f, c` the file uses); the root keeps its
    pixel and gets `N(0, noise)` mm of depth error. None when the box is outside the image.
    """
    bbox = process_bbox(bbox, size[0], size[1], ROOTNET_INPUT_SHAPE)
    if bbox is None:
        return None
    z = root_z + rng.normal(0., noise)
    root_cam = pixel2cam(np.array([[root_px[0], root_px[1], z]]), f, c)[0]
    return {'image_id': int(img_id), 'bbox': bbox.tolist(), 'root_cam': root_cam.tolist()}


def detection_records(img_id, boxes):
    """DetectNet-style records of an image's person boxes `(P, 4)` px (as annotated): COCO
    detection results with deterministic scores 0.99, 0.98, ... (no random draw, so the rest of
    the generated data does not depend on them)."""
    return [{'image_id': int(img_id), 'category_id': 1, 'bbox': [float(v) for v in box],
             'score': round(0.99 - 0.01 * p, 2)} for p, box in enumerate(boxes)]


def kit_cells(people, fields):
    """MATLAB cell array `(frames, people)` of 1x1 structs: `people[i][k]` is a dict of `fields`."""
    cells = np.empty((len(people), len(people[0]) if people else 0), dtype=object)
    for i, row in enumerate(people):
        for k, values in enumerate(row):
            struct = np.empty((1, 1), dtype=[(name, object) for name in fields])
            struct[0, 0] = tuple(values[name] for name in fields)
            cells[i, k] = struct
    return cells


def generated_dirs(root, name):
    """The folders of dataset `name` that the generator writes (and may replace)."""
    subdirs = {'Human36M': ('annotations', 'images', 'bbox_root'),
               'MPII': ('annotations', 'images'),
               'MSCOCO': ('annotations', 'images', 'bbox_root', 'bbox'),
               'MuCo': ('data',), 'MuPoTS': ('data', 'bbox_root', 'bbox')}[name]
    return [osp.join(root, d) for d in subdirs]


def prepare_dataset_dir(root, name, overwrite):
    """Empty the generated folders of `name` under `root`; refuse to touch real data.

    A previous synthetic tree (with its marker file) is replaced; other existing data only with
    `overwrite=True`.
    """
    dirs = generated_dirs(root, name)
    marker = osp.join(dirs[0], MARKER)
    existing = [d for d in dirs if osp.exists(d)]
    if existing and not overwrite and not osp.isfile(marker):
        raise PoseNetError(f"{existing[0]} exists and was not made by this generator (no "
                           f"{MARKER}); refusing to overwrite a real dataset — choose another "
                           "--out folder, or pass --overwrite to replace it")
    for d in existing:
        shutil.rmtree(d)
    os.makedirs(dirs[0], exist_ok=True)
    return marker


# -- datasets -------------------------------------------------------------------------------------
class Generator:
    """Writes the synthetic datasets; one instance per `generate` call (see there)."""

    def __init__(self, out_dir, seed, opts):
        self.out_dir, self.seed, self.o = out_dir, seed, opts
        self.size = opts['size']

    def rng(self, name):
        """Per-dataset random stream: a dataset's data does not depend on which others are made."""
        return np.random.default_rng([self.seed, DATASETS.index(name)])

    def run(self, name):
        root = osp.join(self.out_dir, name)
        marker = prepare_dataset_dir(root, name, self.o['overwrite'])
        gt = getattr(self, 'make_' + name.lower())(root, self.rng(name))
        write_text(marker, f"synthetic {name} written by tool/synthetic_data.py, seed {self.seed}, "
                           f"options {self.o}\n")
        return gt

    def save(self, shot, path):
        shot.save(path, self.o['jpeg_quality'])

    def rootnet(self, rng, img_id, bbox, root_px, root_z, f, c):
        return rootnet_record(rng, img_id, bbox, root_px, root_z, f, c, self.size,
                              self.o['root_noise'])

    def num_people(self, rng):
        return int(rng.integers(self.o['min_people'], self.o['max_people'] + 1))

    # Human3.6M -----------------------------------------------------------------------------
    def h36m_cameras(self, rng):
        """Four cameras around the capture area, 4.5-5.5 m away, 1.3-1.7 m high."""
        cams = {}
        for k in range(1, 5):
            angle = np.deg2rad(45. + 90. * (k - 1) + rng.normal(0, 5))
            radius = rng.uniform(4500, 5500)
            position = [radius * np.cos(angle), radius * np.sin(angle), rng.uniform(1300, 1700)]
            R, t = look_at(position, [rng.normal(0, 100), rng.normal(0, 100),
                                      rng.uniform(900, 1100)])
            f, c = intrinsics(rng, self.size, 1.145)
            cams[k] = {'R': R, 't': t, 'f': f, 'c': c}
        return cams

    def make_human36m(self, root, rng):
        o = self.o
        idx = joint_indices('Human36M')
        root_idx = 0
        actions = sorted(int(a) for a in rng.choice(np.arange(2, 17), size=o['h36m_actions'],
                                                     replace=False))
        # every subject performs the same scripted actions (in its own way: heading, turning,
        # place), so poses are correlated within an action, as in the real dataset; subjects
        # face the +y side of the room, towards cameras 1 and 2 (3 and 4 see their backs)
        scripts = {(action, sub): sample_action(rng) for action in actions
                   for sub in range(1, o['h36m_subactions'] + 1)}
        frames = np.asarray(o['h36m_frames'])
        gt = {'images': {}, 'cameras': {}, 'bbox_root': []}
        img_id = 0
        for subject in o['h36m_subjects']:
            offsets = sample_bodies(rng, 1)
            cams = self.h36m_cameras(rng)
            gt['cameras'][subject] = cams
            images, anns, joint_3d = [], [], {}
            for action in actions:
                for sub in range(1, o['h36m_subactions'] + 1):
                    local, glob = action_rotations(rng, scripts[action, sub], frames,
                                                   rng.uniform(-45, 45), rng.uniform(0, 30))
                    places = rng.normal(0, 400, size=(1, 2)) + \
                        np.cumsum(rng.normal(0, 10, size=(len(frames), 2)), axis=0)
                    for n, frame in enumerate(frames.tolist()):
                        world, _ = pose_people(rng, offsets, places[n:n + 1],
                                               (local[n:n + 1], glob[n:n + 1]))
                        joint_3d.setdefault(str(action), {}).setdefault(str(sub), {})[
                            str(frame)] = world[0, idx].tolist()
                        for k in range(1, o['h36m_cameras'] + 1):
                            img_id += 1
                            shot = Shot(rng, self.size, cams[k], world)
                            folder = f's_{subject:02d}_act_{action:02d}_subact_{sub:02d}_ca_{k:02d}'
                            file_name = f'{folder}/{folder}_{frame + 1:06d}.jpg'
                            self.save(shot, osp.join(root, 'images', file_name))
                            joint_cam, joint_px = shot.body_cam[0, idx], shot.pix[0, idx]
                            bbox = get_bbox(joint_px)
                            images.append(coco_image(
                                img_id, file_name, self.size, subject=subject,
                                action_name=joint_sets.H36M_ACTIONS[action - 2], action_idx=action,
                                subaction_idx=sub, cam_idx=k, frame_idx=frame))
                            anns.append(coco_annotation(img_id, img_id, bbox,
                                                        keypoints_vis=[True] * len(idx)))
                            gt['images'][img_id] = {
                                'file_name': file_name, 'subject': subject, 'action_idx': action,
                                'subaction_idx': sub, 'frame_idx': frame, 'cam_idx': k,
                                'joint_world': world[0, idx], 'joint_cam': joint_cam,
                                'joint_img': joint_px, 'bbox': bbox}
                            if subject in H36M_TEST_SUBJECTS:
                                rec = self.rootnet(rng, img_id, bbox, joint_px[root_idx],
                                                   joint_cam[root_idx, 2], cams[k]['f'],
                                                   cams[k]['c'])
                                if rec is not None:
                                    gt['bbox_root'].append(rec)
            prefix = osp.join(root, 'annotations', f'Human36M_subject{subject}')
            write_json(prefix + '_data.json', {'images': images, 'annotations': anns,
                                               'categories': coco_categories()})
            write_json(prefix + '_camera.json', {str(k): {key: np.asarray(v).tolist()
                                                          for key, v in cam.items()}
                                                 for k, cam in cams.items()})
            write_json(prefix + '_joint_3d.json', joint_3d)
        write_json(osp.join(root, 'bbox_root', 'bbox_root_human36m_output.json'), gt['bbox_root'])
        return gt

    # 2D sets ----------------------------------------------------------------------------------
    def people_2d(self, rng, name, n, flags):
        """A rendered scene for a 2D set: `(shot, keypoints (n, J, 3), boxes [(4,) or None])`."""
        cam, world, _ = front_scene(rng, self.size, n, (0.8, 1.4), (2500, 7000))
        shot = Shot(rng, self.size, cam, world)
        idx = joint_indices(name)
        kps = keypoints_2d(shot, idx, flags)
        boxes = [clipped_bbox(shot.pix[p, idx][shot.inside[p, idx]], self.size)
                 if shot.inside[p, idx].sum() >= 2 else None for p in range(n)]
        return shot, kps, boxes

    def annotate_2d(self, rng, name, img_id, ann_id, n, flags):
        """Render one 2D-set image; returns `(shot, annotations, gt entry)`.

        `flags`: keypoint visibility values (visible, occluded); people with fewer than two
        joints in the image are not annotated (`gt['person']` lists the annotated ones).
        """
        shot, kps, boxes = self.people_2d(rng, name, n, flags)
        anns, keep = [], []
        for p, bbox in enumerate(boxes):
            if bbox is None:
                continue
            anns.append(coco_annotation(ann_id + len(anns), img_id, bbox,
                                        keypoints=kps[p].reshape(-1).tolist(),
                                        num_keypoints=int((kps[p, :, 2] > 0).sum())))
            keep.append(p)
        idx = joint_indices(name)
        gt = {'keypoints': kps[keep], 'joint_cam': shot.body_cam[keep][:, idx],
              'bbox': np.array([boxes[p] for p in keep]).reshape(-1, 4),
              'f': shot.cam['f'], 'c': shot.cam['c'], 'person': keep}
        return shot, anns, gt

    def make_mpii(self, root, rng):
        images, anns, gt = [], [], {'images': {}}
        for img_id in range(1, self.o['num_images'] + 1):
            shot, new, entry = self.annotate_2d(rng, 'MPII', img_id, len(anns) + 1,
                                                int(rng.integers(1, self.o['max_people'] + 1)),
                                                (1, 1))
            file_name = f'images/{img_id:09d}.jpg'
            self.save(shot, osp.join(root, file_name))
            images.append(coco_image(img_id, file_name, self.size))
            anns += new
            gt['images'][img_id] = {'file_name': file_name, **entry}
        write_json(osp.join(root, 'annotations', 'train.json'),
                   {'images': images, 'annotations': anns,
                    'categories': coco_categories(joint_sets.MPII_JOINTS, joint_sets.MPII_SKELETON)})
        return gt

    def make_mscoco(self, root, rng):
        gt = {'images': {}, 'bbox_root': [], 'detections': []}
        categories = coco_categories(JOINT_SOURCES['MSCOCO'], joint_sets.COCO_SKELETON)
        for split, first_id in (('train2017', 1), ('val2017', 1000001)):
            images, anns = [], []
            for img_id in range(first_id, first_id + self.o['num_images']):
                shot, new, entry = self.annotate_2d(rng, 'MSCOCO', img_id, img_id * 100,
                                                    self.num_people(rng), (2, 1))
                file_name = f'{img_id:012d}.jpg'
                self.save(shot, osp.join(root, 'images', split, file_name))
                images.append(coco_image(img_id, file_name, self.size))
                if split == 'train2017' and img_id == first_id:
                    new.append(self.crowd_annotation(img_id, img_id * 100 + 99))
                anns += new
                if split == 'val2017':
                    self.coco_rootnet(rng, img_id, shot, entry, gt['bbox_root'])
                    gt['detections'] += detection_records(img_id, entry['bbox'])
                gt['images'][img_id] = {'split': split, 'file_name': file_name, **entry}
            write_json(osp.join(root, 'annotations', f'person_keypoints_{split}.json'),
                       {'images': images, 'annotations': anns, 'categories': categories})
        write_json(osp.join(root, 'bbox_root', 'bbox_root_coco_output.json'), gt['bbox_root'])
        write_json(osp.join(root, 'bbox', 'bbox_coco_output.json'), gt['detections'])
        return gt

    def crowd_annotation(self, img_id, ann_id):
        """A crowd region (the loaders skip it): no keypoints, run-length mask of the whole box."""
        w, h = self.size
        bbox = [0., 0., w / 4., h / 4.]
        return coco_annotation(ann_id, img_id, bbox, iscrowd=1, num_keypoints=0,
                               keypoints=[0] * (3 * joint_sets.COCO_KEYPOINT_NUM),
                               segmentation={'size': [h, w], 'counts': [h * w]})

    def coco_rootnet(self, rng, img_id, shot, entry, records):
        """bbox_root records of a COCO val image in the virtual camera (f = 1500 px, centre):
        the depth scales with the focal length, as RootNet's distance prior does."""
        w, h = self.size
        f_virtual, c_virtual = np.array([COCO_FOCAL] * 2), np.array([w / 2., h / 2.])
        pelvis = BODY_INDEX['Pelvis']
        root_img = []
        for person, bbox in zip(entry['person'], entry['bbox']):
            z = shot.body_cam[person, pelvis, 2] * COCO_FOCAL / float(np.mean(shot.cam['f']))
            rec = self.rootnet(rng, img_id, bbox, shot.pix[person, pelvis], z, f_virtual, c_virtual)
            if rec is not None:
                records.append(rec)
                root_img.append(shot.pix[person, pelvis])
        entry['root_img'] = np.array(root_img).reshape(-1, 2)

    # multi-person 3D sets -----------------------------------------------------------------------
    def make_muco(self, root, rng):
        idx = joint_indices('MuCo')
        images, anns, gt = [], [], {'images': {}}
        for img_id in range(1, self.o['num_images'] + 1):
            cam, world, _ = front_scene(rng, self.size, self.num_people(rng), (0.68, 0.78),
                                        (2500, 6500))
            shot = Shot(rng, self.size, cam, world)
            file_name = f'unaugmented_set/{img_id:06d}.jpg'
            self.save(shot, osp.join(root, 'data', file_name))
            images.append(coco_image(img_id, file_name, self.size, f=cam['f'].tolist(),
                                     c=cam['c'].tolist()))
            joint_cam, joint_px = shot.body_cam[:, idx], shot.pix[:, idx]
            boxes = np.array([get_bbox(px) for px in joint_px])
            for p in range(len(world)):
                anns.append(coco_annotation(len(anns) + 1, img_id, boxes[p],
                                            keypoints_cam=joint_cam[p].tolist(),
                                            keypoints_img=joint_px[p].tolist(),
                                            keypoints_vis=shot.inside[p, idx].astype(int).tolist()))
            gt['images'][img_id] = {'file_name': file_name, 'f': cam['f'], 'c': cam['c'],
                                    'joint_cam': joint_cam, 'joint_img': joint_px, 'bbox': boxes,
                                    'joint_vis': shot.inside[:, idx]}
        write_json(osp.join(root, 'data', 'MuCo-3DHP.json'),
                   {'images': images, 'annotations': anns,
                    'categories': coco_categories(joint_sets.MUCO_JOINTS, joint_sets.MUCO_SKELETON)})
        return gt

    def make_mupots(self, root, rng):
        o = self.o
        idx = joint_indices('MuPoTS')
        pelvis = joint_sets.MUPOTS_JOINTS.index('Pelvis')
        images, anns, gt = [], [], {'images': {}, 'bbox_root': [], 'detections': []}
        seq_dir = osp.join(root, 'data', 'MultiPersonTestSet')
        for seq in range(1, o['num_sequences'] + 1):
            n = self.num_people(rng)
            cam, half_width = front_camera(rng, self.size, (0.68, 0.78))
            offsets = sample_bodies(rng, n)
            positions = place_on_floor(rng, n, (2500, 6500), half_width)
            kit_annot, kit_occl = [], []
            for frame in range(o['num_frames']):
                img_id = len(images) + 1
                positions = positions + rng.normal(0, 60, size=positions.shape)
                world, univ = pose_people(rng, offsets, positions)
                shot = Shot(rng, self.size, cam, world)
                file_name = f'TS{seq}/img_{frame:06d}.jpg'
                self.save(shot, osp.join(seq_dir, file_name))
                images.append(coco_image(img_id, file_name, self.size,
                                         intrinsic=[*cam['f'].tolist(), *cam['c'].tolist()]))
                joint_cam, joint_px = shot.body_cam[:, idx], shot.pix[:, idx]
                univ_cam = world2cam(univ, cam['R'], cam['t'])[:, idx]
                valid = rng.random(n) >= o['invalid_prob']
                boxes = np.array([get_bbox(px) for px in joint_px])
                ann_ids = []
                for p in range(n):
                    ann_ids.append(len(anns) + 1)
                    anns.append(coco_annotation(ann_ids[-1], img_id, boxes[p],
                                                keypoints_cam=joint_cam[p].tolist(),
                                                keypoints_img=joint_px[p].tolist(),
                                                keypoints_vis=shot.inside[p, idx].astype(
                                                    int).tolist(),
                                                is_valid=int(valid[p])))
                    rec = self.rootnet(rng, img_id, boxes[p], joint_px[p, pelvis],
                                       joint_cam[p, pelvis, 2], cam['f'], cam['c'])
                    if rec is not None:
                        gt['bbox_root'].append(rec)
                gt['detections'] += detection_records(img_id, boxes)
                kit_annot.append([{'annot2': joint_px[p].T, 'annot3': joint_cam[p].T,
                                   'univ_annot3': univ_cam[p].T,
                                   'isValidFrame': np.array([[float(valid[p])]])}
                                  for p in range(n)])
                kit_occl.append([shot.occluded[p, idx][None] for p in range(n)])
                gt['images'][img_id] = {
                    'file_name': file_name, 'sequence': seq, 'frame': frame, 'f': cam['f'],
                    'c': cam['c'], 'joint_cam': joint_cam, 'joint_img': joint_px,
                    'univ_cam': univ_cam, 'is_valid': valid, 'occluded': shot.occluded[:, idx],
                    'bbox': boxes, 'ann_ids': ann_ids}
            occl_cells = np.empty((len(kit_occl), n), dtype=object)
            for i, row in enumerate(kit_occl):
                for k, labels in enumerate(row):
                    occl_cells[i, k] = labels
            savemat(osp.join(seq_dir, f'TS{seq}', 'annot.mat'),
                    {'annotations': kit_cells(kit_annot, ('annot2', 'annot3', 'univ_annot3',
                                                          'isValidFrame'))})
            savemat(osp.join(seq_dir, f'TS{seq}', 'occlusion.mat'),
                    {'occlusion_labels': occl_cells})
        write_json(osp.join(root, 'data', 'MuPoTS-3D.json'),
                   {'images': images, 'annotations': anns,
                    'categories': coco_categories(joint_sets.MUPOTS_JOINTS,
                                                  joint_sets.MUPOTS_SKELETON)})
        write_json(osp.join(root, 'bbox_root', 'bbox_root_mupots_output.json'), gt['bbox_root'])
        write_json(osp.join(root, 'bbox', 'bbox_mupots_output.json'), gt['detections'])
        return gt


def generate(out_dir, datasets=DATASETS, seed=0, num_images=4, num_sequences=2, num_frames=3,
             img_size=256, min_people=2, max_people=3, h36m_subjects=H36M_SUBJECTS,
             h36m_actions=2, h36m_subactions=1, h36m_cameras=2, h36m_frames=H36M_FRAMES,
             root_noise=50., invalid_prob=0.1, jpeg_quality=90, overwrite=False):
    """Write synthetic `datasets` under `out_dir` (a `cfg.data_dir`) and return their ground truth.

    Sizes: `num_images` images for MPII, MuCo and each COCO split; MuPoTS `num_sequences`
    sequences TS1.. of `num_frames` frames; Human36M: every subject of `h36m_subjects` with
    `h36m_actions` random actions x `h36m_subactions` x `h36m_cameras` cameras (of 4) x the
    frame indices `h36m_frames`. `img_size`: px, an int (square) or `(W, H)`. Multi-person
    images hold `min_people..max_people` people (MPII 1..max_people). `root_noise`: std (mm) of
    the depth error of the bbox_root files' roots; `invalid_prob`: chance that a MuPoTS person
    is marked not valid. The same `seed` gives the same files; each dataset has its own random
    stream. Folders of a dataset made before by this generator are replaced; real data is never
    overwritten unless `overwrite=True`.

    Returns `{name: gt}`; every `gt['images']` maps image id -> dict with `file_name` and, per
    person, arrays: Human36M `joint_world`/`joint_cam (17, 3)` mm, `joint_img (17, 2)` px,
    `bbox`, `subject`, `action_idx`, `subaction_idx`, `frame_idx`, `cam_idx` (and `cameras`);
    MuCo `joint_cam (P, 21, 3)`, `joint_img (P, 21, 2)`, `bbox (P, 4)`, `f`, `c`; MuPoTS the
    same with 17 joints plus `univ_cam`, `is_valid (P,)`, `occluded (P, 17)`, `sequence`,
    `frame`, `ann_ids`; MPII / MSCOCO (annotated people only) `keypoints (P, J, 3)`,
    `joint_cam`, `bbox`, `f`, `c`, `person` (their index in the scene), COCO also `split` and,
    for val, `root_img (R, 2)` px (the root pixel of each of the image's bbox_root records).
    `gt['bbox_root']` lists the records written to the bbox_root file (Human36M, MSCOCO,
    MuPoTS).
    """
    unknown = [d for d in datasets if d not in DATASETS]
    if unknown:
        raise PoseNetError(f"unknown dataset {unknown[0]!r}; choose from {', '.join(DATASETS)}")
    size = (int(img_size), int(img_size)) if np.isscalar(img_size) else tuple(map(int, img_size))
    if min(size) < 32:
        raise PoseNetError(f"img_size {img_size}: use at least 32 px")
    if not 1 <= min_people <= max_people:
        raise PoseNetError(f"people per image {min_people}..{max_people}: need 1 <= min <= max")
    if not 1 <= h36m_cameras <= 4 or not 1 <= h36m_actions <= 15:
        raise PoseNetError("h36m_cameras must be 1..4 and h36m_actions 1..15")
    opts = {'size': size, 'num_images': int(num_images), 'num_sequences': int(num_sequences),
            'num_frames': int(num_frames), 'min_people': int(min_people),
            'max_people': int(max_people), 'h36m_subjects': tuple(map(int, h36m_subjects)),
            'h36m_actions': int(h36m_actions), 'h36m_subactions': int(h36m_subactions),
            'h36m_cameras': int(h36m_cameras), 'h36m_frames': tuple(map(int, h36m_frames)),
            'root_noise': float(root_noise), 'invalid_prob': float(invalid_prob),
            'jpeg_quality': int(jpeg_quality), 'overwrite': bool(overwrite)}
    gen = Generator(out_dir, seed, opts)
    return {name: gen.run(name) for name in datasets}


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Write synthetic Human36M / MPII / MSCOCO / MuCo / MuPoTS trees in the '
                    'published formats (a data_dir for cfg.data_dir).')
    parser.add_argument('--out', required=True, help='data folder to write (e.g. data)')
    parser.add_argument('--datasets', nargs='+', default=list(DATASETS), choices=DATASETS)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--img_size', type=int, nargs='+', default=[256],
                        help='image size in px: one value (square) or W H')
    parser.add_argument('--num_images', type=int, default=4,
                        help='images of MPII, MuCo and of each MSCOCO split')
    parser.add_argument('--num_sequences', type=int, default=2, help='MuPoTS sequences')
    parser.add_argument('--num_frames', type=int, default=3, help='frames per MuPoTS sequence')
    parser.add_argument('--min_people', type=int, default=2)
    parser.add_argument('--max_people', type=int, default=3)
    parser.add_argument('--h36m_actions', type=int, default=2)
    parser.add_argument('--h36m_subactions', type=int, default=1)
    parser.add_argument('--h36m_cameras', type=int, default=2)
    parser.add_argument('--h36m_frames', type=int, nargs='+', default=list(H36M_FRAMES),
                        help='frame indices of every Human36M sequence')
    parser.add_argument('--root_noise', type=float, default=50.,
                        help='depth error (mm, std) of the roots in the bbox_root files')
    parser.add_argument('--invalid_prob', type=float, default=0.1,
                        help='chance that a MuPoTS person is marked not valid')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing dataset folders not made by this tool')
    args = parser.parse_args(argv)
    if len(args.img_size) not in (1, 2):
        parser.error('--img_size takes one value or two (W H)')
    img_size = args.img_size[0] if len(args.img_size) == 1 else tuple(args.img_size)
    try:
        gt = generate(args.out, args.datasets, seed=args.seed, num_images=args.num_images,
                      num_sequences=args.num_sequences, num_frames=args.num_frames,
                      img_size=img_size, min_people=args.min_people, max_people=args.max_people,
                      h36m_actions=args.h36m_actions, h36m_subactions=args.h36m_subactions,
                      h36m_cameras=args.h36m_cameras, h36m_frames=args.h36m_frames,
                      root_noise=args.root_noise, invalid_prob=args.invalid_prob,
                      overwrite=args.overwrite)
    except PoseNetError as exc:
        parser.exit(2, f'error: {exc}\n')
    for name, data in gt.items():
        print(f'{name}: {len(data["images"])} images under {osp.join(args.out, name)}')


if __name__ == '__main__':
    main()
