"""GPU data path of training (`cfg.data_backend = 'gpu'`; docs/gpu.md, docs/SPEC.md §18).

The OpenCV path decodes and warps every image in a loader worker, which caps one CPU worker at a
few hundred samples per second. Here the workers only read the file's bytes, draw the
augmentation and compute the targets (the same code as the OpenCV path: `DatasetLoader`,
`RootNetLoader`); the training device then decodes the batch's JPEGs in one call
(`torchvision.io.decode_jpeg`, nvJPEG on a GPU) and crops all of them with one `grid_sample`:

    worker:  file bytes, (H, W) from the JPEG header, augmentation, targets,
             patch-to-image affine (flip folded in), occlusion rectangle
    device:  decode -> zero-padded (N, 3, H_max, W_max) batch -> occlusion noise ->
             grid_sample (bilinear, zeros outside: cv2.warpAffine's INTER_LINEAR with a black
             border) -> round -> uint8 (N, 3, H_in, W_in) RGB -> `normalise_batch`

Targets are bit-identical to the OpenCV path's for the same augmentation; crops differ by
OpenCV's fixed-point interpolation (1/32 px) and the decoder's rounding: well below one grey
level on average (tests/test_gpu_batch.py). The occlusion noise is drawn on the device
(`torch.rand`), so after an occluded sample the loader's `np.random` stream is not the OpenCV
path's. JPEG only; anything else is an error naming the file.
"""
import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import default_collate

from common.utils.crop import crop_trans
from common.utils.errors import PoseNetError
from data.dataset import DatasetLoader, RootNetLoader, occlusion_rect

# start-of-frame markers (baseline, extended, progressive, lossless; Huffman or arithmetic)
SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_size(raw):
    """`(height, width)` px from the start-of-frame header of the JPEG file content `raw`
    (`bytes`; no decode), or None when `raw` is not a JPEG or its header is cut short."""
    if len(raw) < 4 or raw[0] != 0xFF or raw[1] != 0xD8:
        return None
    pos = 2
    while pos + 4 <= len(raw):
        if raw[pos] != 0xFF:
            return None
        marker = raw[pos + 1]
        if marker == 0xFF:                              # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:    # markers without a length
            pos += 2
            continue
        length = (raw[pos + 2] << 8) | raw[pos + 3]
        if marker in SOF_MARKERS:
            if pos + 9 > len(raw):
                return None
            height = (raw[pos + 5] << 8) | raw[pos + 6]
            width = (raw[pos + 7] << 8) | raw[pos + 8]
            return height, width
        if marker == 0xDA:                              # image data before any frame header
            return None
        pos += 2 + length
    return None


class JpegFile:
    """A sample's image as its file: `data` uint8 `(L,)` tensor of the bytes, `shape`
    `(H, W, 3)` from the header (so code written for a decoded image reads its size), `path`."""

    def __init__(self, path):
        try:
            raw = np.fromfile(str(path), dtype=np.uint8)
        except OSError:
            raise PoseNetError(f"cannot read image '{path}': the file is missing or unreadable; "
                               "check that the dataset under cfg.data_dir is complete") from None
        size = jpeg_size(raw.tobytes())
        if size is None:
            raise PoseNetError(f"data_backend='gpu' decodes JPEG files only, and '{path}' is not "
                               "a JPEG (or its header is damaged); convert the images to JPEG "
                               "or train with --cfg data_backend=opencv")
        self.path = str(path)
        self.data = torch.from_numpy(raw)
        self.shape = (size[0], size[1], 3)


def patch_to_image(trans, img_width, do_flip):
    """The 2x3 (float64) affine from patch pixels to pixels of the decoded (unflipped) image:
    the inverse of the image-to-patch `trans` (of the flipped image when `do_flip`, as
    `generate_patch_image` builds it), followed by the mirror `x -> img_width - 1 - x`."""
    inv = cv2.invertAffineTransform(np.asarray(trans, dtype=np.float64))
    if do_flip:
        inv[0] = -inv[0]
        inv[0, 2] += img_width - 1
    return inv


class JpegCrops:
    """The two steps of `data.dataset.CropLoader` for the GPU path: `read_image` gives a
    `JpegFile`; `crop` gives, instead of the crop, what the device needs to make it:
    `{'jpeg': uint8 (L,), 'path': str, 'patch_to_image': float32 (2, 3), 'occlusion': int64
    (4,) x0, y0, w, h px (w = h = 0: none), 'color_scale': float32 (3,)}` and the same
    image-to-patch `trans` as the OpenCV path (so the targets are its own)."""

    def read_image(self, path):
        return JpegFile(path)

    def crop(self, jpeg, bbox, do_flip, scale, rot, do_occlusion, color_scale):
        img_height, img_width = jpeg.shape[:2]
        # the OpenCV path's order of draws: augmentation (done), then the occlusion rectangle
        rect = occlusion_rect(bbox, img_height, img_width) if do_occlusion else None
        trans = crop_trans(bbox, img_width, do_flip, scale, rot, self.input_shape)
        spec = {'jpeg': jpeg.data, 'path': jpeg.path,
                'patch_to_image': torch.from_numpy(
                    patch_to_image(trans, img_width, do_flip).astype(np.float32)),
                'occlusion': torch.tensor(rect if rect is not None else (0, 0, 0, 0),
                                          dtype=torch.int64),
                'color_scale': torch.tensor(color_scale, dtype=torch.float32)}
        return spec, trans


