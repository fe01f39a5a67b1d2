"""Demo: everyone's absolute 3D pose in a photo, photos or a video (docs/SPEC.md §9, §14).

    python demo/demo.py --input photo.jpg --test_epoch 24      # detector -> RootNet -> PoseNet
    python demo/demo.py --input photo.jpg --snapshot output/model_dump/snapshot_24.pth.tar \\
        --bbox 139.4 102.3 222.4 241.6 --bbox 287.2 61.5 74.9 181.4    # given boxes: no detector
    python demo/demo.py --input photo.jpg --test_epoch 24 --bbox 139 102 222 241 \\
        --root_depth 11250.6                                  # given root depth: no RootNet
    python demo/demo.py --input 000000000139.jpg --test_epoch 24 \\
        --bbox_root bbox_root_coco_output.json                # boxes and roots from a RootNet file
    python demo/demo.py --input clips/walk.mp4 --test_epoch 24 --out out/   # a video
    python demo/demo.py --input photos/ --test_epoch 24 --root_prior        # a folder, no RootNet

Models (each is loaded only when it is needed, and a missing one is one error line saying
where to get it):
* PoseNet: `--snapshot PATH`, or `--test_epoch N` for `demo/snapshot_N.pth.tar` (the original's
  MuCo 21-joint model); snapshots written by this project carry their own settings.
* RootNet (people without `--root_depth`): `--rootnet PATH`, default
  `demo/rootnet_snapshot_18.pth.tar` (the official RootNet `snapshot_18.pth.tar`, renamed).
  `--root_prior` uses the paper's camera-distance prior instead (a rough guess).
* Detector (no `--bbox`, `--detections` or `--bbox_root`): `--detector NAME|PATH`, default
  torchvision's COCO Faster R-CNN ResNet-50 FPN v2 (downloaded once into
  `$TORCH_HOME/hub/checkpoints/`; offline, put the file there or pass its path).

The camera is `--focal`/`--princpt` px, default the original's normalised camera (focal 1500,
principal point at the image centre); the outputs state which was used.

Outputs in `--out` (default: this script's folder, as the original), written atomically:
* one photo: `output_pose_2d.jpg` (skeletons on the photo), `output_pose_3d.png` (everyone in
  camera space, mm, up is up) and `output_pose.json` (boxes, roots and their source, 2D and 3D
  joints, joint names, camera, models);
* a folder: the same three files per image, named `<image stem>_pose_2d.jpg`, ...;
* a video: `<stem>_pose.mp4` (skeletons drawn on every frame), `<stem>_pose.jsonl` (one JSON
  record per frame) and `<stem>_pose_3d/frame_<n>.png` (a 3D view per frame).
A frame or image that cannot be decoded is reported and skipped; the summary counts them.
"""
import argparse
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np

from common.utils.cli import add_common_args, configure, run_cli
from common.utils.errors import PoseNetError
from common.utils.file_io import atomic_path, write_json, write_text
from common.utils.vis import show_image, vis_3d_multiple_skeleton, vis_keypoints
from data.dataset import load_image
from data.detections import read_bbox_root, read_detections, select_image
from main.pipeline import (ROOT_GIVEN, ROOT_PRIOR, ROOT_ROOTNET, Pipeline, check_boxes,
                           check_root_depths, process_boxes)

DEMO_DIR = osp.dirname(osp.abspath(__file__))
DEFAULT_INPUT = osp.join(DEMO_DIR, 'input.jpg')
DEFAULT_ROOTNET = osp.join(DEMO_DIR, 'rootnet_snapshot_18.pth.tar')
DEFAULT_SCORE_THRESH = 0.5
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg')
TITLE_3D = 'output_pose_3d (x,y,z: camera-centered. mm.)'
ROOTNET_HELP = ("the official RootNet snapshot_18.pth.tar (github.com/mks0601/"
                "3DMPPE_ROOTNET_RELEASE, 'MuCo-3DHP' model) saved as "
                f"{DEFAULT_ROOTNET}, or a RootNet trained here (main/train.py --cfg "
                "network=RootNet)")


# -- inputs ---------------------------------------------------------------------------------------
def input_kind(path):
    """'image', 'folder' or 'video' for `--input`; a missing path is an error."""
    if osp.isdir(path):
        return 'folder'
    if not osp.isfile(path):
        hint = (" (no photo ships with the project: pass --input PATH; README 'Run on your own "
                "photo or video' runs it on matplotlib's sample photo)") \
            if osp.abspath(path) == DEFAULT_INPUT else ''
        raise PoseNetError(f"input not found: {path}{hint}")
    return 'video' if path.lower().endswith(VIDEO_EXTENSIONS) else 'image'


