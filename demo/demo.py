"""Demo: everyone's absolute 3D pose in a photo, photos or a video (docs/SPEC.md §9, §14).

    python demo/demo.py --input photo.jpg     # detector -> RootNet -> PoseNet, models fetched
    python demo/demo.py --input photo.jpg --test_epoch 24      # PoseNet demo/snapshot_24.pth.tar
    python demo/demo.py --input photo.jpg --snapshot output/model_dump/snapshot_24.pth.tar \\
        --bbox 139.4 102.3 222.4 241.6 --bbox 287.2 61.5 74.9 181.4    # given boxes: no detector
    python demo/demo.py --input photo.jpg --test_epoch 24 --bbox 139 102 222 241 \\
        --root_depth 11250.6                                  # given root depth: no RootNet
    python demo/demo.py --input 000000000139.jpg --test_epoch 24 \\
        --bbox_root bbox_root_coco_output.json                # boxes and roots from a RootNet file
    python demo/demo.py --input clips/walk.mp4 --test_epoch 24 --out out/   # a video
    python demo/demo.py --input clips/walk.mp4 --test_epoch 24 --out out/ --detect_every 10 \\
        --smooth median                           # tracked, detector every 10th frame, smoothed
    python demo/demo.py --input photos/ --test_epoch 24 --root_prior        # a folder, no RootNet

Models (each is loaded only when it is needed; the official ones are fetched on first use
into the model folder `--model_dir`, default `$POSENET_MODEL_DIR` or `~/.cache/posenet-3dmppe`,
see docs/models.md; offline, one error line says which file to put where):
* PoseNet: `--snapshot PATH`, or `--test_epoch N` for `demo/snapshot_N.pth.tar`, default the
  official MuCo 21-joint snapshot; snapshots written by this project carry their own settings.
* RootNet (people without `--root_depth`): `--rootnet PATH`, default
  `demo/rootnet_snapshot_18.pth.tar` when there, else the official RootNet `snapshot_18.pth.tar`.
  `--root_prior` uses the paper's camera-distance prior instead (a rough guess).
* Detector (no `--bbox`, `--detections` or `--bbox_root`): `--detector NAME|PATH`, default
  torchvision's COCO Faster R-CNN ResNet-50 FPN v2 (read from the model folder when
  tool/fetch_models.py put it there, else torchvision's download into
  `$TORCH_HOME/hub/checkpoints/`; offline, put the file there or pass its path).

The camera is `--focal`/`--princpt` px, default the original's normalised camera (focal 1500,
principal point at the image centre); the outputs state which was used.

Outputs in `--out` (default: this script's folder, as the original), written atomically:
* one photo: `output_pose_2d.jpg` (skeletons on the photo), `output_pose_3d.png` (everyone in
  camera space, mm, up is up, people numbered), `output_pose.json` (boxes, roots and their
  source, 2D and 3D joints, joint names, camera, models) and `output_pose_3d.html` (the same
  people in an interactive 3D page; `--no_html` leaves it out; plotly.js is written once
  beside the pages as `plotly-<version>.min.js`);
* a folder: the same files per image, named `<image stem>_pose_2d.jpg`, ...;
* a video, webcam (`--input 0`) or stream URL: `<stem>_pose.mp4` (each tracked person drawn
  in their colour with their id), `<stem>_pose.jsonl` (one JSON record per frame with every
  person's `track_id`), `<stem>_pose_3d/frame_<n>.png` (a 3D view per frame, one set of axis
  limits for the whole video), `<stem>_tracks.npz` (per-track arrays) and
  `<stem>_pose_3d.html` (frame slider and play button); written into `.<stem>_pose.partial/`
  and moved into place when complete, so Ctrl-C never mixes old and new frames and `--resume`
  continues.
A frame or image that cannot be decoded is reported and skipped; the summary counts them.
Reading, tracking, smoothing and writing are the library's (`main/inputs.py`, `main/video.py`,
`main/outputs.py`; docs/video.md), so Python users get the same as this command line.
"""
import argparse
import contextlib
import os.path as osp
import sys

import cv2  # noqa: F401  (tests replace cv2.VideoCapture through this module)
import numpy as np

