"""The synthetic people: one articulated body model (27 joints, adult bone lengths), poses
within joint limits (random, or Human3.6M-like scripted actions), forward kinematics, people
standing on the floor (world: z up, mm). Every dataset's joints are body-model joints
(`JOINT_SOURCES`).
"""
import numpy as np
from scipy.spatial.transform import Rotation

from data import joint_sets


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