def read_input_image(path):
    """One photo as BGR uint8 `(H, W, 3)`; an undecodable file is a clear error."""
    try:
        return load_image(path)
    except PoseNetError:
        raise PoseNetError(f"cannot read input image {path}: it is not an image OpenCV can "
                           "decode (JPEG, PNG, ...)") from None


def folder_images(folder):
    """Image files of a folder, sorted by name; an error when there is none."""
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
        raise PoseNetError(f"input folder {folder} holds no image ({', '.join(IMAGE_EXTENSIONS)})")
    return [osp.join(folder, n) for n in names]


def video_frames(path, capture=None):
    """`(frame count or None, fps, iterator of (index, BGR frame or None))` of a video; a frame
    that fails to decode before the last one is yielded as None (reported, skipped)."""
    cap = cv2.VideoCapture(path) if capture is None else capture
    if not cap.isOpened():
        raise PoseNetError(f"cannot open video {path}: not a video OpenCV can decode")
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0

    def frames():
        index, failures = 0, 0
        try:
            while count is None or index < count:
                ok, frame = cap.read()
                if ok and frame is not None:
                    failures = 0
                    yield index, frame
                elif count is None or failures >= 10:   # the end, or nothing decodes any more
                    return
                else:
                    failures += 1
                    yield index, None
                index += 1
        finally:
            cap.release()
    return count, fps, frames()


# -- people ---------------------------------------------------------------------------------------
def parse_root_depths(tokens):
    """`--root_depth` values: numbers (mm), or `rootnet` / `prior` for a person without one
    (None: estimated). Returns `(depths, prior)`: a list of float or None, and whether the
    tokens asked for the prior."""
    depths, prior = [], False
    for tok in tokens:
        word = str(tok).strip().lower()
        if word in ('prior', 'rootnet', 'none', '-'):
            depths.append(None)
            prior = prior or word == 'prior'
            continue
        try:
            depths.append(float(tok))
        except ValueError:
            raise PoseNetError(f"--root_depth {tok!r}: expected an absolute root depth in mm "
                               "(e.g. 11250.5), 'rootnet' or 'prior'") from None
    return depths, prior


class BoxSource:
    """Where the boxes (and maybe roots) of each image come from: the command line, a detection
    file, a bbox_root file, or the detector (None). Files are read once."""

    def __init__(self, args):
        self.args = args
        self.records, self.what = None, None
        if args.bbox_root is not None:
            self.records, self.what = read_bbox_root(args.bbox_root), 'bbox_root file'
            self.path = args.bbox_root
        elif args.detections is not None:
            self.records = read_detections(args.detections, args.score_thresh, args.category_id)
            self.what, self.path = 'detection file', args.detections

    @property
    def uses_detector(self):
        return self.records is None and not self.args.bbox

    def describe(self):
        a = self.args
        if a.bbox_root is not None:
            return f'bbox_root file {osp.abspath(a.bbox_root)}'
        if a.detections is not None:
            return f'detection file {osp.abspath(a.detections)} (score >= {a.score_thresh:g})'
        if a.bbox:
            return 'command line'
        return f'detector {a.detector} (score >= {a.score_thresh:g})'

    def boxes(self, img_path):
        """`(image_id, boxes (N, 4) or None = detector, scores or None, root depths or None,
        processed)` for one image."""
        a = self.args
        if self.records is None:
            return None, (np.asarray(a.bbox, dtype=np.float64) if a.bbox else None), None, \
                None, False
        image_id, records = select_image(self.records, self.path, self.what, a.image_id,
                                         img_path)
        boxes = np.array([r['bbox'] for r in records], dtype=np.float64).reshape(-1, 4)
        if a.bbox_root is not None:
            return image_id, boxes, [r['score'] for r in records], \
                [float(r['root_cam'][2]) for r in records], True
        if not records:
            raise PoseNetError(f"{self.what} {self.path}: no person box of image {image_id} "
                               f"with score >= {a.score_thresh:g} (category_id {a.category_id});"
                               " lower --score_thresh")
        scores = [1.0 if r['score'] is None else r['score'] for r in records]
        return image_id, boxes, scores, None, False


