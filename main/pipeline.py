"""From a photo to everyone's absolute 3D pose: detector -> RootNet -> PoseNet (docs/SPEC.md §14).

    from main.pipeline import Pipeline
    pipeline = Pipeline.from_files(cfg, posenet='snapshot_24.pth.tar',
                                   rootnet='snapshot_18.pth.tar',
                                   detector='fasterrcnn_resnet50_fpn_v2')
    pipeline = Pipeline.from_files(cfg, 'posenet', 'rootnet', 'detector')   # fetched models
    result = pipeline(cv2.imread('photo.jpg'))            # camera: focal 1500 px, image centre
    for person in result['people']:
        person['bbox'], person['score'], person['root_cam'], person['pose_2d'], person['pose_3d']

Each stage can be replaced by what the caller knows: boxes (`bbox`, e.g. from a file) skip the
detector, root depths (`root_depth`) skip RootNet, and `root_prior=True` uses the paper's
camera-distance prior `k = sqrt(fx * fy * A_real / A_img)` instead of RootNet. All people of an
image go through each network in one batch.
"""
import math
import numbers
import warnings

import numpy as np

from common.utils.crop import as_bgr_image
from common.utils.errors import PoseNetError, PoseNetWarning
from common.utils.pose_utils import k_value, process_bbox

DEFAULT_FOCAL = (1500.0, 1500.0)    # px, the original's normalised focal length
ROOT_GIVEN = 'given'                # root depth given by the caller
ROOT_ROOTNET = 'rootnet'            # RootNet (the network, or a RootNet bbox_root file)
ROOT_PRIOR = 'prior'                # camera-distance prior k


def default_camera(img_width, img_height, focal=None, princpt=None):
    """Camera intrinsics `(focal (2,), princpt (2,))` px, float64.

    Defaults: focal `(1500, 1500)`, principal point at the image centre `(W/2, H/2)` (the
    original demo's normalised camera). A non-positive or non-finite value is an error.
    """
    focal = _pair(DEFAULT_FOCAL if focal is None else focal, 'focal')
    if princpt is None:
        princpt = (img_width / 2.0, img_height / 2.0)
    princpt = _pair(princpt, 'princpt')
    if not np.all(np.isfinite(focal)) or np.any(focal <= 0):
        raise PoseNetError(f"--focal {focal[0]:g} {focal[1]:g}: focal lengths must be positive "
                           "pixels (default 1500 1500)")
    if not np.all(np.isfinite(princpt)):
        raise PoseNetError("--princpt: the principal point must be two finite pixel values")
    return focal, princpt


def _pair(value, what):
    """`value` (one number for both axes, or two) as float64 `(2,)`; else a PoseNetError."""
    try:
        pair = np.asarray(value, dtype=np.float64)
        return np.repeat(pair, 2) if pair.ndim == 0 else pair.reshape(2)
    except (TypeError, ValueError):
        raise PoseNetError(f"{what} {value!r}: expected one number or two (x, y) in "
                           "pixels") from None


def _format_box(box):
    return '[' + ', '.join(f'{v:g}' for v in box) + ']'


def check_boxes(bbox, what='box'):
    """Boxes `[x, y, w, h]` as float64 `(N, 4)`; malformed or non-finite ones, and boxes with a
    width or height <= 0 (e.g. x2, y2 given as w, h below x, y), are an error."""
    try:
        boxes = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)
    except (TypeError, ValueError):
        raise PoseNetError(f"{what}: {bbox!r} is not a list of [x, y, w, h] boxes (four numbers "
                           "each, px)") from None
    for n, box in enumerate(boxes):
        if not np.all(np.isfinite(box)):
            raise PoseNetError(f"{what} {n + 1} {box.tolist()} is not finite")
        if box[2] <= 0 or box[3] <= 0:
            raise PoseNetError(f"{what} {n + 1} {_format_box(box)} has a width or height <= 0; "
                               "boxes are x y width height in pixels (not x1 y1 x2 y2)")
    return boxes


def warn_outside(boxes, img_width, img_height):
    """One PoseNetWarning line for the boxes `(N, 4)` that run past the image edge (the part
    outside is not used; often x2, y2 given instead of width, height)."""
    outside = [n for n, (x, y, w, h) in enumerate(boxes)
               if x < 0 or y < 0 or x + w > img_width or y + h > img_height]
    if outside:
        listed = ', '.join(f'{n + 1} {_format_box(boxes[n])}' for n in outside)
        warnings.warn(f"box(es) {listed} (x y width height) run past the image "
                      f"{img_width}x{img_height}; only the part inside is used (width and "
                      "height, not x2 y2?)", PoseNetWarning, stacklevel=3)


