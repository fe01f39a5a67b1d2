"""Geometry helpers: projections, rigid alignment, boxes, joint-set mapping, flips, and
RootNet's camera-distance factor `k_value` and output-to-camera mapping `root_output_to_cam`.

All functions are pure (numpy in, numpy out) and work row-wise on joint arrays `(J, 2|3)`,
batched over any leading axes where their docstring says so. Units: camera coordinates in mm,
image coordinates in pixels. Heatmap space (the network's output) is `x in [0, W_out)`,
`y in [0, H_out)`, `z in [0, depth_dim)`, with `bbox_3d_shape[0]` mm of depth relative to the
root spread over the `depth_dim` bins; `heatmap_to_pixel` / `heatmap_to_cam` are the one
mapping from it to the image and camera space (test, demo and pipeline all use them).
"""
import numpy as np

from common.utils.errors import PoseNetError


def cam2pixel(cam_coord, f, c):
    """Project camera-space points `(..., J, 3)` mm to `[x_px, y_px, Z_mm]` `(..., J, 3)`.

    `f = (fx, fy)`, `c = (cx, cy)` in pixels, `(2,)` or one per leading index `(..., 1, 2)`.
    The 1e-8 keeps Z = 0 finite, as in the original.
    """
    cam_coord = np.asarray(cam_coord, dtype=np.float64)
    f = np.asarray(f, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    z = cam_coord[..., 2]
    x = cam_coord[..., 0] / (z + 1e-8) * f[..., 0] + c[..., 0]
    y = cam_coord[..., 1] / (z + 1e-8) * f[..., 1] + c[..., 1]
    return np.stack((x, y, z), axis=-1)


def pixel2cam(pixel_coord, f, c):
    """Back-project `[x_px, y_px, Z_mm]` `(..., J, 3)` to camera space `(..., J, 3)` mm.

    `f`, `c` as in `cam2pixel`.
    """
    pixel_coord = np.asarray(pixel_coord, dtype=np.float64)
    f = np.asarray(f, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    z = pixel_coord[..., 2]
    x = (pixel_coord[..., 0] - c[..., 0]) / f[..., 0] * z
    y = (pixel_coord[..., 1] - c[..., 1]) / f[..., 1] * z
    return np.stack((x, y, z), axis=-1)


def world2cam(world_coord, R, t):
    """World points `(J, 3)` to camera points: `cam = R @ world + t` for every row."""
    world_coord = np.asarray(world_coord, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64).reshape(3, 3)
    t = np.asarray(t, dtype=np.float64).reshape(1, 3)
    return world_coord @ R.T + t


def _swap(M):
    """Transpose of the last two axes (a stack of matrices)."""
    return np.swapaxes(M, -1, -2)


def rigid_transform_3D(A, B):
    """Rotation `R` and translation `t` that best move points `A` onto `B`.

    Kabsch without scale (the original's "PA MPJPE" is this rigid alignment): `B ~ A @ R.T + t`.
    `A, B`: `(J, 3)` or stacks `(..., J, 3)`; returns `R (..., 3, 3)`, `t (..., 3)`. A rotation,
    never a reflection: where `det(V U^T) < 0` the last row of `V^T` is negated.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    centroid_A = A.mean(axis=-2)
    centroid_B = B.mean(axis=-2)
    H = _swap(A - centroid_A[..., None, :]) @ (B - centroid_B[..., None, :])
    U, s, Vt = np.linalg.svd(H)
    R = _swap(Vt) @ _swap(U)
    flip = np.linalg.det(R) < 0
    if np.any(flip):
        Vt[flip, 2] = -Vt[flip, 2]
        R[flip] = _swap(Vt[flip]) @ _swap(U[flip])
    t = centroid_B - (R @ centroid_A[..., None])[..., 0]
    return R, t


def similarity_transform_3D(A, B):
    """Scale `s`, rotation `R` and translation `t` with `B ~ s * A @ R.T + t` (Umeyama).

    The scaled Procrustes alignment most papers call PA-MPJPE; offered as an option.
    `A, B`: `(J, 3)` or stacks `(..., J, 3)`; returns `s (...)`, `R (..., 3, 3)`, `t (..., 3)`
    (`s = 1` where `A` is a single point).
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    centroid_A = A.mean(axis=-2)
    centroid_B = B.mean(axis=-2)
    A0 = A - centroid_A[..., None, :]
    B0 = B - centroid_B[..., None, :]
    U, s, Vt = np.linalg.svd(_swap(A0) @ B0)
    d = np.ones(s.shape)                                  # diag(D)
    d[..., 2] = np.where(np.linalg.det(_swap(Vt) @ _swap(U)) < 0, -1., 1.)
    R = _swap(Vt) @ (d[..., :, None] * _swap(U))          # V D U^T
    var_A = (A0 ** 2).sum(axis=(-2, -1))
    with np.errstate(divide='ignore', invalid='ignore'):
        scale = np.where(var_A > 0, (s * d).sum(axis=-1) / var_A, 1.0)
    t = centroid_B - scale[..., None] * (R @ centroid_A[..., None])[..., 0]
    return scale[()], R, t


def rigid_align(A, B, scale=False):
    """`A` moved onto `B` by the best rotation and translation (and scale if asked).

    `A, B`: `(J, 3)` or stacks `(..., J, 3)` aligned pair by pair (batched SVD).
    """
    A = np.asarray(A, dtype=np.float64)
    if scale:
        s, R, t = similarity_transform_3D(A, B)
        return (np.asarray(s)[..., None, None] * A) @ _swap(R) + t[..., None, :]
    R, t = rigid_transform_3D(A, B)
    return A @ _swap(R) + t[..., None, :]


def get_bbox(joint_img):
    """Box `[xmin, ymin, w, h]` around the joints' x, y, enlarged 1.2x about its centre.

    As in the original, width and height are `max - min - 1` before enlarging.
    """
    joint_img = np.asarray(joint_img, dtype=np.float64)
    x_img, y_img = joint_img[:, 0], joint_img[:, 1]
    xmin, ymin, xmax, ymax = x_img.min(), y_img.min(), x_img.max(), y_img.max()
    x_center = (xmin + xmax) / 2.
    width = (xmax - xmin - 1) * 1.2
    xmin = x_center - 0.5 * width
    y_center = (ymin + ymax) / 2.
    height = (ymax - ymin - 1) * 1.2
    ymin = y_center - 0.5 * height
    return np.array([xmin, ymin, width, height], dtype=np.float64)


def process_bbox(bbox, img_width, img_height, input_shape):
    """Clip a box to the image, give it the input's aspect ratio, enlarge it 1.25x.

    `bbox`: `[x, y, w, h]` pixels; `input_shape`: network input `(height, width)`.
    Returns a float64 `(4,)` box, or None when nothing of it is inside the image.
    Computed in float (the original truncated integer boxes: a known bug).
    """
    x, y, w, h = (float(v) for v in np.asarray(bbox, dtype=np.float64).reshape(4))
    x1 = max(0., x)
    y1 = max(0., y)
    x2 = min(img_width - 1., x1 + max(0., w - 1.))
    y2 = min(img_height - 1., y1 + max(0., h - 1.))
    if not (w * h > 0 and x2 >= x1 and y2 >= y1):
        return None
    w, h = x2 - x1, y2 - y1

    # aspect ratio of the network input, keeping the centre
    c_x = x1 + w / 2.
    c_y = y1 + h / 2.
    aspect_ratio = input_shape[1] / input_shape[0]
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    w *= 1.25
    h *= 1.25
    return np.array([c_x - w / 2., c_y - h / 2., w, h], dtype=np.float64)


def process_bboxes(bbox, img_width, img_height, input_shape):
    """`process_bbox` of many boxes at once: `bbox (N, 4)`, image sizes `(N,)` (or one for all).

    Returns `(boxes (N, 4) float64, valid (N,) bool)`; where `valid` is False `process_bbox`
    returns None (that row is then meaningless). The same float64 operations in the same order
    as `process_bbox`, with Python's `max`/`min` semantics (`max(0., nan)` is 0.), so each
    valid row equals `process_bbox` of that box exactly.
    """
    x, y, w, h = np.asarray(bbox, dtype=np.float64).reshape(-1, 4).T
    right = np.asarray(img_width, dtype=np.float64) - 1.
    bottom = np.asarray(img_height, dtype=np.float64) - 1.

    def py_max(a, b):                # max(a, b): b only when b > a
        return np.where(b > a, b, a)

    def py_min(a, b):                # min(a, b): b only when b < a
        return np.where(b < a, b, a)

    with np.errstate(invalid='ignore', over='ignore'):      # as Python floats: no warnings
        x1 = py_max(0., x)
        y1 = py_max(0., y)
        x2 = py_min(right, x1 + py_max(0., w - 1.))
        y2 = py_min(bottom, y1 + py_max(0., h - 1.))
        valid = (w * h > 0) & (x2 >= x1) & (y2 >= y1)
        w, h = x2 - x1, y2 - y1
        c_x = x1 + w / 2.
        c_y = y1 + h / 2.
        aspect_ratio = input_shape[1] / input_shape[0]
        wider, taller = w > aspect_ratio * h, w < aspect_ratio * h
        w, h = np.where(taller, h * aspect_ratio, w), np.where(wider, w / aspect_ratio, h)
        w = w * 1.25
        h = h * 1.25
        boxes = np.stack([c_x - w / 2., c_y - h / 2., w, h], axis=1)
    return boxes, valid


def transform_joint_to_other_db(src_joint, src_name, dst_name):
    """Re-order joints of set `src_name` into set `dst_name` (first axis); absent ones are 0."""
    src_joint = np.asarray(src_joint)
    dst_joint = np.zeros((len(dst_name),) + src_joint.shape[1:], dtype=src_joint.dtype)
    src_index = {name: i for i, name in enumerate(src_name)}
    for dst_idx, name in enumerate(dst_name):
        if name in src_index:
            dst_joint[dst_idx] = src_joint[src_index[name]]
    return dst_joint


def fliplr_joints(joints, width, flip_pairs):
    """Mirror joints `(J, >=1)` horizontally in an image `width` px wide and swap L/R pairs."""
    joints = np.array(joints, copy=True)
    joints[:, 0] = width - joints[:, 0] - 1
    for a, b in flip_pairs:
        joints[[a, b]] = joints[[b, a]]
    return joints


def swap_flip_pairs(values, flip_pairs):
    """Swap the rows of each pair (e.g. visibility flags after a flip); returns a copy."""
    values = np.array(values, copy=True)
    for a, b in flip_pairs:
        values[[a, b]] = values[[b, a]]
    return values


def absolute_depth(z_hm, root_depth, depth_dim, bbox_3d_shape):
    """Depth bins `z_hm` `(..., J)` to absolute Z mm: `(z/depth_dim*2 - 1) * D/2 + root_depth`.

    Relative depth spans `D = bbox_3d_shape[0]` mm; `root_depth` is `()` or `(...,)` mm.
    """
    z_hm = np.asarray(z_hm, dtype=np.float64)
    root_depth = np.asarray(root_depth, dtype=np.float64)[..., None]
    return (z_hm / depth_dim * 2. - 1.) * (bbox_3d_shape[0] / 2.) + root_depth


def heatmap_to_pixel(coord_hm, bbox, root_depth, output_shape, depth_dim, bbox_3d_shape):
    """Network output `(..., J, 3)` in heatmap space to `[x_px, y_px, Z_mm]` in the original image.

    `bbox`: the processed crop box `[x, y, w, h]` px, `(4,)` or one per sample `(..., 4)`;
    `root_depth`: absolute root Z mm, `()` or `(...,)`; `output_shape`: heatmap `(H_out, W_out)`.
    """
    coord_hm = np.asarray(coord_hm, dtype=np.float64)
    bbox = np.asarray(bbox, dtype=np.float64)[..., None, :]
    pixel = np.empty_like(coord_hm)
    pixel[..., 0] = coord_hm[..., 0] / output_shape[1] * bbox[..., 2] + bbox[..., 0]
    pixel[..., 1] = coord_hm[..., 1] / output_shape[0] * bbox[..., 3] + bbox[..., 1]
    pixel[..., 2] = absolute_depth(coord_hm[..., 2], root_depth, depth_dim, bbox_3d_shape)
    return pixel


def _per_sample(bbox, root_depth, f, c):
    """Per-sample parameters shaped to broadcast against `(N, J, 3)` joints."""
    bbox = np.asarray(bbox, dtype=np.float64).reshape(-1, 1, 4)
    root_depth = np.asarray(root_depth, dtype=np.float64).reshape(-1, 1)
    f = np.asarray(f, dtype=np.float64).reshape(-1, 1, 2)
    c = np.asarray(c, dtype=np.float64).reshape(-1, 1, 2)
    return bbox, root_depth, f, c


def heatmap_to_cam(coord_hm, bbox, root_depth, f, c, output_shape, depth_dim, bbox_3d_shape):
    """Network outputs to image and camera space, for a batch.

    `coord_hm (N, J, 3)` heatmap space; `bbox (N, 4)` processed crop boxes px; `root_depth (N,)`
    absolute root Z mm; `f, c (N, 2)` px (or one `(2,)` for all); `output_shape (H_out, W_out)`.
    Returns `(pixel, cam)`: `(N, J, 3)` `[x_px, y_px, Z_mm]` and `(N, J, 3)` mm —
    `x = x_hm/W_out*bw + bx`, `y = y_hm/H_out*bh + by`,
    `Z = (z_hm/depth_dim*2 - 1) * bbox_3d_shape[0]/2 + root_depth`, then `pixel2cam`.
    """
    coord_hm = np.asarray(coord_hm, dtype=np.float64).reshape(-1, *np.shape(coord_hm)[-2:])
    bbox, root_depth, f, c = _per_sample(bbox, root_depth, f, c)
    pixel = heatmap_to_pixel(coord_hm, bbox[:, 0], root_depth[:, 0], output_shape, depth_dim,
                             bbox_3d_shape)
    return pixel, pixel2cam(pixel, f, c)


def cam_to_heatmap(joint_cam, bbox, root_depth, f, c, output_shape, depth_dim, bbox_3d_shape):
    """Inverse of `heatmap_to_cam`: camera joints `(N, J, 3)` mm -> heatmap space `(N, J, 3)`.

    What a perfect network would output for these joints in these crops (used to check
    evaluation, and to turn ground truth into predictions).
    """
    h_out, w_out = output_shape
    joint_cam = np.asarray(joint_cam, dtype=np.float64).reshape(-1, *np.shape(joint_cam)[-2:])
    bbox, root_depth, f, c = _per_sample(bbox, root_depth, f, c)
    pixel = cam2pixel(joint_cam, f, c)
    coord = np.empty_like(joint_cam)
    coord[..., 0] = (pixel[..., 0] - bbox[..., 0]) / bbox[..., 2] * w_out
    coord[..., 1] = (pixel[..., 1] - bbox[..., 1]) / bbox[..., 3] * h_out
    coord[..., 2] = ((pixel[..., 2] - root_depth) / (bbox_3d_shape[0] / 2.) + 1.) / 2. * depth_dim
    return coord


def root_relative_errors(pred_cam, gt_cam, root_idx, eval_joint, align=None):
    """Per-joint 3D errors after root alignment (and optional Procrustes alignment).

    `pred_cam, gt_cam (N, J, 3)` mm; both get their `root_idx` joint subtracted; `align`:
    None, 'rigid' (rotation + translation, the original's "PA MPJPE") or 'scaled' (with scale)
    moves each prediction onto its ground truth; then only `eval_joint` are kept.
    Returns `(errors (N, E) mm, pred_rel (N, E, 3), gt_rel (N, E, 3))`.
    """
    if align not in (None, 'rigid', 'scaled'):
        raise ValueError(f"alignment {align!r}: use None, 'rigid' or 'scaled'")
    pred_rel = np.asarray(pred_cam, dtype=np.float64)
    gt_rel = np.asarray(gt_cam, dtype=np.float64)
    pred_rel = pred_rel - pred_rel[:, root_idx:root_idx + 1]
    gt_rel = gt_rel - gt_rel[:, root_idx:root_idx + 1]
    if align is not None and len(pred_rel):
        pred_rel = rigid_align(pred_rel, gt_rel, scale=(align == 'scaled'))
    eval_joint = list(eval_joint)
    pred_rel, gt_rel = pred_rel[:, eval_joint], gt_rel[:, eval_joint]
    return np.linalg.norm(pred_rel - gt_rel, axis=-1), pred_rel, gt_rel


def k_value(bbox, focal, bbox_real=(2000, 2000)):
    """RootNet's camera-distance factor `k = sqrt(real_x * real_y * fx * fy / area)` (mm).

    It is the distance at which a person of real size `bbox_real` (mm, x then y) would fill
    the box; RootNet predicts the correction `gamma` and outputs `depth = gamma * k`.
    `bbox`: processed boxes `[x, y, w, h]` px (`process_bbox`), `(4,)` or `(N, 4)`; `area = w*h`.
    `focal`: `(fx, fy)` px, `(2,)` or one per box `(N, 2)`. Returns float64 `()` or `(N,)`
    (the original computed it in double and fed it to the network as float32).
    """
    bbox = np.asarray(bbox, dtype=np.float64)
    focal = np.asarray(focal, dtype=np.float64)
    area = bbox[..., 2] * bbox[..., 3]
    if np.any(~(area > 0)):
        raise PoseNetError(f"k_value: every box needs width and height > 0 px (areas {area}); "
                           "pass boxes from process_bbox")
    return np.sqrt(float(bbox_real[0]) * float(bbox_real[1]) * focal[..., 0] * focal[..., 1]
                   / area)


def root_output_to_cam(coord, bbox, output_shape, f, c):
    """RootNet outputs `(N, 3)` (x, y in output space, depth mm) to camera-space roots `(N, 3)` mm.

    x, y go to the original image, `x / W_out * bbox_w + bbox_x` (likewise y), and are
    back-projected with the depth (`pixel2cam`). `bbox`: the processed boxes the crops came from,
    `(N, 4)` px; `output_shape`: RootNet's output `(H_out, W_out)`; `f`, `c`: px, `(2,)` or
    `(N, 2)`.
    """
    coord = np.asarray(coord, dtype=np.float64).reshape(-1, 3)
    bbox = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)
    pixel = coord.copy()
    pixel[:, 0] = coord[:, 0] / output_shape[1] * bbox[:, 2] + bbox[:, 0]
    pixel[:, 1] = coord[:, 1] / output_shape[0] * bbox[:, 3] + bbox[:, 1]
    return pixel2cam(pixel, f, c)
