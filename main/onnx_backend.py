"""ONNX export of PoseNet / RootNet and inference with ONNX Runtime (the 'onnx' backend).

    export_onnx(model, 'posenet.onnx', 'PoseNet', settings, epoch=24)
    net = OnnxNetwork('posenet.onnx')       # net.network, net.settings, net.joints_name

Model files are read and their exports cached through `main.checkpoint` (`read_checkpoint`,
`open_network`, `export_model`); this module holds the ONNX Runtime execution, the export
mechanics, the metadata format and the quantisation.
    coord = net(crops)                       # (N, J, 3) torch tensor, like the PyTorch model

An exported file holds the network with a dynamic batch axis (fixed crop size: the snapshot's
`input_shape`) and, in the ONNX model's `metadata_props`, what a predictor needs to use it:

    network         'PoseNet' or 'RootNet'
    model_settings  JSON of the snapshot's settings (`main.checkpoint.ModelSettings.to_dict`:
                    resnet_type, input_shape, output_shape, depth_dim, bbox_3d_shape,
                    pixel_mean, pixel_std, network, and for PoseNet joints_name, flip_pairs,
                    skeleton)
    joints_name     JSON list of the joint names (PoseNet; [] for RootNet)
    epoch           the snapshot's epoch ('' when unknown)
    source          JSON {path, size, mtime_ns} of the snapshot it came from (cache check)
    format          EXPORT_FORMAT (files of another format are re-exported, never misread)

Inputs and outputs: PoseNet `img (N, 3, H_in, W_in) float32` -> `coord (N, J, 3)` heatmap
units; RootNet `img`, `k (N, 1) float32` mm -> `coord (N, 3)` (x, y output space, depth mm).
The crops are normalised as for the PyTorch model (the original's 0..255 / ImageNet mean-std).

The person detector (`common.nets.detector.PersonDetector`, backend 'onnx') is exported by
`export_detector_onnx`: torchvision's normalisation, backbone, RPN, box head and NMS in one
graph, all but the resize: input `image (3, H, W) float32` RGB in [0, 1] already resized by
torchvision's own function (the traced resize differs from PyTorch's for some scale factors,
e.g. 1.6: pixels shifted); outputs `boxes (K, 4)` x1 y1 x2 y2 px of that image, `labels (K,)
int64`, `scores (K,) float32`. `OnnxDetector` resizes in PyTorch, runs the graph and maps the
boxes back as torchvision does. Metadata: `format` DETECTOR_FORMAT, `detector` (torchvision
builder name), `min_size`, `max_size` (the resize), `source` (fingerprint of the weights
file, cache check).

int8 (`quantize_onnx`, the 'onnx-int8' backend): ONNX Runtime's static quantisation of an
exported float model, QDQ format, int8 weights per output channel and uint8 activations whose
ranges are the min/max seen on calibration crops (u8 x s8: the fast kernels without VNNI); the
convolutions of the backbone and the deconvolution head run in int8 (VNNI on x86), the last 1x1
convs (heatmap / depth logits) and the soft-argmax stay float32. The file keeps the float
model's metadata and adds `precision` 'int8' and `calibration` (JSON: number of crops and the
SHA-1 of their bytes, cache check); float exports have `precision` 'float32' (absent in older
files: float32).

The exporter is PyTorch's TorchScript-based `torch.onnx.export(..., dynamo=False)` (the
torch.export-based one needs the extra `onnxscript` package and gives nothing more here); it
needs the `onnx` package, inference only `onnxruntime` (CPU execution provider).
"""
import copy
import hashlib
import io
import json
import logging
import os
import os.path as osp
import tempfile
import warnings

import numpy as np
import torch

from common.utils.crop import normalise_batch
from common.utils.errors import PoseNetError
from common.utils.file_io import atomic_path

ONNX_OPSET = 17
EXPORT_FORMAT = 'posenet-3dmppe-onnx-1'
DETECTOR_FORMAT = 'posenet-3dmppe-detector-onnx-1'
NETWORKS = ('PoseNet', 'RootNet')
INSTALL_HINT = 'pip install -r requirements.txt (onnx, onnxruntime)'


def _import(name):
    try:
        return __import__(name)
    except ImportError:
        raise PoseNetError(f"the '{name}' package is needed for the ONNX backend and is not "
                           f"installed: {INSTALL_HINT}, or use --backend torch") from None


