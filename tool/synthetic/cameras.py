"""Pinhole cameras of the synthetic scenes (`cam = R @ world + t`; x right, y down, z forward)
and a multi-person scene in front of one.
"""
import numpy as np

from tool.synthetic.body import pose_people, place_on_floor, sample_bodies


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


def front_scene(rng, size, n, focal_range, depth_range, offsets=None):
    """`n` people in front of a `front_camera`: `(cam, world (n, 27, 3), univ (n, 27, 3))` mm."""
    cam, half_width = front_camera(rng, size, focal_range)
    offsets = sample_bodies(rng, n) if offsets is None else offsets
    world, univ = pose_people(rng, offsets, place_on_floor(rng, n, depth_range, half_width))
    return cam, world, univ