def process_boxes(boxes, img_width, img_height, input_shape):
    """`process_bbox` of every box `(N, 4)`; a box with nothing inside the image is an error."""
    out = []
    for n, box in enumerate(boxes):
        processed = process_bbox(box, img_width, img_height, input_shape)
        if processed is None:
            raise PoseNetError(f"box {n + 1} [{', '.join(f'{v:g}' for v in box)}] (x y w h) lies "
                               f"outside the image {img_width}x{img_height} or is empty; boxes "
                               "are x y w h in pixels of the input image")
        out.append(processed)
    return np.asarray(out, dtype=np.float64).reshape(-1, 4)


def camera_distance_prior(bbox_processed, focal):
    """The paper's camera-distance prior `k = sqrt(fx * fy * A_real / A_img)` mm per box, with
    `A_real = 2000 mm x 2000 mm` and `A_img` the processed box area px^2 (RootNet's `k`)."""
    return k_value(bbox_processed, focal)


def check_root_depths(root_depth, num_boxes):
    """Root depths checked against the boxes: one per box (None = not known), positive mm."""
    if root_depth is None:
        return [None] * num_boxes
    if isinstance(root_depth, numbers.Number) or np.ndim(root_depth) == 0:
        root_depth = [root_depth]           # one number: the depth of the only box
    root_depth = list(root_depth)
    if len(root_depth) != num_boxes:
        raise PoseNetError(f"{len(root_depth)} root depth(s) for {num_boxes} box(es): give one "
                           "--root_depth value per box, in box order ('prior' or 'rootnet' for a "
                           "person without one), or none at all")
    for n, depth in enumerate(root_depth):
        if depth is None:
            continue
        if isinstance(depth, bool) or not isinstance(depth, numbers.Real):
            raise PoseNetError(f"root depth {depth!r} of person {n + 1} must be a number (mm) "
                               "or None")
        if not (math.isfinite(depth) and depth > 0):
            raise PoseNetError(f"root depth {depth:g} of person {n + 1} must be a positive "
                               "distance from the camera in mm")
    return [None if d is None else float(d) for d in root_depth]


