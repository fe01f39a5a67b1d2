"""Drawing of poses: 2D skeletons on a photo (OpenCV) and 3D views in camera space (matplotlib).

Conventions
* Images are OpenCV BGR `uint8` arrays `(H, W, 3)`.
* 2D keypoints are `(3, J)`: row 0 = x px, row 1 = y px, row 2 = score (or visibility).
* 3D joints are camera-space millimetres `(J, 3)` for one person, `(N, J, 3)` for several.
  The 3D views plot the axes `(X, Z, -Y)`: x to the right, depth away from the camera, and up is
  up (camera Y points down in the image).
* `kps_lines` is the skeleton: a sequence of 0-based joint-index pairs `(i1, i2)`. Bone `l` gets
  colour `l` of `bone_colors(len(kps_lines))`, in 2D and in 3D alike.

Headless by default: figures are plain `matplotlib.figure.Figure` objects rendered with Agg, never
registered with pyplot, so nothing needs a display and nothing leaks. Only a call with
`show=True` imports pyplot and, if needed, switches to an interactive backend.
"""
import os.path as osp
import warnings

import cv2
import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers the '3d' projection)

from common.utils.file_io import atomic_path

# default 3D viewpoint (degrees): a little above, and turned 20 degrees to the right of the camera
DEFAULT_ELEV = 15
DEFAULT_AZIM = -70

# 3D views: at most this many ticks per axis, so that the mm labels of a wide scene (several
# people metres apart) do not run into each other
MAX_TICKS_3D = 5

_NON_INTERACTIVE = {'agg', 'cairo', 'pdf', 'pgf', 'ps', 'svg', 'template'}
_INTERACTIVE_CANDIDATES = ('QtAgg', 'TkAgg', 'GTK4Agg', 'GTK3Agg', 'WXAgg', 'MacOSX')


def bone_colors(num_bones):
    """Colours of the bones of a skeleton with `num_bones` bones, as BGR int tuples (0..255).

    Bone `l` takes the `rainbow` colormap at `l / (num_bones + 1)` (the original release samples
    `num_bones + 2` evenly spaced colours and uses the first `num_bones`), so drawings match it.
    """
    cmap = matplotlib.colormaps['rainbow']
    colors = []
    for pos in np.linspace(0, 1, num_bones + 2)[:num_bones]:
        r, g, b, _ = cmap(pos)
        colors.append(tuple(int(round(v * 255)) for v in (b, g, r)))
    return colors


def _bgr_to_rgb01(color):
    """A BGR 0..255 tuple as an RGB 0..1 tuple (matplotlib's colour format)."""
    return (color[2] / 255.0, color[1] / 255.0, color[0] / 255.0)


def vis_keypoints(img, kps, kps_lines, kp_thresh=0.4, alpha=1):
    """Draw one person's 2D skeleton on a copy of `img` and return it.

    img: BGR `uint8` `(H, W, 3)` (a `(H, W)` grey image is converted to BGR); not modified.
    kps: `(3, J)`: x px, y px, score. A joint is drawn only if its score > `kp_thresh`, and a
        bone only if both its joints are; only joints that belong to a bone are drawn.
    kps_lines: skeleton, 0-based joint pairs; bone `l` uses `bone_colors(len(kps_lines))[l]`.
    alpha: blending weight of the drawing: result = (1 - alpha) * img + alpha * drawn.
    Bones are 2 px anti-aliased lines, joints filled anti-aliased circles of radius 3 px;
    coordinates are truncated to integer pixels as in the original.
    Returns a new BGR `uint8` image of the same size.
    """
    img = np.asarray(img)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    kps = np.asarray(kps, dtype=np.float64)
    if kps.ndim != 2 or kps.shape[0] < 3:
        raise ValueError(f"kps must be (3, J) = x, y, score; got shape {kps.shape}")
    colors = bone_colors(len(kps_lines))
    drawn = np.copy(img)

    def point(i):
        return int(kps[0, i]), int(kps[1, i])

    def usable(i):  # above the threshold, and a pixel position OpenCV can take
        return kps[2, i] > kp_thresh and bool(np.all(np.abs(kps[:2, i]) < 2 ** 30))

    for l, (i1, i2) in enumerate(kps_lines):
        ok1, ok2 = usable(i1), usable(i2)
        if ok1 and ok2:
            cv2.line(drawn, point(i1), point(i2), colors[l], thickness=2, lineType=cv2.LINE_AA)
        if ok1:
            cv2.circle(drawn, point(i1), 3, colors[l], thickness=-1, lineType=cv2.LINE_AA)
        if ok2:
            cv2.circle(drawn, point(i2), 3, colors[l], thickness=-1, lineType=cv2.LINE_AA)
    return cv2.addWeighted(img, 1.0 - alpha, drawn, alpha, 0)


