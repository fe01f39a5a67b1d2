"""PoseNet demo: absolute 3D poses of the people in one photo (SPEC sections 9 and 12).

    python demo/demo.py --test_epoch 24          # demo/input.jpg, demo/snapshot_24.pth.tar
    python demo/demo.py --input photo.jpg --snapshot output/model_dump/snapshot_24.pth.tar \\
        --bbox 139.4 102.3 222.4 241.6 --bbox 287.2 61.5 74.9 181.4 --root_depth 11250.6 15522.9
    python demo/demo.py --input 000000000139.jpg --test_epoch 24 \\
        --bbox_root bbox_root_coco_output.json          # boxes and roots from RootNet
    python demo/demo.py --input photo.jpg --test_epoch 24 \\
        --detections detections.json --image_id 139     # boxes from DetectNet, roots: prior

The model is the MuCo 21-joint PoseNet (its joint names, flip pairs and skeleton come from
`data/MuCo/MuCo.py`). For every person box (`x y w h` px of the original image) the demo crops
the processed box, runs all crops through the network in one batch, maps the heatmap `x, y`
back to the photo through the inverse crop transform, turns the relative depth into an absolute
one with the person's root depth (mm), and back-projects to camera space with the camera
(default focal 1500 px, principal point at the image centre: the original's normalised camera).

A person without a root depth gets the camera-distance prior of the paper,
`k = sqrt(fx * fy * A_real / A_img)` with `A_real = 2000 mm x 2000 mm` and `A_img` the
processed box area in px; the outputs say which people got it ('prior' vs 'given'/'rootnet').

Writes (atomically) into `--out` (default: this script's folder, as the original):
`output_pose_2d.jpg` (skeletons on the photo), `output_pose_3d.png` (everyone in camera space,
mm, up is up) and `output_pose.json` (boxes, root depths and their source, 2D and 3D joints,
joint names, camera, snapshot). Headless unless `--show`.
"""
import argparse
import json
import math
import os.path as osp

import cv2
import numpy as np
import torch

from common.nets.posenet import get_pose_net, predict
from common.utils.cli import add_common_args, run_cli
from common.utils.errors import PoseNetError
from common.utils.file_io import atomic_path, write_json
from common.utils.pose_utils import absolute_depth, pixel2cam, process_bbox
from common.utils.snapshot import load_network, load_snapshot
from common.utils.vis import show_image, vis_3d_multiple_skeleton, vis_keypoints
from data.dataset import generate_patch_image, get_transform, load_image, trans_points2d
from data.MuCo.MuCo import MuCo
from main.config import cfg

DEMO_DIR = osp.dirname(osp.abspath(__file__))
DEFAULT_INPUT = osp.join(DEMO_DIR, 'input.jpg')
DEFAULT_FOCAL = (1500.0, 1500.0)          # px, the original's normalised focal length
A_REAL = 2000.0 * 2000.0                  # mm^2, real-world area of a person box (the paper's)
DEFAULT_SCORE_THRESH = 0.5
PERSON_CATEGORY_ID = 1                    # COCO 'person'

OUTPUT_2D = 'output_pose_2d.jpg'
OUTPUT_3D = 'output_pose_3d.png'
OUTPUT_JSON = 'output_pose.json'
TITLE_3D = 'output_pose_3d (x,y,z: camera-centered. mm.)'

# The demo's model: MuCo's 21 joints, taken from the dataset module (one source of truth).
JOINT_NUM = MuCo.joint_num
JOINTS_NAME = tuple(MuCo.joints_name)
FLIP_PAIRS = tuple(tuple(p) for p in MuCo.flip_pairs)
SKELETON = tuple(tuple(p) for p in MuCo.skeleton)

ROOT_GIVEN = 'given'        # --root_depth on the command line
ROOT_ROOTNET = 'rootnet'    # root_cam of a RootNet bbox_root file
ROOT_PRIOR = 'prior'        # camera-distance prior k