# -- outputs --------------------------------------------------------------------------------------
def write_image(path, img):
    """Write a BGR image atomically; the format follows the extension."""
    ok, buf = cv2.imencode(osp.splitext(path)[1] or '.jpg', img)
    if not ok:
        raise PoseNetError(f"cannot encode image for {path}")
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(buf.tobytes())
    return path


def draw_2d(img, result):
    """Everyone's skeleton on a copy of the BGR image (`vis_keypoints`, all joints scored 1)."""
    vis_img = img.copy()
    for person in result['people']:
        pose_2d = np.asarray(person['pose_2d'], dtype=np.float64)
        kps = np.stack((pose_2d[:, 0], pose_2d[:, 1], np.ones(len(pose_2d))))
        vis_img = vis_keypoints(vis_img, kps, result['skeleton'])
    return vis_img


def draw_3d(result, path=None, show=False):
    """The 3D view of everyone (camera space, mm); an image without people gets an empty one."""
    poses = np.array([p['pose_3d'] for p in result['people']], dtype=np.float64).reshape(
        -1, len(result['joints_name']), 3)
    return vis_3d_multiple_skeleton(poses, None, result['skeleton'], filename=path,
                                    title=TITLE_3D, show=show)


def _floats(a):
    return np.asarray(a, dtype=np.float64).tolist()


def result_to_json(result, img_path, img_shape, meta, image_id=None, frame=None):
    """The machine-readable record of one image or frame (plain JSON types)."""
    people = []
    for n, p in enumerate(result['people']):
        people.append({'person': n + 1, 'bbox': _floats(p['bbox']),
                       'bbox_processed': _floats(p['bbox_processed']), 'score': p['score'],
                       'root_cam': _floats(p['root_cam']),
                       'root_depth': float(p['root_cam'][2]), 'root_source': p['root_source'],
                       'pose_2d': _floats(p['pose_2d']), 'pose_3d': _floats(p['pose_3d'])})
    record = {'image': osp.abspath(img_path), 'image_size': [int(img_shape[1]), int(img_shape[0])]}
    if frame is not None:
        record['frame'] = int(frame)
    record.update({
        'image_id': image_id,
        'camera': {'focal': _floats(result['focal']), 'princpt': _floats(result['princpt']),
                   'source': meta['camera_source']},
        **{k: v for k, v in meta.items() if k != 'camera_source'},
        'units': {'bbox': '[x, y, w, h] px of the input image',
                  'root_cam': 'mm, camera space of the root joint (Pelvis)',
                  'pose_2d': '[x, y] px of the input image, one row per joint',
                  'pose_3d': '[X, Y, Z] mm, camera space (x right, y down, z forward)'},
        'joints_name': list(result['joints_name']),
        'skeleton': [list(p) for p in result['skeleton']],
        'people': people})
    return record


def output_names(out_dir, stem=None):
    """Paths of the three outputs of one image (the original's names for a single photo)."""
    prefix = 'output_pose' if stem is None else f'{stem}_pose'
    return {'pose_2d': osp.join(out_dir, f'{prefix}_2d.jpg'),
            'pose_3d': osp.join(out_dir, f'{prefix}_3d.png'),
            'json': osp.join(out_dir, f'{prefix}.json')}


def write_outputs(paths, img, result, record):
    """Write the 2D drawing, the 3D view and the JSON record; returns the 2D drawing."""
    vis_img = draw_2d(img, result)
    write_image(paths['pose_2d'], vis_img)
    draw_3d(result, paths['pose_3d'])
    write_json(paths['json'], record)
    return vis_img