def vis_keypoints_multi(img, kpts_2d, kps_lines, kpts_score=None, kp_thresh=0.4, alpha=1):
    """Draw several people's skeletons on a copy of `img`.

    kpts_2d: `(N, J, 2)` pixels (or `(N, J, 3)` with a score column); kpts_score: `(N, J)` or
    `(N, J, 1)` scores, default 1 for every joint (or the third column when given).
    Each person is drawn with `vis_keypoints`; returns a new BGR `uint8` image.
    """
    kpts_2d = np.asarray(kpts_2d, dtype=np.float64)
    if kpts_2d.ndim != 3 or kpts_2d.shape[2] not in (2, 3):
        raise ValueError(f"kpts_2d must be (N, J, 2|3); got shape {kpts_2d.shape}")
    if kpts_score is None:
        kpts_score = kpts_2d[:, :, 2] if kpts_2d.shape[2] == 3 else np.ones(kpts_2d.shape[:2])
    kpts_score = np.asarray(kpts_score, dtype=np.float64).reshape(kpts_2d.shape[:2])
    out = np.asarray(img)
    for n in range(kpts_2d.shape[0]):
        kps = np.stack((kpts_2d[n, :, 0], kpts_2d[n, :, 1], kpts_score[n]))
        out = vis_keypoints(out, kps, kps_lines, kp_thresh=kp_thresh, alpha=alpha)
    return out


# -- figures ---------------------------------------------------------------------------------
def _interactive_pyplot():
    """pyplot with an interactive backend, or None when no display can be used."""
    import matplotlib.pyplot as plt
    if plt.get_backend().lower() not in _NON_INTERACTIVE:
        return plt
    for name in _INTERACTIVE_CANDIDATES:
        try:
            plt.switch_backend(name)
            return plt
        except Exception:  # the toolkit is missing or there is no display
            continue
    return None


def new_figure(figsize=(6.4, 6.4), dpi=100, show=False):
    """A new figure `(fig, plt)`: `plt` is pyplot when it will be shown, else None.

    Without `show` (or when no display is usable, with a warning) the figure is a plain
    Agg-rendered `Figure` that pyplot never sees: no display needed, freed with its last reference.
    """
    if show:
        plt = _interactive_pyplot()
        if plt is not None:
            return plt.figure(figsize=figsize, dpi=dpi), plt
        warnings.warn("no interactive display is available (headless machine?): the figure "
                      "is not shown; write it to a file instead", stacklevel=3)
    return Figure(figsize=figsize, dpi=dpi), None


def save_figure(fig, filename, dpi=None):
    """Save `fig` to `filename` atomically; the format follows the extension (default png)."""
    ext = osp.splitext(filename)[1].lower().lstrip('.') or 'png'
    with atomic_path(filename) as tmp:
        fig.savefig(tmp, format=ext, dpi=dpi)
    return filename


def finish_figure(fig, plt, filename=None):
    """Save `fig` (when `filename`), show it (when `plt`, blocking) and release it from pyplot.

    Returns `filename` when given, else the figure.
    """
    if filename is not None:
        save_figure(fig, filename)
    if plt is not None:
        plt.show()
        plt.close(fig)
    return filename if filename is not None else fig


def show_image(img, title=None):
    """Open a window with a BGR image (matplotlib; OpenCV here has no GUI). Blocks until closed.

    Warns and returns without showing when no display is usable.
    """
    fig, plt = new_figure(figsize=(10, 7.5), show=True)
    if plt is None:
        return
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(cv2.cvtColor(np.asarray(img), cv2.COLOR_BGR2RGB))
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    finish_figure(fig, plt)