from common.utils.cli import add_common_args, run_cli
from common.utils.errors import PoseNetError
from common.utils.vis import show_image, vis_3d_multiple_skeleton
from data.detections import read_bbox_root, read_detections, select_image
from main import model_store
from main.inputs import input_kind as source_kind, open_input, output_stems, prefetch
from main.outputs import (TITLE_3D, Records, VideoWriters, output_folder, output_names,
                          people_poses, result_to_json, write_outputs)
from main.pipeline import (ROOT_GIVEN, ROOT_PRIOR, ROOT_ROOTNET, Pipeline, check_boxes,
                           check_root_depths, process_boxes)
from main.smoothing import SMOOTHERS, Smoother
from main.video import FrameBoxes, check_smoothing, estimate

DEMO_DIR = osp.dirname(osp.abspath(__file__))
DEFAULT_INPUT = osp.join(DEMO_DIR, 'input.jpg')
DEFAULT_ROOTNET = osp.join(DEMO_DIR, 'rootnet_snapshot_18.pth.tar')
DEFAULT_SCORE_THRESH = 0.5
ROOTNET_HELP = ("the official RootNet snapshot_18.pth.tar (github.com/mks0601/"
                "3DMPPE_ROOTNET_RELEASE, 'MuCo-3DHP' model) saved as "
                f"{DEFAULT_ROOTNET}, or a RootNet trained here (main/train.py --cfg "
                "network=RootNet)")


# -- inputs ---------------------------------------------------------------------------------------
def input_kind(path):
    """'image', 'folder', 'video' or 'stream' for `--input`; a missing path is an error."""
    if osp.abspath(path) == DEFAULT_INPUT and not osp.isfile(path):
        raise PoseNetError(f"input not found: {path} (no photo ships with the project: pass "
                           "--input PATH; README 'Run on your own photo or video' runs it on "
                           "matplotlib's sample photo)")
    return source_kind(path)


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

    def frame_boxes(self):
        """The boxes of a video's frames (`main.video.FrameBoxes`; None: the detector); in a
        file, `image_id` is the 0-based frame index."""
        if self.records is not None:
            return FrameBoxes(records=self.records, roots=self.args.bbox_root is not None)
        return FrameBoxes(fixed=self.args.bbox) if self.args.bbox else None

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


# -- command line ---------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='3DMPPE demo: absolute 3D poses of everyone in a photo, a folder of photos '
                    'or a video (detector -> RootNet -> PoseNet).',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:15]))
    add_common_args(parser)
    model = parser.add_mutually_exclusive_group()
    model.add_argument('--test_epoch', type=int, default=None,
                       help='PoseNet demo/snapshot_<epoch>.pth.tar (as the original)')
    model.add_argument('--snapshot', type=str, default=None,
                       help='PoseNet snapshot file (default: the official MuCo snapshot, '
                            'fetched into the model folder on first use)')
    parser.add_argument('--rootnet', type=str, default=None,
                        help='RootNet snapshot for people without --root_depth (default '
                             'demo/rootnet_snapshot_18.pth.tar when there, else the official '
                             'one, fetched into the model folder on first use)')
    parser.add_argument('--model_dir', type=str, default=None, metavar='DIR',
                        help='folder of the fetched models (default $POSENET_MODEL_DIR, else '
                             '~/.cache/posenet-3dmppe; docs/models.md)')
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
    parser.add_argument('--html', dest='html', action='store_true', default=True,
                        help='also write an interactive 3D page per photo or video (default)')
    parser.add_argument('--no_html', dest='html', action='store_false',
                        help='no interactive 3D page')
    video = parser.add_argument_group('videos, webcams and streams')
    video.add_argument('--detect_every', type=int, default=1, metavar='N',
                       help='run the detector (or take the file\'s boxes) every N frames; in '
                            'between, boxes follow the tracked 2D poses (default 1: every frame)')
    video.add_argument('--smooth', choices=SMOOTHERS, default='none',
                       help='temporal smoothing of each track: none (default, per-frame numbers),'
                            ' median, savgol (need future frames) or oneeuro (causal: streams)')
    video.add_argument('--smooth_window', type=int, default=9, metavar='FRAMES',
                       help='window of --smooth median/savgol in frames (odd, default 9)')
    video.add_argument('--max_gap', type=int, default=10, metavar='FRAMES',
                       help='frames a person may be missed before their track is closed '
                            '(default 10; a later return gets a new id)')
    video.add_argument('--resume', action='store_true',
                       help='continue an interrupted run of this video (same arguments) after '
                            'its last complete frame')
    video.add_argument('--no_views_3d', action='store_true',
                       help='no 3D view per frame (<stem>_pose_3d/; the slowest writer)')
    parser.add_argument('--show', action='store_true',
                        help='open interactive windows with the results of a photo')
    parser.add_argument('--no_progress', action='store_true', help='no progress bar')
    return parser.parse_args(argv)


