"""Person detector (DetectNet's role in DetectNet -> RootNet -> PoseNet; docs/SPEC.md §14).

`PersonDetector` wraps one of torchvision's COCO-trained detectors (`DETECTORS`; default
Faster R-CNN ResNet-50 FPN v2) and returns person boxes `[x, y, w, h]` px with their scores.
Its weights come through torchvision's weights API: downloaded once into
`$TORCH_HOME/hub/checkpoints/<file>`, or read from a local file (`weights_path`); offline
the error says which file to fetch and where to put it (`common/nets/weights.py`).

Backends (`backend=`): 'torch' (default) runs the torchvision model; 'onnx' runs the same
weights through ONNX Runtime on the CPU (`main.onnx_backend.OnnxDetector`, 1.1-2.2x faster;
boxes within 0.5 px and scores within 1e-3 of PyTorch's, docs/SPEC.md §17), exported once into
`$XDG_CACHE_HOME/posenet-3dmppe/onnx/` (default `~/.cache`) and exported again when the weights
file changes; 'auto': 'onnx' on the CPU when onnxruntime is installed, else 'torch'.
"""
import hashlib
import os.path as osp

import numpy as np
import torch

from common.nets.weights import load_into, load_torchvision_state_dict
from common.utils.errors import PoseNetError

# torchvision builder name -> its COCO weights enum (entry COCO_V1). Each is built without
# weights and the COCO state dict loaded into it, which computes what torchvision's own
# pretrained build does (its frozen batch norms become plain ones in eval mode). Not listed:
# models whose pretrained build also patches the model (v1 Faster R-CNN, RetinaNet: eps 0).
DETECTORS = {
    'fasterrcnn_resnet50_fpn_v2': 'FasterRCNN_ResNet50_FPN_V2_Weights',
    'fasterrcnn_mobilenet_v3_large_fpn': 'FasterRCNN_MobileNet_V3_Large_FPN_Weights',
    'fasterrcnn_mobilenet_v3_large_320_fpn': 'FasterRCNN_MobileNet_V3_Large_320_FPN_Weights',
}
DEFAULT_DETECTOR = 'fasterrcnn_resnet50_fpn_v2'
PERSON_LABEL = 1  # 'person' in torchvision's 91-entry COCO category list


def coco_weights(name):
    """torchvision's `COCO_V1` weights entry of detector `name` (a key of `DETECTORS`)."""
    if name not in DETECTORS:
        raise PoseNetError(f"detector {name!r} is not supported; choose one of "
                           f"{', '.join(sorted(DETECTORS))}")
    import torchvision.models.detection as tvd
    return getattr(tvd, DETECTORS[name]).COCO_V1


def resolve_detector(detector):
    """`(name, weights_path)` for a `--detector` value: a name of `DETECTORS` (weights from
    torchvision's cache) or the path of a weights file of the default detector. Anything else
    is a PoseNetError listing the names."""
    import os.path as osp
    if detector in DETECTORS:
        return detector, None
    if osp.isfile(detector):
        return DEFAULT_DETECTOR, detector
    looks_like_path = osp.sep in detector or osp.splitext(detector)[1] != ''
    what = f"weights file not found: {detector}" if looks_like_path else \
        f"unknown detector {detector!r}"
    raise PoseNetError(f"{what}; choose one of {', '.join(DETECTORS)} (torchvision's COCO "
                       f"models), or give the path of a weights file of {DEFAULT_DETECTOR}")


def image_to_tensor(img_bgr):
    """BGR uint8 image `(H, W, 3)` (OpenCV) -> RGB float tensor `(3, H, W)` in [0, 1]."""
    img = np.asarray(img_bgr)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise PoseNetError(f"the detector needs a BGR uint8 image of shape (H, W, 3) as read by "
                           f"cv2.imread, got {img.dtype} {img.shape}")
    return torch.from_numpy(np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1))).float() / 255.


DETECTOR_BACKENDS = ('torch', 'onnx', 'auto')


def resolve_detector_backend(backend, device):
    """'torch' or 'onnx' for the detector's `backend` option on `device` ('auto': ONNX Runtime
    on the CPU when it is installed)."""
    from main.onnx_backend import onnxruntime_available
    if backend not in DETECTOR_BACKENDS:
        raise PoseNetError(f"detector backend {backend!r} is not an option; choose "
                           f"{', '.join(DETECTOR_BACKENDS)}")
    if backend == 'auto':
        return 'onnx' if torch.device(device).type == 'cpu' and onnxruntime_available() \
            else 'torch'
    return backend


