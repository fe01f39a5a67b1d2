"""The person detector through ONNX Runtime (common/nets/detector.py, backend 'onnx'): the same
boxes (within 0.5 px) and scores (within 1e-3) as PyTorch on the same weights, at any image
size; exported once into the user cache and exported again when the weights file changes.
Offline there are no COCO weights: random weights with measured batch-norm statistics, the
person logit raised so that people are found, and a zero score threshold
(tool/bench/photo_chain.random_person_detector)."""
import copy
import os

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from common.nets.detector import (DEFAULT_DETECTOR, PersonDetector, detector_onnx_path,
                                  resolve_detector_backend)
from common.utils.errors import PoseNetError
from main.onnx_backend import DETECTOR_FORMAT, OnnxDetector
from tool.bench.photo_chain import photo, random_person_detector as random_detector

SMALL = 'fasterrcnn_mobilenet_v3_large_320_fpn'


def assert_same_people(ours, ref, matched=0.95):
    """One to one, each box within 0.5 px and its score within 1e-3 of PyTorch's, for at least
    `matched` of the people on either side (paired by `linear_sum_assignment`). Random weights
    give proposals of near-equal objectness and overlaps near the NMS threshold, where float32
    rounding (which varies with the thread count) may keep one box instead of another."""
    (boxes, scores), (ref_boxes, ref_scores) = ours, ref
    assert len(ref_boxes) >= 5            # the comparison is about real detections
    assert len(np.unique(ref_scores)) > len(ref_scores) // 2
    cost = np.maximum(np.abs(boxes[:, None] - ref_boxes[None]).max(axis=2) / 0.5,
                      np.abs(scores[:, None] - ref_scores[None]) / 1e-3)
    rows, cols = linear_sum_assignment(cost)
    same = int(np.sum(cost[rows, cols] <= 1.))
    assert same >= matched * max(len(boxes), len(ref_boxes)), (same, len(boxes), len(ref_boxes))


def test_small_detector_same_people_as_pytorch_at_several_sizes():
    det = random_detector(SMALL)
    onnx_det = copy.deepcopy(det).to_onnx()
    assert det.backend == 'torch' and onnx_det.backend == 'onnx'
    assert isinstance(onnx_det.model, OnnxDetector)
    # landscape, portrait, odd; 300x200 is scaled by 1.6, where a traced resize shifts pixels
    imgs = [photo(320, 240), photo(200, 300), photo(300, 200), photo(517, 389)]
    # one image at a time, as the pipeline calls it (PyTorch's batch of different sizes pads
    # them all to the largest, which changes its own boxes; the ONNX graph takes one image)
    for img in imgs:
        assert_same_people(onnx_det(img), det(img))
    for (boxes, scores), img in zip(onnx_det.detect(imgs), imgs):
        ref_boxes, ref_scores = onnx_det(img)
        np.testing.assert_array_equal(boxes, ref_boxes)
        np.testing.assert_array_equal(scores, ref_scores)
        assert np.all(boxes[:, 2:] >= 0)


def test_default_detector_same_people_as_pytorch():
    """Faster R-CNN ResNet-50 FPN v2 itself; its resize target lowered from 800 to 320 px
    (the same in both) to keep the test short: the graph is the same."""
    det = random_detector(DEFAULT_DETECTOR, min_size=320)
    onnx_det = copy.deepcopy(det).to_onnx()
    img = photo(400, 300)
    assert_same_people(onnx_det(img), det(img))


def test_export_is_cached_and_redone_when_the_weights_change(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    weights = tmp_path / 'detector.pth'
    det = random_detector(SMALL)
    torch.save(det.model.state_dict(), weights)
    img = photo(320, 240)
    ref = det(img)

    first = PersonDetector(SMALL, weights_path=str(weights), score_thresh=0.0, backend='onnx')
    path = detector_onnx_path(SMALL, str(weights))
    assert path == str(tmp_path / 'cache' / 'posenet-3dmppe' / 'onnx' / os.path.basename(path))
    assert first.model.path == path and first.backend == 'onnx'
    meta = first.model.session.get_modelmeta().custom_metadata_map
    assert meta['format'] == DETECTOR_FORMAT and meta['detector'] == SMALL
    assert first.model.source['size'] == os.path.getsize(weights)
    assert_same_people(first(img), ref)

    stamp = os.stat(path).st_mtime_ns
    again = PersonDetector(SMALL, weights_path=str(weights), score_thresh=0.0, backend='auto')
    assert again.backend == 'onnx' and os.stat(path).st_mtime_ns == stamp      # reused

    changed = random_detector(SMALL, seed=1)
    torch.save(changed.model.state_dict(), weights)
    redone = PersonDetector(SMALL, weights_path=str(weights), score_thresh=0.0, backend='onnx')
    assert redone.model.source['size'] == os.path.getsize(weights)
    assert_same_people(redone(img), changed(img))

    with open(path, 'wb') as f:           # a damaged cache file is replaced, not an error
        f.write(b'not a model')
    fixed = PersonDetector(SMALL, weights_path=str(weights), score_thresh=0.0, backend='onnx')
    assert_same_people(fixed(img), changed(img))


def test_backend_choice():
    assert resolve_detector_backend('auto', 'cpu') == 'onnx'
    assert resolve_detector_backend('auto', 'cuda') == 'torch'
    assert resolve_detector_backend('torch', 'cpu') == 'torch'
    with pytest.raises(PoseNetError, match="detector backend 'tensorrt' is not an option"):
        resolve_detector_backend('tensorrt', 'cpu')
    det = PersonDetector(SMALL, pretrained=False)
    det.device = torch.device('cuda')          # as built with --gpu: no ONNX there
    with pytest.raises(PoseNetError, match='runs on the CPU'):
        det.to_onnx()