def posenet_path(args):
    """PoseNet snapshot from `--snapshot`, else `demo/snapshot_<test_epoch>.pth.tar`, else the
    official MuCo snapshot in the model folder (fetched when missing)."""
    path = args.snapshot
    if path is None:
        if args.test_epoch is None:
            return model_store.fetch_model('posenet', args.model_dir,
                                           progress=not args.no_progress)
        path = osp.join(DEMO_DIR, f'snapshot_{args.test_epoch}.pth.tar')
    if not osp.isfile(path):
        raise PoseNetError(
            f"PoseNet snapshot not found: {path}. The demo needs a MuCo-trained (21-joint) PoseNet"
            " snapshot: put the official pretrained MuCo snapshot there (snapshot_24.pth.tar, see "
            "docs/models.md; without --snapshot and --test_epoch the demo fetches it), or pass "
            "--snapshot output/model_dump/snapshot_<epoch>.pth.tar of a model you trained with "
            "trainset_3d=['MuCo']")
    return path


def rootnet_path(args):
    """RootNet snapshot from `--rootnet`, else `demo/rootnet_snapshot_18.pth.tar` when there,
    else the official one in the model folder (fetched when missing)."""
    if args.rootnet is not None:
        if not osp.isfile(args.rootnet):
            raise PoseNetError(f"RootNet snapshot not found: {args.rootnet}. People without "
                               f"--root_depth need RootNet: {ROOTNET_HELP}; or pass --rootnet "
                               "PATH, --root_depth, or --root_prior")
        return args.rootnet
    if osp.isfile(DEFAULT_ROOTNET):
        return DEFAULT_ROOTNET
    try:
        return model_store.fetch_model('rootnet', args.model_dir, progress=not args.no_progress)
    except PoseNetError as e:
        raise PoseNetError(f"{e}; or, without RootNet, pass --root_depth or --root_prior") \
            from None


def detector_weights(args):
    """The default detector's weights file when it is in the model folder (put there by
    tool/fetch_models.py), else the `--detector` value (torchvision's weights API)."""
    from common.nets.detector import DEFAULT_DETECTOR
    if args.detector == DEFAULT_DETECTOR:
        fetched = model_store.model_path('detector', args.model_dir)
        if osp.isfile(fetched):
            return fetched
    return args.detector


def check_video_args(args, kind):
    """Video options checked before anything loads."""
    if args.detect_every < 1:
        raise PoseNetError(f"--detect_every {args.detect_every}: give a whole number of frames "
                           ">= 1 (1 runs the detector on every frame)")
    if args.max_gap < 0:
        raise PoseNetError(f"--max_gap {args.max_gap}: give a number of frames >= 0")
    video = kind in ('video', 'stream')
    if not video and (args.detect_every != 1 or args.smooth != 'none' or args.resume):
        raise PoseNetError("--detect_every, --smooth and --resume apply to a video, webcam or "
                           "stream; photos are estimated one by one")
    if args.bbox_root is not None and args.detect_every > 1:
        raise PoseNetError("--detect_every with --bbox_root: the file's root depths exist only "
                           "for its own boxes; use --detections (and RootNet) instead")
    if video:
        Smoother(args.smooth, window=args.smooth_window)     # its own checks of the settings
        check_smoothing(args.smooth, args.smooth_window, kind, None)