def detector_onnx_path(name, weights_file):
    """Where the ONNX export of detector `name` with weights `weights_file` is cached:
    `$XDG_CACHE_HOME` (default `~/.cache`) `/posenet-3dmppe/onnx/<name>-<hash of the weights
    file's path>.onnx` (never beside torchvision's own downloads)."""
    from main.onnx_backend import user_cache_folder
    digest = hashlib.sha1(osp.abspath(weights_file).encode()).hexdigest()[:12]
    return osp.join(user_cache_folder(), f'{name}-{digest}.onnx')


class PersonDetector:
    """COCO person detector.

    `name`: a key of `DETECTORS`. `weights_path`: a local state-dict file of that detector,
    loaded instead of torchvision's cache/download. `score_thresh`: keep people with
    `score >= score_thresh`. `device`: where the model runs. `pretrained=False` (and no
    `weights_path`) keeps the random initialisation and downloads nothing (for tests).
    `backend`: 'torch', 'onnx' or 'auto' (module docstring); `self.backend` says which runs.

    Calling it on one image gives `(boxes (N, 4) float64 [x, y, w, h] px, scores (N,) float64)`,
    people only, by score descending; `detect` does a list of images in one batch.
    """

    def __init__(self, name=DEFAULT_DETECTOR, weights_path=None, score_thresh=0.5, device='cpu',
                 pretrained=True, backend='torch'):
        import torchvision.models.detection as tvd
        self.name = name
        self.weights = coco_weights(name)
        self.score_thresh = float(score_thresh)
        self.device = torch.device(device)
        # the architecture of the COCO model, built without any download
        model = getattr(tvd, name)(weights=None, weights_backbone=None,
                                   num_classes=len(self.weights.meta['categories']))
        if pretrained or weights_path is not None:
            what = f"COCO weights of detector {name}"
            state_dict = load_torchvision_state_dict(
                self.weights, what, weights_file=weights_path, check_hash=True,
                hint=", or pass the file itself (demo: --detector PATH; Python: "
                     "weights_path=PATH)")
            load_into(model, state_dict, what)
        self.model = model.eval().requires_grad_(False).to(self.device)
        self.backend = 'torch'
        backend = resolve_detector_backend(backend, self.device)
        if backend == 'onnx':
            from common.nets.weights import torchvision_cache_path
            source = weights_path if weights_path is not None else \
                torchvision_cache_path(self.weights) if pretrained else None
            self.to_onnx(source)

    def to_onnx(self, weights_file=None, path=None):
        """Run the current model through ONNX Runtime from now on (CPU only): exported to
        `path` (default `detector_onnx_path(name, weights_file)`), or the export there reused
        when it holds this detector with `weights_file` unchanged; `weights_file` None (random
        weights): a temporary export, nothing cached. Returns self."""
        from main.onnx_backend import onnx_for_detector
        if self.backend == 'onnx':
            return self
        if self.device.type != 'cpu':
            raise PoseNetError("the detector's ONNX backend runs on the CPU; use --backend "
                               "torch on a GPU")
        if path is None and weights_file is not None:
            path = detector_onnx_path(self.name, weights_file)
        self.model = onnx_for_detector(self.model, self.name, path, weights_file)
        self.backend = 'onnx'
        return self

    def __call__(self, img_bgr):
        """People in one BGR uint8 image `(H, W, 3)`:
        `(boxes (N, 4) float64 [x, y, w, h] px, scores (N,) float64)`."""
        return self.detect([img_bgr])[0]

    @torch.inference_mode()
    def detect(self, imgs_bgr):
        """People in each of a list of BGR uint8 images, run as one batch; a list of
        `(boxes (N_i, 4) float64 [x, y, w, h] px, scores (N_i,) float64)`."""
        if len(imgs_bgr) == 0:
            return []
        outputs = self.model([image_to_tensor(img).to(self.device) for img in imgs_bgr])
        return [self._people(out) for out in outputs]

    def _people(self, output):
        """torchvision's `{'boxes' (K, 4) x1 y1 x2 y2, 'labels' (K,), 'scores' (K,)}` -> people
        above the threshold as `[x, y, w, h]` boxes, best first."""
        boxes = output['boxes'].detach().cpu().double().numpy().reshape(-1, 4)
        labels = output['labels'].detach().cpu().numpy().reshape(-1)
        scores = output['scores'].detach().cpu().double().numpy().reshape(-1)
        keep = (labels == PERSON_LABEL) & (scores >= self.score_thresh)
        boxes, scores = boxes[keep], scores[keep]
        order = np.argsort(-scores, kind='stable')
        boxes, scores = boxes[order], scores[order]
        xywh = np.stack((boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0],
                         boxes[:, 3] - boxes[:, 1]), axis=1)
        return xywh, scores