def onnxruntime_available():
    """True when `onnxruntime` can be imported (the 'auto' backend uses it on the CPU)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def user_cache_folder():
    """`$XDG_CACHE_HOME/posenet-3dmppe/onnx` (default `~/.cache/...`): exports that cannot (or
    should not) lie next to their source file."""
    cache = os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache')
    return osp.join(cache, 'posenet-3dmppe', 'onnx')


def file_fingerprint(path):
    """`{path, size, mtime_ns}` of a file: what an exported model records of its snapshot."""
    st = os.stat(path)
    return {'path': osp.abspath(path), 'size': int(st.st_size), 'mtime_ns': int(st.st_mtime_ns)}


def onnx_metadata(network, settings, epoch=None, source=None):
    """The `metadata_props` (str -> str) of an exported model (see the module docstring)."""
    if network not in NETWORKS:
        raise PoseNetError(f"network {network!r} cannot be exported; choose PoseNet or RootNet")
    settings = dict(settings, network=network)
    return {'network': network,
            'model_settings': json.dumps(settings, sort_keys=True),
            'joints_name': json.dumps(list(settings.get('joints_name') or [])),
            'epoch': '' if epoch is None else str(int(epoch)),
            'source': json.dumps(source or {}, sort_keys=True),
            'precision': 'float32', 'format': EXPORT_FORMAT}


def export_onnx(model, path, network, settings, epoch=None, source=None, opset=ONNX_OPSET):
    """Export `model` (a bare PoseNet or RootNet, any device) to the ONNX file `path`
    (written atomically) with a dynamic batch axis; `settings` (a `model_settings` dict with
    at least `input_shape`) and the rest go into `metadata_props`. Returns `path`."""
    onnx = _import('onnx')
    meta = onnx_metadata(network, settings, epoch, source)
    height, width = (int(v) for v in settings['input_shape'])
    net = copy.deepcopy(model).float().cpu().eval()
    net = net.to(memory_format=torch.contiguous_format)
    img = torch.zeros(2, 3, height, width)      # batch 2: nothing specialises on a batch of 1
    if network == 'PoseNet':
        args, inputs, axes = (img,), ['img'], {'img': {0: 'batch'}, 'coord': {0: 'batch'}}
    else:
        args, inputs = (img, torch.ones(2, 1)), ['img', 'k']
        axes = {'img': {0: 'batch'}, 'k': {0: 'batch'}, 'coord': {0: 'batch'}}
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')     # the exporter's deprecation and tracer notes
        torch.onnx.export(net, args, buf, dynamo=False, input_names=inputs,
                          output_names=['coord'], dynamic_axes=axes, opset_version=opset,
                          do_constant_folding=True)
    return _save_with_metadata(onnx, buf.getvalue(), meta, path)


def _save_with_metadata(onnx, data, meta, path):
    """Write the serialised model `data` with `meta` (str -> str) in its `metadata_props` to
    `path`, atomically."""
    proto = onnx.load_from_string(data)
    proto.producer_name = 'posenet-3dmppe'
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    with atomic_path(path) as tmp:
        onnx.save(proto, tmp)
    return path


def _session(path, threads=None):
    """An ONNX Runtime CPU session of `path` (all graph optimisations); one clear error for a
    file it cannot load."""
    ort = _import('onnxruntime')
    if not osp.isfile(path):
        raise PoseNetError(f"ONNX model not found: {path}; export one with "
                           "python tool/export_onnx.py --snapshot S --out MODEL.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = int(threads)
    try:
        return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    except Exception as e:  # onnxruntime raises its own (pybind) exception types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PoseNetError(f"cannot load the ONNX model {path} ({first}); export it again "
                           "with python tool/export_onnx.py") from None


def export_detector_onnx(model, path, name, source=None, opset=ONNX_OPSET):
    """Export torchvision detection `model` (builder `name`, e.g. 'fasterrcnn_resnet50_fpn_v2')
    for one resized image of any size to `path` (written atomically); see the module
    docstring. The example image is 480x640: nothing in the graph depends on it (torchvision
    traces its anchors and box clipping from the input's shape)."""
    onnx = _import('onnx')
    net = copy.deepcopy(model).float().cpu().eval()
    net.transform.resize = lambda image, target: (image, target)    # done before the graph
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')     # the exporter's deprecation and tracer notes
        torch.onnx.export(net, ([torch.rand(3, 480, 640)],), buf, dynamo=False,
                          input_names=['image'], output_names=['boxes', 'labels', 'scores'],
                          dynamic_axes={'image': {1: 'height', 2: 'width'},
                                        'boxes': {0: 'detections'}, 'labels': {0: 'detections'},
                                        'scores': {0: 'detections'}},
                          opset_version=opset, do_constant_folding=True)
    meta = {'detector': name, 'source': json.dumps(source or {}, sort_keys=True),
            'min_size': str(int(model.transform.min_size[-1])),
            'max_size': str(int(model.transform.max_size)), 'format': DETECTOR_FORMAT}
    return _save_with_metadata(onnx, buf.getvalue(), meta, path)


class OnnxDetector:
    """An exported torchvision detector run by ONNX Runtime on the CPU, called like the
    torchvision model: a list of RGB float images `(3, H, W)` in [0, 1] -> a list of
    `{'boxes' (K, 4) x1 y1 x2 y2 px, 'labels' (K,), 'scores' (K,)}` torch tensors, one image
    at a time (the graph takes one): a list gives what PyTorch gives on each image alone, not
    what its padded batch of different sizes gives. Attributes: `name` (builder), `source`
    (dict), `path`."""

    def __init__(self, path, threads=None):
        self.session = _session(path, threads)
        self.path = path
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get('format') != DETECTOR_FORMAT or not meta.get('detector'):
            raise PoseNetError(f"{path} is not a detector export of this project; delete it "
                               "and run again (it is exported anew)")
        self.name = meta['detector']
        self.min_size, self.max_size = int(meta['min_size']), int(meta['max_size'])
        self.source = json.loads(meta.get('source') or '{}')

    def eval(self):
        return self

    def __call__(self, images):
        from torchvision.models.detection.transform import (_resize_image_and_masks,
                                                            resize_boxes)
        outputs = []
        for img in images:
            img = img.detach().cpu().float()
            resized = _resize_image_and_masks(img, self.min_size, self.max_size)[0]
            boxes, labels, scores = self.session.run(
                ['boxes', 'labels', 'scores'], {'image': resized.contiguous().numpy()})
            boxes = resize_boxes(torch.from_numpy(boxes), resized.shape[-2:], img.shape[-2:])
            outputs.append({'boxes': boxes, 'labels': torch.from_numpy(labels),
                            'scores': torch.from_numpy(scores)})
        return outputs


def onnx_for_detector(model, name, path, weights_file=None):
    """The ONNX Runtime detector of torchvision `model` (builder `name`): the export cached at
    `path` when it is one of this detector with the weights file `weights_file` unchanged
    (size and modification time), else exported there anew. Without `weights_file` (random
    weights) the export goes through a temporary file and nothing is cached."""
    if weights_file is None:
        with tempfile.TemporaryDirectory() as tmp:
            out = export_detector_onnx(model, osp.join(tmp, 'detector.onnx'), name)
            return OnnxDetector(out)     # the session holds the model: the file can go
    source = file_fingerprint(weights_file)
    if osp.isfile(path):
        try:
            net = OnnxDetector(path)
            if net.name == name and net.source == source:
                return net
        except PoseNetError:
            pass                # damaged or foreign: our cache file, exported anew
    try:
        export_detector_onnx(model, path, name, source)
    except OSError as e:
        raise PoseNetError(f"cannot write the ONNX export of detector {name} to {path} "
                           f"({e.strerror}); free some space or use --backend torch") from None
    return OnnxDetector(path)


FLOAT_LAYERS = ('final_layer', 'xy_layer', 'depth_layer')   # stay float32 in int8 models


def calibration_digest(img, k=None):
    """`{num, sha1}` of calibration crops `img (N, 3, H, W)` (and RootNet's `k (N, 1)`)."""
    digest = hashlib.sha1(np.ascontiguousarray(img, dtype=np.float32).tobytes())
    if k is not None:
        digest.update(np.ascontiguousarray(k, dtype=np.float32).tobytes())
    return {'num': int(len(img)), 'sha1': digest.hexdigest()}


def calibration_crops(input_shape, pixel_mean, pixel_std, num=64, seed=0):
    """Default int8 calibration crops: `num` normalised crops `(num, 3, H, W)` float32 of
    smooth random images (8x8-pixel random colours upsampled, then the original's 0..255
    normalisation with `pixel_mean`, `pixel_std`). Crops of real people calibrate better
    (`calibration=` of the predictors, `--calibration` of tool/export_onnx.py)."""
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(seed)
    h, w = (int(v) for v in input_shape)
    low = torch.randint(0, 256, (num, 3, max(1, h // 8), max(1, w // 8)), generator=g).float()
    img = F.interpolate(low, size=(h, w), mode='bilinear', align_corners=False)
    img = img.round().clamp(0, 255).to(torch.uint8)
    return normalise_batch(img, None, pixel_mean, pixel_std).numpy()


def quantize_onnx(float_path, path, img, k=None, batch=8, activations='uint8'):
    """Static int8 quantisation (QDQ) of the float export `float_path` into `path` (written
    atomically) with ranges calibrated on the normalised crops `img (N, 3, H, W)` float32 (and
    RootNet's `k (N, 1)` mm); see the module docstring. `activations`: 'uint8' (default: on
    x86 without VNNI, e.g. AVX2, ONNX Runtime's fast kernels take u8 x s8) or 'int8'.
    Returns `path`."""
    onnx = _import('onnx')
    _import('onnxruntime')
    quant = __import__('onnxruntime.quantization', fromlist=['quantize_static'])
    act_type = {'int8': quant.QuantType.QInt8, 'uint8': quant.QuantType.QUInt8}[activations]
    img = np.ascontiguousarray(img, dtype=np.float32)
    if len(img) == 0:
        raise PoseNetError("int8 quantisation needs calibration crops; none were given")
    proto = onnx.load(float_path)
    meta = {p.key: p.value for p in proto.metadata_props}
    if meta.get('network') == 'RootNet' and (k is None or len(k) != len(img)):
        raise PoseNetError("RootNet int8 calibration needs the camera-distance factor k of "
                           "every calibration crop")
    weights = {init.name for init in proto.graph.initializer}
    keep_float = [n.name for n in proto.graph.node if n.op_type == 'Conv' and any(
        name in weights and any(layer in name for layer in FLOAT_LAYERS) for name in n.input)]

    class Crops(quant.CalibrationDataReader):
        def __init__(self):
            self.starts = iter(range(0, len(img), batch))

        def get_next(self):
            start = next(self.starts, None)
            if start is None:
                return None
            feeds = {'img': img[start:start + batch]}
            if meta.get('network') == 'RootNet':
                feeds['k'] = np.asarray(k, np.float32).reshape(-1, 1)[start:start + batch]
            return feeds

    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'int8.onnx')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            # its advice to pre-process is not needed: the export folds the batch norms
            disabled = logging.root.manager.disable
            logging.disable(logging.WARNING)
            try:
                quant.quantize_static(
                    float_path, out, Crops(), quant_format=quant.QuantFormat.QDQ,
                    per_channel=True, activation_type=act_type,
                    weight_type=quant.QuantType.QInt8,
                    op_types_to_quantize=['Conv', 'ConvTranspose'],
                    nodes_to_exclude=keep_float,
                    calibrate_method=quant.CalibrationMethod.MinMax)
            finally:
                logging.disable(disabled)
        proto = onnx.load(out)
    del proto.metadata_props[:]
    meta.update(precision='int8', calibration=json.dumps(calibration_digest(img, k),
                                                         sort_keys=True))
    return _save_with_metadata(onnx, proto.SerializeToString(), meta, path)


class OnnxNetwork:
    """An exported PoseNet / RootNet run by ONNX Runtime on the CPU, called like the PyTorch
    model: `net(img)` (PoseNet) or `net(img, k)` (RootNet) with torch tensors or arrays,
    returning a float32 CPU torch tensor.

    Attributes from the file's metadata: `network`, `settings` (the model_settings dict),
    `joints_name` (tuple), `epoch` (int or None), `source` (dict), `precision` ('float32' or
    'int8'), `calibration` (dict, int8), `path`.
    `threads`: ONNX Runtime's intra-op threads (None: its default, one per physical core).
    """

    def __init__(self, path, threads=None):
        self.session = _session(path, threads)
        self.path = path
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get('format') != EXPORT_FORMAT or meta.get('network') not in NETWORKS:
            raise PoseNetError(f"{path} is not a PoseNet/RootNet export of this project (no "
                               "'network'/'model_settings' metadata); export it with "
                               "python tool/export_onnx.py")
        self.network = meta['network']
        self.settings = json.loads(meta['model_settings'])
        self.joints_name = tuple(json.loads(meta.get('joints_name') or '[]'))
        self.epoch = int(meta['epoch']) if meta.get('epoch') else None
        self.source = json.loads(meta.get('source') or '{}')
        self.precision = meta.get('precision') or 'float32'
        self.calibration = json.loads(meta.get('calibration') or '{}')
        self.input_names = [i.name for i in self.session.get_inputs()]

    def eval(self):
        return self

    def run(self, img, k=None):
        """Outputs as a float32 numpy array for float32 arrays `img (N, 3, H, W)`, `k (N, 1)`."""
        feeds = {'img': np.ascontiguousarray(img, dtype=np.float32)}
        if self.network == 'RootNet':
            if k is None:
                raise PoseNetError("RootNet needs the camera-distance factor k of every crop")
            feeds['k'] = np.ascontiguousarray(np.asarray(k, dtype=np.float32).reshape(-1, 1))
        return self.session.run(['coord'], feeds)[0]

    def __call__(self, img, k=None):
        if isinstance(img, torch.Tensor):
            img = img.detach().cpu().float().contiguous().numpy()
        if isinstance(k, torch.Tensor):
            k = k.detach().cpu().float().numpy()
        return torch.from_numpy(self.run(img, k))