# -- camera and root depth ------------------------------------------------------------------------
def default_camera(img_width, img_height, focal=None, princpt=None):
    """Camera intrinsics `(focal (2,), princpt (2,))` in px, float64.

    Defaults: focal `(1500, 1500)`, principal point at the image centre `(W/2, H/2)` (the
    original demo's normalised camera). A non-positive focal length is an error.
    """
    focal = np.asarray(DEFAULT_FOCAL if focal is None else focal, dtype=np.float64).reshape(2)
    if princpt is None:
        princpt = (img_width / 2.0, img_height / 2.0)
    princpt = np.asarray(princpt, dtype=np.float64).reshape(2)
    if not np.all(np.isfinite(focal)) or np.any(focal <= 0):
        raise PoseNetError(f"--focal {focal[0]:g} {focal[1]:g}: focal lengths must be positive "
                           "pixels (default 1500 1500)")
    if not np.all(np.isfinite(princpt)):
        raise PoseNetError("--princpt: the principal point must be two finite pixel values")
    return focal, princpt


def camera_distance_prior(bbox_processed, focal, a_real=A_REAL):
    """The paper's camera-distance prior `k = sqrt(fx * fy * A_real / A_img)` in mm.

    `bbox_processed`: processed box `[x, y, w, h]` px (so `A_img = w * h` px^2); `focal`:
    `(fx, fy)` px; `a_real`: real-world box area in mm^2 (2000 mm x 2000 mm).
    """
    bbox_processed = np.asarray(bbox_processed, dtype=np.float64).reshape(4)
    area = bbox_processed[2] * bbox_processed[3]
    if not area > 0:
        raise PoseNetError(f"box {bbox_processed.tolist()} has no area; cannot compute the "
                           "camera-distance prior")
    return math.sqrt(float(focal[0]) * float(focal[1]) * a_real / area)


def parse_root_depths(tokens):
    """`--root_depth` values: numbers (mm) or `prior`; returns a list of float or None."""
    depths = []
    for tok in tokens or []:
        if str(tok).strip().lower() in ('prior', 'none', '-'):
            depths.append(None)
            continue
        try:
            value = float(tok)
        except ValueError:
            raise PoseNetError(f"--root_depth {tok!r}: expected an absolute root depth in mm "
                               "(e.g. 11250.5) or 'prior'") from None
        depths.append(value)
    return depths


def check_root_depths(root_depths, num_boxes):
    """Root depths checked against the boxes: one per box (None = prior), finite and positive."""
    if root_depths is None:
        return [None] * num_boxes
    root_depths = list(root_depths)
    if len(root_depths) != num_boxes:
        raise PoseNetError(f"{len(root_depths)} root depth(s) for {num_boxes} box(es): give one "
                           "--root_depth value per box, in box order ('prior' for a person "
                           "without one), or none at all to use the camera-distance prior")
    for n, depth in enumerate(root_depths):
        if depth is not None and not (math.isfinite(depth) and depth > 0):
            raise PoseNetError(f"root depth {depth:g} of person {n + 1} must be a positive "
                               "distance from the camera in mm")
    return root_depths


# -- boxes ----------------------------------------------------------------------------------------
def check_box(bbox, n, what):
    """A box `[x, y, w, h]` as float64 `(4,)`; a malformed one is an error naming it."""
    try:
        box = np.asarray(bbox, dtype=np.float64).reshape(4)
    except (TypeError, ValueError):
        raise PoseNetError(f"{what}: box {n + 1} {bbox!r} is not four numbers "
                           "[x, y, w, h]") from None
    if not np.all(np.isfinite(box)):
        raise PoseNetError(f"{what}: box {n + 1} {box.tolist()} is not finite")
    return box


def process_boxes(boxes, img_width, img_height, input_shape, already_processed=False):
    """Processed crop boxes `(N, 4)` px for boxes `(N, 4)` `[x, y, w, h]` of the original image.

    Each box goes through `process_bbox` (clip, input aspect ratio, x1.25). Boxes of a RootNet
    file are processed already (`already_processed=True`) and are used as they are, after the
    same check that part of them lies inside the image. A box with nothing inside the image is
    an error naming it.
    """
    out = []
    for n, box in enumerate(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)):
        processed = process_bbox(box, img_width, img_height, input_shape)
        if processed is None:
            raise PoseNetError(f"box {n + 1} [{', '.join(f'{v:g}' for v in box)}] (x y w h) lies "
                               f"outside the image {img_width}x{img_height} or is empty; boxes "
                               "are x y w h in pixels of the input image")
        out.append(box if already_processed else processed)
    return np.asarray(out, dtype=np.float64).reshape(-1, 4)