# -- 3D views --------------------------------------------------------------------------------
def _as_people(kpt_3d, kpt_3d_vis):
    """Checked `(N, J, 3)` float joints and `(N, J)` bool visibility (None = all visible)."""
    kpt_3d = np.asarray(kpt_3d, dtype=np.float64)
    if kpt_3d.ndim != 3 or kpt_3d.shape[2] != 3:
        raise ValueError(f"3D joints must be (N, J, 3) mm; got shape {kpt_3d.shape}")
    if kpt_3d_vis is None:
        vis = np.ones(kpt_3d.shape[:2], dtype=bool)
    else:
        vis = np.asarray(kpt_3d_vis)
        if vis.size != kpt_3d.shape[0] * kpt_3d.shape[1]:
            raise ValueError(f"visibility must be (N, J, 1) or (N, J) for joints of shape "
                             f"{kpt_3d.shape}; got shape {vis.shape}")
        vis = vis.reshape(kpt_3d.shape[:2]) > 0
    return kpt_3d, vis & np.isfinite(kpt_3d).all(axis=2)


def draw_3d_skeletons(ax, kpt_3d, kpt_3d_vis, kps_lines, labels=None,
                      elev=DEFAULT_ELEV, azim=DEFAULT_AZIM, limits=None):
    """Draw people in camera space into a matplotlib 3D axes `ax`.

    kpt_3d: `(N, J, 3)` camera mm; kpt_3d_vis: `(N, J, 1)` or `(N, J)`, joint drawn when > 0
    (None: all). Plotted as `(X, Z, -Y)` so that up is up; equal scale on the three axes.
    labels: optional N strings (person numbers, track ids) written above each person's highest
    joint. limits: `(centre (3,), half)` of the axis cube in plot coordinates (`cube_limits`;
    e.g. one for all frames of a video), default: around these people.
    """
    kpt_3d, vis = _as_people(kpt_3d, kpt_3d_vis)
    colors = [_bgr_to_rgb01(c) for c in bone_colors(len(kps_lines))]
    plotted = []
    for n in range(kpt_3d.shape[0]):
        pts = to_plot_coords(kpt_3d[n])
        for l, (i1, i2) in enumerate(kps_lines):
            if vis[n, i1] and vis[n, i2]:
                seg = pts[[i1, i2]]
                ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=colors[l], linewidth=2)
        joints = sorted({i for line in kps_lines for i in line if vis[n, i]})
        if joints:
            # a joint takes the colour of the last bone it belongs to, as in vis_keypoints
            last_bone = {i: l for l, line in enumerate(kps_lines) for i in line}
            ax.scatter(pts[joints, 0], pts[joints, 1], pts[joints, 2], s=12, marker='o',
                       c=[colors[last_bone[i]] for i in joints], depthshade=False)
            plotted.append(pts[joints])
            if labels is not None:
                top = pts[joints][np.argmax(pts[joints][:, 2])]
                ax.text(top[0], top[1], top[2] + 80, str(labels[n]), color='black',
                        ha='center', va='bottom', fontsize=10,
                        bbox=dict(facecolor='white', alpha=0.7, pad=1, linewidth=0))
    if limits is None:
        limits = cube_limits(np.concatenate(plotted) if plotted else np.zeros((0, 3)))
    _set_limits(ax, *limits)
    ax.set_xlabel('X (mm)')
    ax.set_ylabel('Z (mm)')
    ax.set_zlabel('-Y (mm)')
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(MAX_TICKS_3D))
    ax.tick_params(labelsize=8)
    ax.view_init(elev=elev, azim=azim)
    return ax


def to_plot_coords(joints):
    """Camera mm `(..., 3)` -> the 3D views' plot coordinates `(X, Z, -Y)` (up is up)."""
    joints = np.asarray(joints, dtype=np.float64)
    return np.stack((joints[..., 0], joints[..., 2], -joints[..., 1]), axis=-1)


def cube_limits(pts, margin=1.1, min_half=200.0):
    """`(centre (3,), half)`: the cube around plot-coordinate points `(M, 3)` (non-finite rows
    ignored) so that mm look the same on all axes; a default room when there is no point.
    For one set of limits over many frames pass all their points (`to_plot_coords`)."""
    pts = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        lo, hi = np.array([-1000.0, 0.0, -1000.0]), np.array([1000.0, 5000.0, 1000.0])
    else:
        lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (lo + hi) / 2, max(float((hi - lo).max()) / 2 * margin, min_half)


def _set_limits(ax, centre, half):
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_zlim(centre[2] - half, centre[2] + half)
    ax.set_box_aspect((1, 1, 1))