# -- command line ---------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='3DMPPE demo: absolute 3D poses of everyone in a photo, a folder of photos '
                    'or a video (detector -> RootNet -> PoseNet).',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:12]))
    add_common_args(parser)
    model = parser.add_mutually_exclusive_group()
    model.add_argument('--test_epoch', type=int, default=None,
                       help='PoseNet demo/snapshot_<epoch>.pth.tar (as the original)')
    model.add_argument('--snapshot', type=str, default=None, help='PoseNet snapshot file')
    parser.add_argument('--rootnet', type=str, default=DEFAULT_ROOTNET,
                        help='RootNet snapshot for people without --root_depth (default '
                             'demo/rootnet_snapshot_18.pth.tar)')
    parser.add_argument('--detector', type=str, default='fasterrcnn_resnet50_fpn_v2',
                        help='person detector when no box is given: a torchvision model name '
                             '(fasterrcnn_resnet50_fpn_v2, fasterrcnn_mobilenet_v3_large_fpn, '
                             'fasterrcnn_mobilenet_v3_large_320_fpn) or the path of a '
                             'fasterrcnn_resnet50_fpn_v2 COCO weights file')
    parser.add_argument('--input', type=str, default=DEFAULT_INPUT,
                        help='photo, folder of photos, or video file (default demo/input.jpg)')
    parser.add_argument('--out', type=str, default=DEMO_DIR,
                        help='output folder (default: the demo/ folder, as the original)')
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument('--bbox', type=float, nargs=4, action='append', default=None,
                       metavar=('X', 'Y', 'W', 'H'),
                       help='a person box in px of the input; repeat for more people (skips '
                            'the detector)')
    boxes.add_argument('--detections', type=str, default=None, metavar='JSON',
                       help='COCO-style detection results [{image_id, category_id, bbox, '
                            'score}, ...] (DetectNet output; skips the detector)')
    boxes.add_argument('--bbox_root', type=str, default=None, metavar='JSON',
                       help="RootNet's bbox_root_*_output.json [{image_id, bbox, root_cam}, ...]"
                            ': boxes and root depths (skips detector and RootNet)')
    parser.add_argument('--image_id', type=str, default=None,
                        help='image id to take from --detections/--bbox_root (default: the only '
                             'one in the file, or the image file name as a number)')
    parser.add_argument('--score_thresh', type=float, default=DEFAULT_SCORE_THRESH,
                        help='keep detections with at least this score (default 0.5)')
    parser.add_argument('--category_id', type=int, default=1,
                        help='detection-file category of people (default 1, COCO person)')
    parser.add_argument('--root_depth', type=str, nargs='+', default=None, metavar='MM',
                        help="absolute root depth of each box in mm, in box order (skips RootNet);"
                             " 'rootnet' or 'prior' for a person without one")
    parser.add_argument('--root_prior', action='store_true',
                        help="people without a root depth get the paper's camera-distance prior "
                             'k = sqrt(fx fy A_real / A_img) instead of RootNet (a rough guess)')
    parser.add_argument('--focal', type=float, nargs=2, default=None, metavar=('FX', 'FY'),
                        help='focal length in px (default 1500 1500)')
    parser.add_argument('--princpt', type=float, nargs=2, default=None, metavar=('CX', 'CY'),
                        help='principal point in px (default: the image centre)')
    parser.add_argument('--flip_test', action='store_true',
                        help='PoseNet also runs the mirrored crops and averages (off, as the '
                             'original demo)')
    parser.add_argument('--backend', choices=['auto', 'torch', 'onnx', 'onnx-int8'],
                        default='auto',
                        help='inference engine: auto (default: ONNX Runtime on the CPU, PyTorch '
                             'on a GPU; the detector too), torch, onnx, or onnx-int8 (RootNet '
                             'and PoseNet in int8, docs/cpu_inference.md); ONNX exports each '
                             'snapshot once to <snapshot>.onnx next to it (or pass an exported '
                             '.onnx file)')
    parser.add_argument('--show', action='store_true',
                        help='open interactive windows with the results of a photo')
    parser.add_argument('--no_progress', action='store_true', help='no progress bar')
    return parser.parse_args(argv)


def posenet_path(args):
    """PoseNet snapshot from `--snapshot`, else `demo/snapshot_<test_epoch>.pth.tar`."""
    path = args.snapshot
    if path is None:
        if args.test_epoch is None:
            raise PoseNetError("no PoseNet: give --test_epoch N (reads demo/snapshot_N.pth.tar) "
                               "or --snapshot PATH")
        path = osp.join(DEMO_DIR, f'snapshot_{args.test_epoch}.pth.tar')
    if not osp.isfile(path):
        raise PoseNetError(
            f"PoseNet snapshot not found: {path}. The demo needs a MuCo-trained (21-joint) PoseNet"
            " snapshot: put the official pretrained MuCo snapshot there (snapshot_24.pth.tar, see "
            "README 'Run on your own photo or video'), or pass --snapshot output/model_dump/"
            "snapshot_<epoch>.pth.tar of a model you trained with trainset_3d=['MuCo']")
    return path


