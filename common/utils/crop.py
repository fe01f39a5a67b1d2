"""Person crops: image in, network input out (docs/SPEC.md §5 steps 1, 3, 4 and §6).

Training, testing and inference all cut a person out the same way:

    load_image / as_bgr_image      BGR uint8 (H, W, 3)
    crop_trans + crop_patch        the box warped onto the patch: RGB (H_in, W_in, 3),
                                   values 0..255 (bilinear, black outside the image)
    get_transform / normalise_batch / network_input
                                   (v - mean) / std on those 0..255 values (compat)

Augmentation (scale, rotation, flip, colour, occlusion) and the training targets live in
`data/dataset.py`, which calls this module with the augmentation's parameters; inference
(`main/predictor.py`) calls it with none. The function names of the affine are the original
release's. Nothing here reads a configuration: sizes, mean and std are arguments.
"""
import cv2
import numpy as np
import torch
import torchvision.transforms as transforms

from common.utils.errors import PoseNetError


# -- images -----------------------------------------------------------------------------------
def load_image(path):
    """Read an image as BGR uint8 `(H, W, 3)`, ignoring EXIF orientation (as the original).

    Raises PoseNetError naming the path when the file is missing or not a readable image.
    """
    img = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if not isinstance(img, np.ndarray):
        raise PoseNetError(f"cannot read image '{path}': the file is missing or is not an image "
                           "OpenCV can decode; check that the dataset under cfg.data_dir is "
                           "complete (re-extract or regenerate it)")
    return img