class JpegDatasetLoader(JpegCrops, DatasetLoader):
    """`DatasetLoader` (same arguments, same targets) whose `img` is `JpegCrops`' dict; batch
    with `collate`, crop with `crop_batch`."""


class JpegRootNetLoader(JpegCrops, RootNetLoader):
    """`RootNetLoader` (same arguments, same targets) whose `img` is `JpegCrops`' dict."""


def collate(items):
    """DataLoader `collate_fn` for the Jpeg loaders: the JPEG bytes (of different lengths) and
    paths stay lists, everything else is `default_collate`d. Returns `[img, *targets]` for
    training items, `img` for test items."""
    single = isinstance(items[0], dict)
    specs = [item if single else item[0] for item in items]
    img = {'jpeg': [s['jpeg'] for s in specs], 'path': [s['path'] for s in specs]}
    img.update(default_collate([{k: v for k, v in s.items() if k not in ('jpeg', 'path')}
                                for s in specs]))
    if single:
        return img
    return [img] + default_collate([tuple(item[1:]) for item in items])


def decode_jpegs(jpegs, device, paths=None):
    """Decode JPEG bytes (a list of uint8 `(L,)` CPU tensors) on `device` in one batched call:
    a list of uint8 `(3, H_i, W_i)` RGB tensors there (EXIF orientation ignored, greyscale
    repeated to 3 channels, as `load_image`). A file that does not decode is a PoseNetError
    naming it (`paths`)."""
    from torchvision.io import ImageReadMode, decode_jpeg
    device = torch.device(device)
    try:
        return decode_jpeg(list(jpegs), mode=ImageReadMode.RGB, device=device)
    except RuntimeError as error:
        for i, data in enumerate(jpegs):     # find the file to name
            try:
                decode_jpeg(data, mode=ImageReadMode.RGB, device=device)
            except RuntimeError as e:
                name = paths[i] if paths is not None else f'image {i} of the batch'
                raise PoseNetError(f"cannot decode the JPEG '{name}' on {device} ({e}); "
                                   "re-extract that file or train with --cfg "
                                   "data_backend=opencv") from None
        raise PoseNetError(f"JPEG decoding failed on {device}: {error}") from None


def warp_batch(images, patch_to_image, occlusion, input_shape, generator=None):
    """Crop every image with its affine in one `grid_sample`.

    `images`: list of uint8 `(3, H_i, W_i)` tensors on one device; `patch_to_image`: `(N, 2, 3)`
    patch px -> image px (`patch_to_image()`); `occlusion`: `(N, 4)` integer rectangles
    `x0, y0, w, h` px painted with `floor(uniform[0, 1) * 255)` noise first (w or h 0: none);
    `input_shape`: `(H_in, W_in)`; `generator`: torch generator of that noise (None: the
    device's default). The images are zero-padded to a common size, so sampling outside an
    image reads black, as `cv2.warpAffine`'s constant border. Returns uint8
    `(N, 3, H_in, W_in)` RGB on the images' device.
    """
    device = images[0].device
    n = len(images)
    in_h, in_w = int(input_shape[0]), int(input_shape[1])
    max_h = max(int(im.shape[1]) for im in images)
    max_w = max(int(im.shape[2]) for im in images)
    canvas = torch.zeros((n, 3, max_h, max_w), dtype=torch.float32, device=device)
    for i, (im, rect) in enumerate(zip(images, torch.as_tensor(occlusion).tolist())):
        canvas[i, :, :im.shape[1], :im.shape[2]] = im
        x0, y0, w, h = rect
        if w > 0 and h > 0:
            noise = torch.rand((h, w, 3), generator=generator, device=device)
            canvas[i, :, y0:y0 + h, x0:x0 + w] = torch.floor(noise * 255).permute(2, 0, 1)
    # patch pixel (u, v) -> image pixel (x, y) -> grid_sample's [-1, 1] (pixel centres at the
    # ends: align_corners=True)
    v, u = torch.meshgrid(torch.arange(in_h, device=device, dtype=torch.float32),
                          torch.arange(in_w, device=device, dtype=torch.float32), indexing='ij')
    points = torch.stack([u, v, torch.ones_like(u)], dim=-1).reshape(1, -1, 3)
    affine = torch.as_tensor(patch_to_image, dtype=torch.float32).to(device)
    xy = (points @ affine.transpose(1, 2)).reshape(n, in_h, in_w, 2)
    scale = torch.tensor([2. / max(max_w - 1, 1), 2. / max(max_h - 1, 1)], device=device)
    grid = xy * scale - 1
    patch = F.grid_sample(canvas, grid, mode='bilinear', padding_mode='zeros',
                          align_corners=True)
    return patch.round_().clamp_(0, 255).to(torch.uint8)


def crop_batch(img, device, input_shape, generator=None):
    """The uint8 RGB crops `(N, 3, H_in, W_in)` on `device` of a `collate`d batch `img`:
    decode (`decode_jpegs`) and crop (`warp_batch`) there. `normalise_batch(crops,
    img['color_scale'], ...)` then gives the network input, as on the OpenCV path."""
    images = decode_jpegs(img['jpeg'], device, img.get('path'))
    return warp_batch(images, img['patch_to_image'], img['occlusion'], input_shape, generator)