def find_models(args, root_depths, root_prior):
    """Find (or fetch) the model files this run needs, before anything loads: sets
    `args.snapshot` and `args.rootnet` (None: RootNet not needed) to the files used."""
    args.snapshot = posenet_path(args)
    needs_rootnet = not root_prior and args.bbox_root is None and (
        root_depths is None or any(d is None for d in root_depths))
    args.rootnet = rootnet_path(args) if needs_rootnet else None


def build_pipeline(args, cfg, source):
    """The pipeline with the model files of `find_models`."""
    return Pipeline.from_files(cfg, args.snapshot, args.rootnet,
                               detector_weights(args) if source.uses_detector else None,
                               args.score_thresh, args.flip_test, backend=args.backend,
                               model_dir=args.model_dir)


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
    `{'records': [...], 'files': {...}, 'skipped': [...]}` (a video's records are read from its
    `.jsonl` when iterated)."""
    from main.config import Config

    args = parse_args(argv)
    cfg = Config.from_args(args)
    kind = input_kind(args.input)
    check_video_args(args, kind)
    root_depths, prior_token = (parse_root_depths(args.root_depth) if args.root_depth
                                is not None else (None, False))
    root_prior = args.root_prior or prior_token
    if args.bbox_root is not None and root_depths is not None:
        raise PoseNetError("--root_depth cannot be combined with --bbox_root (the file gives the "
                           "root depths)")
    if root_depths is not None and kind != 'image':
        raise PoseNetError("--root_depth gives the depths of the boxes of one photo; for a "
                           "folder or video leave it out (RootNet or --root_prior)")
    # the folder (and parents) this run makes are removed again if it fails before writing
    with output_folder(args.out) as args.out:
        source = BoxSource(args)
        inp = open_input(args.input, out_dir=args.out)      # a folder leaves out its own outputs
        img = inp.image if kind == 'image' else None
        if img is not None:        # box and root checks on the photo before the (slower) model load
            _, boxes, _, _, processed = source.boxes(args.input)
            if boxes is not None:
                if not processed:
                    process_boxes(check_boxes(boxes), img.shape[1], img.shape[0], cfg.input_shape)
                check_root_depths(root_depths, len(boxes))
        writers = None
        if kind in ('video', 'stream'):
            check_smoothing(args.smooth, args.smooth_window, kind, inp.count)
        find_models(args, root_depths, root_prior)       # the settings of --resume name the files
        if kind in ('video', 'stream'):
            writers = VideoWriters(args.out, None, video_settings(args, inp, cfg),
                                   views_3d=not args.no_views_3d, raw=args.smooth != 'none',
                                   html=args.html)
            writers.start(inp, args.resume)      # a mismatching --resume is refused here
        try:
            pipeline = build_pipeline(args, cfg, source)
        except BaseException:
            if writers is not None:
                writers.interrupted(None)
            raise
        meta = {'camera_source': 'given' if args.princpt is not None or args.focal is not None
                else 'default: focal 1500 px, principal point at the image centre',
                'bbox_source': source.describe(),
                'models': {'posenet': osp.abspath(args.snapshot),
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
            return run_folder(pipeline, inp, args, source, root_prior, meta)
        writers.meta = meta
        return run_video(pipeline, inp, args, source, root_prior, writers)


def video_settings(args, inp, cfg):
    """What a video's results depend on, compared by --resume (plain JSON types)."""
    def file_id(path):
        return None if path is None else [osp.abspath(path), osp.getsize(path),
                                          int(osp.getmtime(path))]
    return {'input': osp.abspath(args.input) if inp.kind == 'video' else str(args.input),
            'frames': inp.count, 'fps': inp.fps,
            'posenet': file_id(args.snapshot),
            'rootnet': None if args.rootnet is None else osp.abspath(args.rootnet),
            'detector': args.detector,
            'bbox': args.bbox, 'detections': file_id(args.detections),
            'bbox_root': file_id(args.bbox_root), 'score_thresh': args.score_thresh,
            'category_id': args.category_id, 'root_prior': bool(args.root_prior),
            'focal': args.focal, 'princpt': args.princpt, 'flip_test': bool(args.flip_test),
            'backend': args.backend, 'cfg': list(args.cfg), 'detect_every': args.detect_every,
            'smooth': args.smooth, 'smooth_window': args.smooth_window,
            'max_gap': args.max_gap, 'views_3d': not args.no_views_3d}