def build_pipeline(args, cfg, source, root_depths, root_prior):
    """The pipeline with the models this run needs (each checked before anything loads)."""
    pose = posenet_path(args)
    needs_rootnet = not root_prior and args.bbox_root is None and (
        root_depths is None or any(d is None for d in root_depths))
    if needs_rootnet and not osp.isfile(args.rootnet):
        raise PoseNetError(f"RootNet snapshot not found: {args.rootnet}. People without "
                           f"--root_depth need RootNet: {ROOTNET_HELP}; or pass --rootnet PATH, "
                           "--root_depth, or --root_prior")
    return Pipeline.from_files(cfg, pose, args.rootnet if needs_rootnet else None,
                               args.detector if source.uses_detector else None,
                               args.score_thresh, args.flip_test, backend=args.backend)


def run_one(pipeline, img, img_path, args, source, root_depths, root_prior):
    """Pipeline on one image with the command line's boxes / roots; `(result, image_id)`."""
    image_id, boxes, scores, file_roots, processed = source.boxes(img_path)
    roots, label = root_depths, ROOT_GIVEN
    if file_roots is not None:
        roots, label = file_roots, ROOT_ROOTNET
    result = pipeline(img, args.focal, args.princpt, bbox=boxes, score=scores, root_depth=roots,
                      root_prior=root_prior, bbox_processed=processed, root_source=label)
    return result, image_id


def summary_lines(result, img_path):
    lines = [f"{len(result['people'])} person(s) in {img_path}"]
    for n, p in enumerate(result['people']):
        src = p['root_source']
        note = ' (camera-distance prior: a rough guess)' if src == ROOT_PRIOR else f' ({src})'
        lines.append(f"  person {n + 1}: root depth {p['root_cam'][2]:.1f} mm{note}")
    return lines


def main(argv=None):
    """Run the demo; returns the JSON record of a photo (plus `files`), or for a folder or video
    `{'records': [...], 'files': {...}, 'skipped': [...]}`."""
    from main.config import cfg

    args = parse_args(argv)
    configure(cfg, args)
    kind = input_kind(args.input)
    root_depths, prior_token = (parse_root_depths(args.root_depth) if args.root_depth
                                is not None else (None, False))
    root_prior = args.root_prior or prior_token
    if args.bbox_root is not None and root_depths is not None:
        raise PoseNetError("--root_depth cannot be combined with --bbox_root (the file gives the "
                           "root depths)")
    if root_depths is not None and kind != 'image':
        raise PoseNetError("--root_depth gives the depths of the boxes of one photo; for a "
                           "folder or video leave it out (RootNet or --root_prior)")
    source = BoxSource(args)
    img = read_input_image(args.input) if kind == 'image' else None
    if img is not None:        # box and root checks on the photo before the (slower) model load
        _, boxes, _, _, processed = source.boxes(args.input)
        if boxes is not None:
            if not processed:
                process_boxes(check_boxes(boxes), img.shape[1], img.shape[0], cfg.input_shape)
            check_root_depths(root_depths, len(boxes))
    pipeline = build_pipeline(args, cfg, source, root_depths, root_prior)
    meta = {'camera_source': 'given' if args.princpt is not None or args.focal is not None
            else 'default: focal 1500 px, principal point at the image centre',
            'bbox_source': source.describe(),
            'models': {'posenet': osp.abspath(posenet_path(args)),
                       'posenet_epoch': pipeline.posenet.epoch,
                       'rootnet': None if pipeline.rootnet is None else osp.abspath(args.rootnet),
                       'detector': None if pipeline.detector is None else args.detector,
                       'flip_test': bool(args.flip_test), 'backend': pipeline.posenet.backend,
                       'input_shape': list(pipeline.posenet.input_shape)},
            'root_prior': {'formula': 'k = sqrt(fx * fy * A_real / A_img)',
                           'A_real_mm2': 2000.0 * 2000.0, 'A_img': 'processed box area, px^2'}}
    print(f"models: PoseNet {meta['models']['posenet']}"
          + (f", RootNet {meta['models']['rootnet']}" if pipeline.rootnet else '')
          + (f", detector {args.detector}" if pipeline.detector else '') + f' on {cfg.device}'
          + f' ({pipeline.posenet.backend})')
    if kind == 'image':
        return run_photo(pipeline, img, args, source, root_depths, root_prior, meta)
    if kind == 'folder':
        return run_folder(pipeline, args, source, root_prior, meta)
    return run_video(pipeline, args, source, root_prior, meta)