def _load_record_list(path, what):
    """A JSON file holding a list of dicts; missing/broken/other content is an error."""
    if not osp.isfile(path):
        raise PoseNetError(f"{what} not found: {path}")
    try:
        with open(path) as f:
            records = json.load(f)
    except (OSError, ValueError) as e:
        raise PoseNetError(f"{what} {path} cannot be read as JSON ({e})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise PoseNetError(f"{what} {path} must be a JSON list of records (objects)")
    return records


def _pick_image_id(records, image_id, path, what, img_path=None):
    """The image id whose records the demo uses.

    `image_id` (any type; compared as text) when given. Otherwise: the only id of the file, or
    the input image's file-name stem read as a number (COCO names: `000000000139.jpg` -> 139).
    """
    ids = []
    for r in records:
        if r['image_id'] not in ids:
            ids.append(r['image_id'])
    if image_id is not None:
        match = [i for i in ids if str(i) == str(image_id)]
        if not match:
            raise PoseNetError(f"{what} {path} has no record with image_id {image_id} "
                               f"(it holds {len(ids)} image id(s), e.g. {ids[:5]})")
        return match[0]
    if len(ids) == 1:
        return ids[0]
    if img_path is not None:
        stem = osp.splitext(osp.basename(img_path))[0]
        match = [i for i in ids if stem.isdigit() and str(i) == str(int(stem))]
        if match:
            return match[0]
    raise PoseNetError(f"{what} {path} holds records of {len(ids)} images; choose one with "
                       f"--image_id (e.g. {ids[:5]})")


def _image_records(path, what, required, image_id, img_path, expected):
    """`(image_id, records of that image in file order)` of a JSON list of records.

    Every record must hold the `required` keys (else an error naming the record and the
    `expected` format); the image is chosen by `_pick_image_id`.
    """
    records = _load_record_list(path, what)
    for i, r in enumerate(records):
        if not set(required) <= set(r):
            raise PoseNetError(f"{what} {path}: record {i} is not {{{', '.join(required)}}}; "
                               f"expected {expected}")
    chosen = _pick_image_id(records, image_id, path, what, img_path)
    return chosen, [r for r in records if str(r['image_id']) == str(chosen)]


def read_detections(path, image_id=None, score_thresh=DEFAULT_SCORE_THRESH,
                    category_id=PERSON_CATEGORY_ID, img_path=None):
    """Person boxes of one image from a COCO-style detection results file.

    The file is a JSON list of `{image_id, category_id, bbox [x, y, w, h] px, score}`. Keeps the
    records of the chosen image (see `_pick_image_id`) with `category_id == category_id` (when
    the record has one) and `score >= score_thresh` (when it has one), in file order.
    Returns `(boxes (N, 4) float64, scores list of float or None, image_id)`.
    """
    what = 'detection file'
    chosen, records = _image_records(path, what, ('image_id', 'bbox'), image_id, img_path,
                                     'COCO detection results [{image_id, category_id, bbox, '
                                     'score}, ...]')
    boxes, scores = [], []
    for r in records:
        if category_id is not None and 'category_id' in r and r['category_id'] != category_id:
            continue
        score = r.get('score')
        if score is not None and float(score) < score_thresh:
            continue
        boxes.append(check_box(r['bbox'], len(boxes), f'{what} {path}'))
        scores.append(None if score is None else float(score))
    if not boxes:
        raise PoseNetError(f"{what} {path}: no person box of image {chosen} with score >= "
                           f"{score_thresh:g} (category_id {category_id}); lower --score_thresh")
    return np.stack(boxes), scores, chosen


def read_bbox_root(path, image_id=None, img_path=None):
    """Boxes and absolute root depths of one image from a RootNet `bbox_root_*_output.json`.

    The file is a JSON list of `{image_id, bbox [x, y, w, h] px (already processed), root_cam
    [X, Y, Z] mm}`. Returns `(boxes (N, 4) float64, root_depths list of float (Z, mm),
    image_id)` for the chosen image (see `_pick_image_id`), in file order.
    """
    what = 'bbox_root file'
    chosen, records = _image_records(path, what, ('image_id', 'bbox', 'root_cam'), image_id,
                                     img_path, "RootNet's bbox_root_*_output.json")
    boxes, depths = [], []
    for r in records:
        boxes.append(check_box(r['bbox'], len(boxes), f'{what} {path}'))
        try:
            root = np.asarray(r['root_cam'], dtype=np.float64).reshape(3)
        except (TypeError, ValueError):
            raise PoseNetError(f"{what} {path}: root_cam {r['root_cam']!r} is not three "
                               "numbers [X, Y, Z] mm") from None
        depths.append(float(root[2]))
    return np.stack(boxes), depths, chosen


# -- core -----------------------------------------------------------------------------------------
def crop_people(img, bbox_processed, config=None):
    """Network inputs for every person.

    `img`: BGR uint8 `(H, W, 3)`; `bbox_processed`: `(N, 4)` px. Crops without augmentation to
    `config.input_shape`, with the original's input transform (compat 0..255 normalisation).
    Returns `(batch float32 tensor (N, 3, H_in, W_in), trans (N, 2, 3) image-to-crop affines)`.
    """
    config = cfg if config is None else config
    transform = get_transform(config)
    crops, transes = [], []
    for box in bbox_processed:
        patch, trans = generate_patch_image(img, box, False, 1.0, 0.0, False,
                                            input_shape=config.input_shape)
        crops.append(transform(patch))
        transes.append(trans)
    return torch.stack(crops), np.asarray(transes, dtype=np.float64).reshape(-1, 2, 3)


def heatmap_to_image(coord_hm, trans, config=None):
    """Heatmap `x, y` `(N, J, 2+)` -> original-image pixels `(N, J, 2)`.

    `x_crop = x / W_out * W_in`, `y_crop = y / H_out * H_in`, then the inverse of each person's
    image-to-crop affine `trans (N, 2, 3)`.
    """
    config = cfg if config is None else config
    coord_hm = np.asarray(coord_hm, dtype=np.float64)
    (in_h, in_w), (out_h, out_w) = config.input_shape, config.output_shape
    out = np.empty(coord_hm.shape[:2] + (2,), dtype=np.float64)
    for n in range(coord_hm.shape[0]):
        crop_xy = np.stack((coord_hm[n, :, 0] / out_w * in_w,
                            coord_hm[n, :, 1] / out_h * in_h), axis=1)
        out[n] = trans_points2d(crop_xy, cv2.invertAffineTransform(trans[n]))
    return out


def _model_device(model):
    for p in model.parameters():
        return p.device
    return torch.device('cpu')


def run_demo(model, img, boxes, root_depths, focal, princpt, config=None, flip_test=False,
             boxes_processed=False, given_source=ROOT_GIVEN, device=None):
    """3D poses of the people in one image (the demo's math, no files).

    model: PoseNet (or any module mapping `(N, 3, H_in, W_in)` crops to `(N, J, 3)` heatmap
        coordinates), in eval mode; img: BGR uint8 `(H, W, 3)`; boxes: `(N, 4)` `[x, y, w, h]` px;
    root_depths: N absolute root depths (mm) or None per person (None: the camera-distance
        prior), or None for all; focal, princpt: `(2,)` px; config: `cfg` by default;
    flip_test: average with the mirrored crop (MuCo flip pairs); boxes_processed: the boxes
        are processed already (RootNet files); given_source: the source label of the given roots.
    All people go through the network in one batch.

    Returns a dict: `bbox (N, 4)` as given, `bbox_processed (N, 4)` px, `root_depth (N,)` mm,
    `root_source` (N labels: 'given'/'rootnet'/'prior'), `coord_hm (N, J, 3)` network output,
    `pose_2d (N, J, 2)` px of the image, `pose_3d (N, J, 3)` camera mm.
    """
    config = cfg if config is None else config
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        raise PoseNetError("no person box: give --bbox, --detections or --bbox_root")
    img_height, img_width = img.shape[:2]
    focal = np.asarray(focal, dtype=np.float64).reshape(2)
    princpt = np.asarray(princpt, dtype=np.float64).reshape(2)
    bbox_processed = process_boxes(boxes, img_width, img_height, config.input_shape,
                                   already_processed=boxes_processed)
    root_depths = check_root_depths(root_depths, len(boxes))
    sources, depth = [], []
    for n, value in enumerate(root_depths):
        if value is None:
            depth.append(camera_distance_prior(bbox_processed[n], focal))
            sources.append(ROOT_PRIOR)
        else:
            depth.append(float(value))
            sources.append(given_source)
    depth = np.asarray(depth, dtype=np.float64)

    batch, trans = crop_people(img, bbox_processed, config)
    device = _model_device(model) if device is None else device
    flip_pairs = FLIP_PAIRS if flip_test else None
    coord_hm = predict(model, batch.to(device), flip_pairs=flip_pairs,
                       output_width=config.output_shape[1])
    coord_hm = coord_hm.detach().float().cpu().numpy().astype(np.float64)

    pose_2d = heatmap_to_image(coord_hm, trans, config)
    z_abs = absolute_depth(coord_hm[:, :, 2], depth, config.depth_dim, config.bbox_3d_shape)
    pose_3d = pixel2cam(np.concatenate((pose_2d, z_abs[:, :, None]), axis=2), focal, princpt)
    return {'bbox': boxes, 'bbox_processed': bbox_processed, 'root_depth': depth,
            'root_source': sources, 'coord_hm': coord_hm, 'pose_2d': pose_2d, 'pose_3d': pose_3d}


# -- files ----------------------------------------------------------------------------------------
def read_input_image(path):
    """The photo as BGR uint8 `(H, W, 3)`; a missing or undecodable file is a clear error."""
    if not osp.isfile(path):
        hint = (" (no photo ships with the project: pass --input PATH; README 'Demo' runs it on "
                "matplotlib's sample photo)") if osp.abspath(path) == DEFAULT_INPUT else ''
        raise PoseNetError(f"input image not found: {path}{hint}")
    try:
        return load_image(path)
    except PoseNetError:
        raise PoseNetError(f"cannot read input image {path}: it is not an image OpenCV can "
                           "decode (JPEG, PNG, ...)") from None


def resolve_snapshot(snapshot, test_epoch):
    """Snapshot path from `--snapshot`, else `demo/snapshot_<test_epoch>.pth.tar`."""
    if snapshot is not None:
        return snapshot
    if test_epoch is None:
        raise PoseNetError("no model: give --test_epoch N (reads demo/snapshot_N.pth.tar) or "
                           "--snapshot PATH")
    return osp.join(DEMO_DIR, f'snapshot_{test_epoch}.pth.tar')


def load_model(path, config=None, device=None):
    """The MuCo 21-joint PoseNet of `config` with the snapshot's weights, in eval mode.

    A missing snapshot is an error saying where it is expected and how to get one.
    """
    config = cfg if config is None else config
    if not osp.isfile(path):
        raise PoseNetError(
            f"snapshot not found: {path}. The demo needs a MuCo-trained (21-joint) PoseNet "
            "snapshot: put the official pretrained MuCo snapshot there (snapshot_24.pth.tar, see "
            "README 'Demo'), or pass --snapshot output/model_dump/snapshot_<epoch>.pth.tar of a "
            "model you trained with trainset_3d=['MuCo'] (and --cfg matching its settings)")
    ckpt = load_snapshot(path)
    model = get_pose_net(config, False, JOINT_NUM)
    try:
        load_network(model, ckpt['network'])
    except PoseNetError as e:
        raise PoseNetError(f"{path}: {e}; the demo runs the MuCo 21-joint model "
                           f"(resnet_type={config.resnet_type}, depth_dim={config.depth_dim})"
                           ) from None
    model.to(config.device if device is None else device)
    model.eval()
    return model, ckpt.get('epoch')


def write_image(path, img):
    """Write a BGR image atomically; the format follows the extension."""
    ok, buf = cv2.imencode(osp.splitext(path)[1] or '.jpg', img)
    if not ok:
        raise PoseNetError(f"cannot encode image for {path}")
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(buf.tobytes())
    return path


def draw_2d(img, pose_2d, skeleton=SKELETON):
    """Everyone's skeleton on a copy of the BGR photo (`vis_keypoints`, all joints scored 1)."""
    vis_img = img.copy()
    for person in np.asarray(pose_2d, dtype=np.float64):
        kps = np.stack((person[:, 0], person[:, 1], np.ones(len(person))))
        vis_img = vis_keypoints(vis_img, kps, skeleton)
    return vis_img


def _floats(a):
    return np.asarray(a, dtype=np.float64).tolist()


def result_to_json(result, img_path, img_shape, focal, princpt, princpt_source, snapshot,
                   epoch, bbox_source, config=None, image_id=None, scores=None, flip_test=False):
    """The machine-readable output (plain JSON types)."""
    config = cfg if config is None else config
    people = []
    for n in range(len(result['bbox'])):
        person = {
            'person': n + 1,
            'bbox': _floats(result['bbox'][n]),
            'bbox_processed': _floats(result['bbox_processed'][n]),
            'root_depth': float(result['root_depth'][n]),
            'root_source': result['root_source'][n],
            'pose_2d': _floats(result['pose_2d'][n]),
            'pose_3d': _floats(result['pose_3d'][n]),
        }
        if scores is not None and scores[n] is not None:
            person['score'] = float(scores[n])
        people.append(person)
    return {
        'image': osp.abspath(img_path),
        'image_size': [int(img_shape[1]), int(img_shape[0])],
        'image_id': image_id,
        'snapshot': osp.abspath(snapshot),
        'snapshot_epoch': epoch,
        'model': {'joint_set': 'MuCo', 'resnet_type': config.resnet_type,
                  'input_shape': list(config.input_shape),
                  'output_shape': list(config.output_shape), 'depth_dim': config.depth_dim,
                  'bbox_3d_shape': list(config.bbox_3d_shape), 'flip_test': bool(flip_test)},
        'camera': {'focal': _floats(focal), 'princpt': _floats(princpt),
                   'princpt_source': princpt_source},
        'bbox_source': bbox_source,
        'root_prior': {'formula': 'k = sqrt(fx * fy * A_real / A_img)',
                       'A_real_mm2': A_REAL, 'A_img': 'processed box area, px^2'},
        'units': {'bbox': '[x, y, w, h] px of the input image',
                  'root_depth': 'mm, camera Z of the root joint (Pelvis)',
                  'pose_2d': '[x, y] px of the input image, one row per joint',
                  'pose_3d': '[X, Y, Z] mm, camera space (x right, y down, z forward)'},
        'joints_name': list(JOINTS_NAME),
        'skeleton': [list(p) for p in SKELETON],
        'people': people,
    }


def write_outputs(out_dir, img, result, meta):
    """Write the 2D drawing, the 3D view and the JSON into `out_dir`; returns their paths."""
    paths = {'pose_2d': osp.join(out_dir, OUTPUT_2D), 'pose_3d': osp.join(out_dir, OUTPUT_3D),
             'json': osp.join(out_dir, OUTPUT_JSON)}
    vis_img = draw_2d(img, result['pose_2d'])
    write_image(paths['pose_2d'], vis_img)
    vis_3d_multiple_skeleton(result['pose_3d'], None, SKELETON, filename=paths['pose_3d'],
                             title=TITLE_3D)
    write_json(paths["json"], meta)
    return paths, vis_img


# -- command line ---------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='PoseNet demo: 3D poses of the people in one photo (MuCo 21-joint model).')
    add_common_args(parser)
    model = parser.add_mutually_exclusive_group()
    model.add_argument('--test_epoch', type=int, default=None,
                       help='read demo/snapshot_<epoch>.pth.tar (as the original)')
    model.add_argument('--snapshot', type=str, default=None, help='snapshot file to load')
    parser.add_argument('--input', type=str, default=DEFAULT_INPUT,
                        help='photo to run on (default demo/input.jpg)')
    parser.add_argument('--out', type=str, default=DEMO_DIR,
                        help='output folder (default: the demo/ folder, as the original)')
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument('--bbox', type=float, nargs=4, action='append', default=None,
                       metavar=('X', 'Y', 'W', 'H'),
                       help='a person box in px of the input image; repeat for more people')
    boxes.add_argument('--detections', type=str, default=None, metavar='JSON',
                       help='COCO-style detection results [{image_id, category_id, bbox, '
                            'score}, ...] (DetectNet output)')
    boxes.add_argument('--bbox_root', type=str, default=None, metavar='JSON',
                       help="RootNet's bbox_root_*_output.json [{image_id, bbox, root_cam}, ...]: "
                            'boxes and root depths')
    parser.add_argument('--image_id', type=str, default=None,
                        help='image id to take from --detections/--bbox_root (default: the only '
                             'one in the file, or the input file name as a number)')
    parser.add_argument('--score_thresh', type=float, default=DEFAULT_SCORE_THRESH,
                        help='keep detections with at least this score (default 0.5)')
    parser.add_argument('--category_id', type=int, default=PERSON_CATEGORY_ID,
                        help='detection category of people (default 1, COCO person)')
    parser.add_argument('--root_depth', type=str, nargs='+', default=None, metavar='MM',
                        help="absolute root depth of each box in mm, in box order; 'prior' for "
                             'a person without one (camera-distance prior)')
    parser.add_argument('--focal', type=float, nargs=2, default=None, metavar=('FX', 'FY'),
                        help='focal length in px (default 1500 1500)')
    parser.add_argument('--princpt', type=float, nargs=2, default=None, metavar=('CX', 'CY'),
                        help='principal point in px (default: the image centre)')
    parser.add_argument('--flip_test', action='store_true',
                        help='also run the mirrored crops and average (off, as the original demo)')
    parser.add_argument('--show', action='store_true',
                        help='open interactive windows with the results (needs a display)')
    return parser.parse_args(argv)


def gather_people(args, img_path, img_width, img_height):
    """Boxes, root depths (None = prior) and bookkeeping from the command-line arguments.

    Returns `(boxes (N, 4), root_depths, given_source, boxes_processed, bbox_source, image_id,
    scores)`. Without any box option the whole image is one person box.
    """
    root_depths = parse_root_depths(args.root_depth) if args.root_depth is not None else None
    image_id, scores, given_source, processed = None, None, ROOT_GIVEN, False
    if args.bbox_root is not None:
        if root_depths is not None:
            raise PoseNetError("--root_depth cannot be combined with --bbox_root (the file gives "
                               "the root depths)")
        boxes, root_depths, image_id = read_bbox_root(args.bbox_root, args.image_id, img_path)
        given_source, processed = ROOT_ROOTNET, True
        bbox_source = f'bbox_root file {osp.abspath(args.bbox_root)}'
    elif args.detections is not None:
        boxes, scores, image_id = read_detections(args.detections, args.image_id,
                                                  args.score_thresh, args.category_id, img_path)
        bbox_source = (f'detection file {osp.abspath(args.detections)} '
                       f'(score >= {args.score_thresh:g})')
    elif args.bbox:
        boxes = np.asarray(args.bbox, dtype=np.float64).reshape(-1, 4)
        bbox_source = 'command line'
    else:
        boxes = np.array([[0.0, 0.0, img_width, img_height]])
        bbox_source = 'whole image (no box given)'
    return boxes, root_depths, given_source, processed, bbox_source, image_id, scores


def main(argv=None):
    """Run the demo; returns the JSON dict plus `files` (paths of the three outputs)."""
    args = parse_args(argv)
    cfg.apply_overrides(args.cfg)
    cfg.set_args(args.gpu_ids)
    snapshot = resolve_snapshot(args.snapshot, args.test_epoch)

    img = read_input_image(args.input)
    img_height, img_width = img.shape[:2]
    focal, princpt = default_camera(img_width, img_height, args.focal, args.princpt)
    boxes, root_depths, given_source, processed, bbox_source, image_id, scores = \
        gather_people(args, args.input, img_width, img_height)
    # box and root checks before the (slower) model load
    process_boxes(boxes, img_width, img_height, cfg.input_shape, already_processed=processed)
    check_root_depths(root_depths, len(boxes))

    model, epoch = load_model(snapshot)
    result = run_demo(model, img, boxes, root_depths, focal, princpt, cfg,
                      flip_test=args.flip_test, boxes_processed=processed,
                      given_source=given_source)
    meta = result_to_json(result, args.input, img.shape, focal, princpt,
                          'given' if args.princpt is not None else 'image centre', snapshot,
                          epoch, bbox_source, cfg, image_id, scores, args.flip_test)
    files, vis_img = write_outputs(args.out, img, result, meta)

    print(f'{len(boxes)} person(s) in {args.input} ({bbox_source}), model {snapshot} on '
          f'{cfg.device}')
    for n in range(len(boxes)):
        src = result['root_source'][n]
        note = (' (camera-distance prior: no root depth given; a rough guess)'
                if src == ROOT_PRIOR else f' ({src})')
        print(f'  person {n + 1}: root depth {result["root_depth"][n]:.1f} mm{note}')
    for path in files.values():
        print(f'wrote {path}')

    if args.show:
        show_image(vis_img, title=OUTPUT_2D)
        vis_3d_multiple_skeleton(result['pose_3d'], None, SKELETON, title=TITLE_3D, show=True)
    meta['files'] = files
    return meta


if __name__ == '__main__':
    run_cli(main)