def run_photo(pipeline, img, args, source, root_depths, root_prior, meta):
    result, image_id = run_one(pipeline, img, args.input, args, source, root_depths, root_prior)
    record = result_to_json(result, args.input, img.shape, meta, image_id)
    files = output_names(args.out, html=args.html)
    title = osp.basename(args.input)
    vis_img = write_outputs(files, img, result, record, title)
    print('\n'.join(summary_lines(result, args.input)))
    print(f"camera: focal {result['focal'].tolist()} px, principal point "
          f"{result['princpt'].tolist()} px ({meta['camera_source']})")
    for path in files.values():
        print(f'wrote {path}')
    if args.show:
        show_image(vis_img, title=osp.basename(files['pose_2d']))
        poses, labels = people_poses(result)
        vis_3d_multiple_skeleton(poses, None, result['skeleton'],
                                 title=TITLE_3D.format(name=title), labels=labels, show=True)
    record['files'] = files
    return record


def progress(total, args, unit):
    from tqdm import tqdm
    return tqdm(total=total, unit=unit, disable=True if args.no_progress else None,
                file=sys.stderr)


def run_folder(pipeline, inp, args, source, root_prior, meta):
    """Each photo of the folder; the next ones are read and decoded by a background thread
    while the networks run on the current one."""
    stems = output_stems(inp.paths)
    records, skipped, files = [], [], {}
    bar = progress(inp.count, args, 'image')
    with contextlib.closing(prefetch(inp.frames())) as frames:
        for frame in frames:
            bar.update(1)
            path, img = frame.path, frame.image
            if img is None:
                bar.write(f'warning: cannot decode {path}; skipped', file=sys.stderr)
                skipped.append(path)
                continue
            result, image_id = run_one(pipeline, img, path, args, source, None, root_prior)
            record = result_to_json(result, path, img.shape, meta, image_id)
            names = output_names(args.out, stems[path], html=args.html)
            write_outputs(names, img, result, record, osp.basename(path))
            records.append(record)
            files[path] = names
    bar.close()
    if not records:
        raise PoseNetError(f"no image of {args.input} could be decoded ({len(skipped)} "
                           "skipped); nothing written")
    print(f'{len(records)} image(s) of {args.input} done, {len(skipped)} skipped; outputs in '
          f'{args.out}')
    return {'records': records, 'files': files, 'skipped': skipped}


def run_video(pipeline, inp, args, source, root_prior, writers):
    """Every frame of a video or stream through `main.video.estimate`, written by `writers`;
    Ctrl-C keeps a video resumable (--resume) and ends a stream with its outputs complete."""
    bar = progress(inp.count, args, 'frame')
    skipped = []

    def on_skip(index):
        bar.write(f'warning: frame {index} of {args.input} cannot be decoded; skipped',
                  file=sys.stderr)
        skipped.append(index)

    results = estimate(inp, pipeline, source.frame_boxes(), args.focal, args.princpt,
                       root_prior, args.detect_every, args.smooth, args.smooth_window,
                       args.max_gap, writers=writers, resume=args.resume, on_skip=on_skip)
    done = 0
    try:
        with contextlib.closing(results):
            for _ in results:
                done += 1
                bar.update(1)
    except KeyboardInterrupt:
        if inp.kind != 'stream':
            bar.close()
            print(f"stopped after {writers.good['records']} complete frame(s); continue with "
                  "--resume", file=sys.stderr)
            raise
    bar.close()
    left_out = {'pose_3d_dir': args.no_views_3d, 'html': not args.html}
    files = {k: v for k, v in writers.files.items() if not left_out.get(k)}
    print(f"{done} frame(s) of {args.input} done, {len(skipped)} skipped"
          + (f" (frames {', '.join(map(str, skipped[:10]))})" if skipped else '')
          + f"; wrote {files['video']} and {files['jsonl']}")
    return {'records': Records(files['jsonl']), 'files': files, 'skipped': skipped}


if __name__ == '__main__':
    run_cli(main)
