"""Drawing people: every body part in its own colour (left warm, right cool), each segment
thicker and brighter the nearer it is, people far to near; which joints a nearer person
covers.
"""
import os
import os.path as osp

import cv2
import numpy as np

from common.utils.errors import PoseNetError
from common.utils.pose_utils import cam2pixel, world2cam
from tool.synthetic.body import BODY_INDEX


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