def as_bgr_image(img, what='image'):
    """`img` as the BGR uint8 `(H, W, 3)` array the networks read, converted as `cv2.imread`
    converts files: grey `(H, W)` / `(H, W, 1)` to three equal channels, BGRA `(H, W, 4)`
    without its alpha. Anything else (None, not an array, another dtype such as a float image
    in [0, 1], no pixels, other channel counts) is a PoseNetError naming what was given."""
    if img is None:
        raise PoseNetError(f"{what} is None (cv2.imread returns None for a missing or "
                           "undecodable file); pass a BGR uint8 array (H, W, 3)")
    if not isinstance(img, np.ndarray):
        raise PoseNetError(f"{what} is a {type(img).__name__}, not a numpy array; pass a BGR "
                           "uint8 array (H, W, 3) as cv2.imread returns")
    if img.dtype != np.uint8:
        hint = (' (a float image in [0, 1]: (img * 255).round().astype(np.uint8))'
                if img.dtype.kind == 'f' else '')
        raise PoseNetError(f"{what} has dtype {img.dtype} {img.shape}; expected BGR uint8 "
                           f"(H, W, 3){hint}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)) or \
            img.size == 0:
        raise PoseNetError(f"{what} has shape {img.shape}; expected BGR uint8 (H, W, 3) with "
                           "pixels (grey (H, W) and BGRA (H, W, 4) are converted)")
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img


# -- the crop affine --------------------------------------------------------------------------
def rotate_2d(pt_2d, rot_rad):
    """Rotate a 2D vector by `rot_rad` radians: `x' = x cos - y sin`, `y' = x sin + y cos`.

    In image axes (x right, y down) a positive angle turns the vector clockwise on screen.
    Returns float32 `(2,)`.
    """
    x, y = float(pt_2d[0]), float(pt_2d[1])
    sn, cs = np.sin(rot_rad), np.cos(rot_rad)
    return np.array([x * cs - y * sn, x * sn + y * cs], dtype=np.float32)


def gen_trans_from_patch_cv(c_x, c_y, src_width, src_height, dst_width, dst_height, scale, rot,
                            inv=False):
    """2x3 affine (float64) from an image box to a patch (or back with `inv=True`).

    The box is centred at `(c_x, c_y)` px, `src_width x src_height` px, enlarged by `scale` and
    rotated by `rot` degrees (see `rotate_2d`); it maps onto the whole `dst_width x dst_height`
    patch, centre onto centre (`dst/2`). Built, like the original, from three float32 point
    pairs: centre, centre + half-height down vector, centre + half-width right vector.
    """
    src_w = src_width * scale
    src_h = src_height * scale
    rot_rad = np.pi * rot / 180
    src_center = np.array([c_x, c_y], dtype=np.float32)
    src_down = rotate_2d(np.array([0, src_h * 0.5], dtype=np.float32), rot_rad)
    src_right = rotate_2d(np.array([src_w * 0.5, 0], dtype=np.float32), rot_rad)

    dst_center = np.array([dst_width * 0.5, dst_height * 0.5], dtype=np.float32)
    dst_down = np.array([0, dst_height * 0.5], dtype=np.float32)
    dst_right = np.array([dst_width * 0.5, 0], dtype=np.float32)

    src = np.stack([src_center, src_center + src_down, src_center + src_right]).astype(np.float32)
    dst = np.stack([dst_center, dst_center + dst_down, dst_center + dst_right]).astype(np.float32)
    if inv:
        return cv2.getAffineTransform(dst, src)
    return cv2.getAffineTransform(src, dst)


def trans_point2d(pt_2d, trans):
    """Apply a 2x3 affine to one point `(x, y)`; returns float64 `(2,)`."""
    src_pt = np.array([pt_2d[0], pt_2d[1], 1.], dtype=np.float64)
    return np.asarray(trans, dtype=np.float64) @ src_pt


def trans_points2d(pts_2d, trans):
    """Vectorised `trans_point2d`: points `(N, 2)` -> float64 `(N, 2)`."""
    pts = np.asarray(pts_2d, dtype=np.float64).reshape(-1, 2)
    trans = np.asarray(trans, dtype=np.float64)
    return pts @ trans[:, :2].T + trans[:, 2]


def crop_trans(bbox, img_width, do_flip, scale, rot, input_shape):
    """The 2x3 (float64) image-to-patch affine of a crop: the box `[x, y, w, h]` px, its centre
    mirrored to `img_width - c_x - 1` when `do_flip` (then the affine is that of the flipped
    image), enlarged by `scale`, rotated by `rot` degrees, onto the patch `input_shape`
    `(H_in, W_in)`."""
    bx, by, bw, bh = (float(v) for v in np.asarray(bbox, dtype=np.float64).reshape(-1)[:4])
    c_x = bx + 0.5 * bw
    c_y = by + 0.5 * bh
    if do_flip:
        c_x = img_width - c_x - 1
    return gen_trans_from_patch_cv(c_x, c_y, bw, bh, int(input_shape[1]), int(input_shape[0]),
                                   scale, rot, inv=False)


# -- the crop ---------------------------------------------------------------------------------
def crop_patch(img, bbox, input_shape, do_flip=False, scale=1.0, rot=0.0, as_uint8=False):
    """Warp the box of a BGR image onto a patch: `(patch, trans)`.

    `img`: BGR uint8 `(H, W, 3)` (not modified); `bbox`: processed `[x, y, w, h]` px;
    `input_shape`: patch `(H_in, W_in)`; `do_flip`, `scale`, `rot` (degrees): the geometric
    augmentation (none by default). A flip mirrors the image and the box centre (`W - cx - 1`);
    the affine (`crop_trans`) is applied with bilinear interpolation, black outside the image.
    Returns RGB float32 `(H_in, W_in, 3)` with values in [0, 255] (`as_uint8=True`: the same
    values as a uint8 view, not converted) and the 2x3 float64 image-to-patch transform (of the
    flipped image when `do_flip`).
    """
    in_h, in_w = int(input_shape[0]), int(input_shape[1])
    img_width = img.shape[1]
    if do_flip:
        img = cv2.flip(img, 1)          # x -> W - 1 - x, same as img[:, ::-1]
    trans = crop_trans(bbox, img_width, do_flip, scale, rot, input_shape)
    patch = cv2.warpAffine(img, trans, (in_w, in_h), flags=cv2.INTER_LINEAR)
    if as_uint8:
        return patch[:, :, ::-1], trans            # BGR -> RGB view
    return patch[:, :, ::-1].astype(np.float32), trans   # BGR -> RGB, contiguous copy


# -- normalisation ----------------------------------------------------------------------------
def get_transform(pixel_mean, pixel_std):
    """The original's input transform: `Compose([ToTensor(), Normalize(mean, std)])`.

    **compat**: the patch is float32 in [0, 255], which `ToTensor` does not divide by 255, so the
    result is `(v - mean) / std` on 0..255 values with the 0..1 ImageNet mean/std (RGB,
    `cfg.pixel_mean`, `cfg.pixel_std`). The original's pretrained snapshots expect exactly this
    input. Output: float32 tensor `(3, H_in, W_in)`.
    """
    return transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize(mean=pixel_mean, std=pixel_std),
    ])