def vis_3d_multiple_skeleton(kpt_3d, kpt_3d_vis, kps_lines, filename=None, title=None,
                             labels=None, show=False, elev=DEFAULT_ELEV, azim=DEFAULT_AZIM,
                             figsize=(6.4, 6.4), dpi=100, limits=None):
    """3D view of several people in camera space (mm), up is up.

    kpt_3d: `(N, J, 3)` camera mm; kpt_3d_vis: `(N, J, 1)` (joint drawn when > 0; None = all).
    labels: N strings written above the people (e.g. their numbers); limits: the axis cube
    `(centre, half)` of `cube_limits` (default: around these people).
    filename: when given, the figure is written there (atomic; format from the extension).
    show: also open an interactive window (blocking; warns on a headless machine).
    Returns `filename` when given, else the (Agg) `Figure`.
    """
    fig, plt = new_figure(figsize=figsize, dpi=dpi, show=show)
    ax = fig.add_subplot(1, 1, 1, projection='3d')
    draw_3d_skeletons(ax, kpt_3d, kpt_3d_vis, kps_lines, labels=labels, elev=elev, azim=azim,
                      limits=limits)
    if title:
        ax.set_title(title)
    return finish_figure(fig, plt, filename)


def vis_3d_skeleton(kpt_3d, kpt_3d_vis, kps_lines, filename=None, title=None, show=False,
                    elev=DEFAULT_ELEV, azim=DEFAULT_AZIM, figsize=(6.4, 6.4), dpi=100):
    """3D view of one person in camera space (mm), up is up.

    kpt_3d: `(J, 3)` camera mm; kpt_3d_vis: `(J, 1)` (joint drawn when > 0; None = all).
    Same options and return value as `vis_3d_multiple_skeleton`.
    """
    kpt_3d = np.asarray(kpt_3d, dtype=np.float64)
    if kpt_3d.ndim != 2 or kpt_3d.shape[1] != 3:
        raise ValueError(f"kpt_3d must be (J, 3) mm; got shape {kpt_3d.shape}")
    vis = None if kpt_3d_vis is None else np.asarray(kpt_3d_vis)[None]
    return vis_3d_multiple_skeleton(kpt_3d[None], vis, kps_lines, filename=filename, title=title,
                                    show=show, elev=elev, azim=azim, figsize=figsize, dpi=dpi)


def vis_2d_and_3d(img, kpts_2d, kpts_3d, kps_lines, filename=None, title=None, show=False,
                  label_people=True, elev=DEFAULT_ELEV, azim=DEFAULT_AZIM,
                  figsize=(14, 6.5), dpi=100):
    """The photo with everyone's 2D skeleton beside a 3D view of everyone (one figure).

    img: BGR `uint8` `(H, W, 3)`; kpts_2d: `(N, J, 2)` px; kpts_3d: `(N, J, 3)` camera mm (same
    people, same order). label_people: number the people 1..N in both panels.
    Returns `filename` when given, else the `Figure`.
    """
    kpts_2d = np.asarray(kpts_2d, dtype=np.float64)
    kpts_3d = np.asarray(kpts_3d, dtype=np.float64)
    if kpts_2d.shape[0] != kpts_3d.shape[0]:
        raise ValueError(f"{kpts_2d.shape[0]} people in 2D but {kpts_3d.shape[0]} in 3D")
    drawn = vis_keypoints_multi(img, kpts_2d, kps_lines)
    labels = [str(n + 1) for n in range(kpts_2d.shape[0])] if label_people else None

    fig, plt = new_figure(figsize=figsize, dpi=dpi, show=show)
    ax_img = fig.add_subplot(1, 2, 1)
    ax_img.imshow(cv2.cvtColor(drawn, cv2.COLOR_BGR2RGB))
    ax_img.set_axis_off()
    if labels:
        for n, label in enumerate(labels):
            pts = kpts_2d[n][np.isfinite(kpts_2d[n]).all(axis=1)]
            if len(pts):  # above the person's highest joint, kept inside the photo
                x = float(np.clip(pts[:, 0].mean(), 0, drawn.shape[1] - 1))
                y = float(np.clip(pts[:, 1].min() - 10, 0.05 * drawn.shape[0], drawn.shape[0] - 1))
                ax_img.text(x, y, label, color='white',
                            ha='center', va='bottom', fontsize=11,
                            bbox=dict(facecolor='black', alpha=0.6, pad=1, linewidth=0))
    ax_3d = fig.add_subplot(1, 2, 2, projection='3d')
    draw_3d_skeletons(ax_3d, kpts_3d, None, kps_lines, labels=labels, elev=elev, azim=azim)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return finish_figure(fig, plt, filename)