def run_photo(pipeline, img, args, source, root_depths, root_prior, meta):
    result, image_id = run_one(pipeline, img, args.input, args, source, root_depths, root_prior)
    record = result_to_json(result, args.input, img.shape, meta, image_id)
    files = output_names(args.out)
    vis_img = write_outputs(files, img, result, record)
    print('\n'.join(summary_lines(result, args.input)))
    print(f"camera: focal {result['focal'].tolist()} px, principal point "
          f"{result['princpt'].tolist()} px ({meta['camera_source']})")
    for path in files.values():
        print(f'wrote {path}')
    if args.show:
        show_image(vis_img, title=osp.basename(files['pose_2d']))
        draw_3d(result, show=True)
    record['files'] = files
    return record


def progress(total, args, unit):
    from tqdm import tqdm
    return tqdm(total=total, unit=unit, disable=True if args.no_progress else None,
                file=sys.stderr)


def run_folder(pipeline, args, source, root_prior, meta):
    paths = folder_images(args.input)
    records, skipped, files = [], [], {}
    bar = progress(len(paths), args, 'image')
    for path in paths:
        bar.update(1)
        try:
            img = load_image(path)
        except PoseNetError:
            bar.write(f'warning: cannot decode {path}; skipped', file=sys.stderr)
            skipped.append(path)
            continue
        result, image_id = run_one(pipeline, img, path, args, source, None, root_prior)
        record = result_to_json(result, path, img.shape, meta, image_id)
        names = output_names(args.out, osp.splitext(osp.basename(path))[0])
        write_outputs(names, img, result, record)
        records.append(record)
        files[path] = names
    bar.close()
    print(f'{len(records)} image(s) of {args.input} done, {len(skipped)} skipped; outputs in '
          f'{args.out}')
    return {'records': records, 'files': files, 'skipped': skipped}


def run_video(pipeline, args, source, root_prior, meta, capture=None):
    count, fps, frames = video_frames(args.input, capture)
    stem = osp.splitext(osp.basename(args.input))[0]
    files = {'video': osp.join(args.out, f'{stem}_pose.mp4'),
             'jsonl': osp.join(args.out, f'{stem}_pose.jsonl'),
             'pose_3d_dir': osp.join(args.out, f'{stem}_pose_3d')}
    os.makedirs(files['pose_3d_dir'], exist_ok=True)
    records, skipped, lines = [], [], []
    bar = progress(count, args, 'frame')
    # the video is written under a temporary name with its extension (OpenCV picks the container
    # from it) and renamed when complete
    tmp_video = osp.join(args.out, f'.{stem}_pose.partial.mp4')
    try:
        writer = None
        for index, frame in frames:
            bar.update(1)
            if frame is None:
                bar.write(f'warning: frame {index} of {args.input} cannot be decoded; skipped',
                          file=sys.stderr)
                skipped.append(index)
                continue
            result, image_id = run_one(pipeline, frame, args.input, args, source, None,
                                       root_prior)
            record = result_to_json(result, args.input, frame.shape, meta, image_id, frame=index)
            lines.append(json.dumps(record) + '\n')
            records.append(record)
            drawn = draw_2d(frame, result)
            if writer is None:
                writer = cv2.VideoWriter(tmp_video, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                                         (frame.shape[1], frame.shape[0]))
                if not writer.isOpened():
                    raise PoseNetError(f"cannot write the video {files['video']} (no mp4v "
                                       "encoder in this OpenCV)")
            writer.write(drawn)
            draw_3d(result, osp.join(files['pose_3d_dir'], f'frame_{index:06d}.png'))
        bar.close()
        if writer is None:
            raise PoseNetError(f"no frame of {args.input} could be decoded")
        writer.release()
        os.replace(tmp_video, files['video'])
    finally:
        if osp.exists(tmp_video):
            os.remove(tmp_video)
    write_text(files['jsonl'], ''.join(lines))
    print(f"{len(records)} frame(s) of {args.input} done, {len(skipped)} skipped"
          + (f" (frames {', '.join(map(str, skipped[:10]))})" if skipped else '')
          + f"; wrote {files['video']} and {files['jsonl']}")
    return {'records': records, 'files': files, 'skipped': skipped}


if __name__ == '__main__':
    run_cli(main)