def normalise_batch(img, color_scale, pixel_mean, pixel_std):
    """Network input from raw uint8 crops, on their device: float32 `(N, 3, H, W)` (or
    `(3, H, W)`) equal bit for bit to the colour scale (`data.dataset.apply_color_scale`) and
    `get_transform` of the same patches.

    `img`: uint8 RGB `(N, 3, H, W)` or `(3, H, W)` tensor; `color_scale`: `(N, 3)` / `(3,)`
    factors or None (= 1); `pixel_mean`, `pixel_std`: 3 numbers each. The steps are the
    original's, each a separate correctly rounded float32 operation: `v * scale`, clip to
    [0, 255], `- mean`, `/ std` (compat: 0..255 values with the 0..1 ImageNet mean/std).
    """
    x = img.to(torch.float32) if img.dtype != torch.float32 else img.clone()
    shape = (-1, 3, 1, 1) if x.dim() == 4 else (3, 1, 1)
    if color_scale is not None:
        scale = torch.as_tensor(color_scale).to(device=x.device, dtype=torch.float32)
        x = x.mul_(scale.reshape(shape)).clamp_(0, 255)
    mean = torch.as_tensor(pixel_mean, dtype=torch.float32, device=x.device).reshape(shape[-3:])
    std = torch.as_tensor(pixel_std, dtype=torch.float32, device=x.device).reshape(shape[-3:])
    return x.sub_(mean).div_(std)


def person_crops(img, bbox_processed, input_shape, pixel_mean, pixel_std):
    """Network inputs `(N, 3, H_in, W_in)` float32 of the processed boxes `(N, 4)` px of a BGR
    uint8 image: plain crops (no augmentation), the original's normalisation. What testing
    crops, done for inference."""
    boxes = np.asarray(bbox_processed, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return torch.zeros((0, 3) + tuple(int(s) for s in input_shape))
    transform = get_transform(pixel_mean, pixel_std)
    return torch.stack([transform(crop_patch(img, box, input_shape)[0]) for box in boxes])


def network_input(crops, device, pixel_mean, pixel_std, channels_last=False):
    """A batch of crops on `device`, ready for the network (float32 `(N, 3, H, W)`).

    `crops`: float32 crops already normalised (moved as they are); uint8 crops `(N, 3, H, W)`
    RGB; or a raw loader batch `{'img': uint8 (N, 3, H, W), 'color_scale': (N, 3)}`
    (`DatasetLoader(transform=RAW_UINT8)`). uint8 crops are colour-scaled and normalised on the
    device by `normalise_batch` (the same float32 values as the original's transform).
    `channels_last`: that memory format (faster convolutions on recent GPUs).
    """
    if isinstance(crops, dict):
        crops = normalise_batch(crops['img'].to(device, non_blocking=True),
                                crops.get('color_scale'), pixel_mean, pixel_std)
    elif crops.dtype == torch.uint8:
        crops = normalise_batch(crops.to(device, non_blocking=True), None, pixel_mean,
                                pixel_std)
    crops = crops.to(device, non_blocking=True)
    if channels_last:
        crops = crops.contiguous(memory_format=torch.channels_last)
    return crops