class Pipeline:
    """Detector -> RootNet -> PoseNet on one BGR image at a time.

    `posenet`: a `main.predictor.PoseNetPredictor` (with `joints_name`, `skeleton`); `rootnet`:
    a `RootNetPredictor` or None; `detector`: a callable `img -> (boxes (N, 4) [x, y, w, h] px,
    scores (N,))` (e.g. `common.nets.detector.PersonDetector`) or None.
    """

    def __init__(self, posenet, rootnet=None, detector=None):
        self.posenet = posenet
        self.rootnet = rootnet
        self.detector = detector
        self.joints_name = tuple(posenet.joints_name)
        self.skeleton = tuple(posenet.skeleton)
        if 'Pelvis' not in self.joints_name:
            raise PoseNetError("the PoseNet joint set has no 'Pelvis' (the root joint)")
        self.root_idx = self.joints_name.index('Pelvis')

    @classmethod
    def from_files(cls, cfg, posenet, rootnet=None, detector=None, score_thresh=0.5,
                   flip_test=False, default_joints=None, backend='auto', model_dir=None):
        """Build the pipeline from model files.

        `posenet`, `rootnet`: snapshot paths (RootNet None: no RootNet); `detector`: None, a
        name of `common.nets.detector.DETECTORS`, or a path to a weights file of the default
        detector. The default names 'posenet', 'rootnet' and 'detector' (`main.model_store`)
        mean the official models, fetched into `model_dir` (default `$POSENET_MODEL_DIR`, else
        `~/.cache/posenet-3dmppe`) when missing. `cfg`: settings of snapshots that do not carry
        their own (not changed: each predictor takes its file's settings into a new config); `default_joints`: joint set of a PoseNet snapshot
        without settings (default MuCo's 21 joints, the original demo's model). Runs on
        `cfg.device`. `backend` ('auto', 'torch', 'onnx', 'onnx-int8'; see `main.predictor`):
        'auto' runs both networks with ONNX Runtime on the CPU (exported once, cached next to
        each snapshot) and PyTorch on a GPU; the detector follows it ('onnx-int8': the float
        ONNX detector).
        """
        from data.MuCo.MuCo import MuCo
        from main.model_store import MODELS, resolve_model
        from main.predictor import PoseNetPredictor, RootNetPredictor
        if detector is not None and detector not in MODELS:
            # a wrong name is reported before any model loads or is fetched
            from common.nets.detector import resolve_detector
            resolve_detector(detector)
        posenet = resolve_model(posenet, model_dir)
        rootnet = None if rootnet is None else resolve_model(rootnet, model_dir)
        detector = None if detector is None else resolve_model(detector, model_dir)
        pose = PoseNetPredictor.from_snapshot(posenet, cfg,
                                              default_joints or MuCo, flip_test, cfg.device,
                                              backend)
        root = None if rootnet is None else RootNetPredictor.from_snapshot(
            rootnet, cfg, cfg.device, backend)
        det = None
        if detector is not None:
            from common.nets.detector import PersonDetector, resolve_detector
            name, weights_path = resolve_detector(detector)
            det_backend = 'auto' if backend == 'auto' else 'torch' if backend == 'torch' \
                else 'onnx'     # int8 stays with the pose networks (docs/SPEC.md §17)
            det = PersonDetector(name, weights_path=weights_path, score_thresh=score_thresh,
                                 device=cfg.device, backend=det_backend)
        return cls(pose, root, det)

    def detect(self, img):
        """Person boxes `(N, 4)` px and scores `(N,)` from the detector."""
        if self.detector is None:
            raise PoseNetError("no person boxes and no detector: give boxes (--bbox, "
                               "--detections, --bbox_root) or a detector (--detector)")
        boxes, scores = self.detector(img)
        return check_boxes(boxes, 'detected box'), np.asarray(scores, dtype=np.float64)

    def __call__(self, img, focal=None, princpt=None, bbox=None, score=None, root_depth=None,
                 root_prior=False, bbox_processed=False, root_source=ROOT_GIVEN):
        """Everyone's absolute 3D pose in one BGR uint8 image `(H, W, 3)`.

        `focal`, `princpt`: camera px (default focal 1500, image centre); `bbox (N, 4)`
        `[x, y, w, h]` px (None: the detector's); `score (N,)` of given boxes (None: 1.0);
        `root_depth`: N absolute root depths mm, None entries (or None for all) are estimated
        by RootNet, or by the camera-distance prior with `root_prior=True`; `bbox_processed`:
        the boxes are processed already (RootNet bbox_root files), used as they are;
        `root_source`: the label of given root depths.

        Returns `{'focal', 'princpt', 'joints_name', 'skeleton', 'people': [...]}`, one dict
        per person in box order: `bbox (4,)`, `bbox_processed (4,)` px, `score`, `root_cam (3,)`
        mm, `root_source` ('given'/'rootnet'/'prior'), `pose_2d (J, 2)` px, `pose_3d (J, 3)`
        camera mm.
        """
        img = as_bgr_image(img)
        img_height, img_width = img.shape[:2]
        focal, princpt = default_camera(img_width, img_height, focal, princpt)
        if bbox is None:
            boxes, scores = self.detect(img)
        else:
            boxes = check_boxes(bbox)
            scores = np.ones(len(boxes)) if score is None else np.asarray(score, np.float64)
            if not bbox_processed:
                warn_outside(boxes, img_width, img_height)
        depths = check_root_depths(root_depth, len(boxes))
        out = {'focal': focal, 'princpt': princpt, 'joints_name': self.joints_name,
               'skeleton': self.skeleton, 'people': []}
        if len(boxes) == 0:
            return out

        pose_boxes = boxes if bbox_processed else process_boxes(
            boxes, img_width, img_height, self.posenet.input_shape)
        root_cam = np.full((len(boxes), 3), np.nan)
        sources = [None if d is None else root_source for d in depths]
        unknown = [n for n, d in enumerate(depths) if d is None]
        if unknown and not root_prior:
            if self.rootnet is None:
                raise PoseNetError("no root depth and no RootNet: give a RootNet snapshot "
                                   "(--rootnet), root depths (--root_depth), or use the "
                                   "camera-distance prior (--root_prior)")
            root_boxes = pose_boxes[unknown] if bbox_processed else process_boxes(
                boxes[unknown], img_width, img_height, self.rootnet.input_shape)
            root_cam[unknown] = self.rootnet(img, root_boxes, focal, princpt)
            for n in unknown:
                sources[n] = ROOT_ROOTNET
        elif unknown:
            root_cam[unknown, 2] = camera_distance_prior(pose_boxes[unknown], focal)
            for n in unknown:
                sources[n] = ROOT_PRIOR
        for n, d in enumerate(depths):
            if d is not None:
                root_cam[n, 2] = d

        pose = self.posenet(img, pose_boxes, root_cam[:, 2], focal, princpt)
        for n in range(len(boxes)):
            if sources[n] != ROOT_ROOTNET or np.isnan(root_cam[n, 0]):
                # the root's X, Y: where PoseNet puts the root joint at that depth
                root_cam[n, :2] = pose['pose_3d'][n, self.root_idx, :2]
            out['people'].append({
                'bbox': boxes[n], 'bbox_processed': pose_boxes[n], 'score': float(scores[n]),
                'root_cam': root_cam[n], 'root_source': sources[n],
                'pose_2d': pose['pose_2d'][n], 'pose_3d': pose['pose_3d'][n]})
        return out
