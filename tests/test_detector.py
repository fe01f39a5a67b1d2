"""Person detector plumbing (common/nets/detector.py) without network access: label and score
filtering, box conversion, weights from a file, the cache folder, and the offline errors."""
import urllib.error

import numpy as np
import pytest
import torch

from common.nets.detector import DETECTORS, PERSON_LABEL, PersonDetector, coco_weights
from common.utils.errors import PoseNetError

SMALL = 'fasterrcnn_mobilenet_v3_large_320_fpn'


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty TORCH_HOME and a download that fails as it does without network."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    attempts = []

    def no_network(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError('[Errno -3] Temporary failure in name resolution')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_network)
    return tmp_path / 'torch' / 'hub' / 'checkpoints', attempts


class FakeModel:
    """Stands in for the torchvision model: records its input, returns a fixed detection."""

    def __init__(self, output):
        self.output = output
        self.inputs = None

    def __call__(self, images):
        self.inputs = images
        return [self.output for _ in images]


def test_person_label_is_cocos_person():
    assert coco_weights(SMALL).meta['categories'][PERSON_LABEL] == 'person'
    for name in DETECTORS:
        assert coco_weights(name).url.endswith('.pth')


def test_filters_people_above_threshold_sorts_and_converts_to_xywh():
    det = PersonDetector(SMALL, pretrained=False, score_thresh=0.5)
    det.model = FakeModel({
        'boxes': torch.tensor([[10., 20., 110., 220.],    # person 0.6
                               [0., 0., 5., 5.],          # person 0.49: below threshold
                               [30.5, 40., 50., 100.25],  # person 0.9
                               [1., 2., 3., 4.],          # label 3 (car) 0.99
                               [7., 8., 9., 10.]]),       # person exactly 0.5: kept
        'labels': torch.tensor([1, 1, 1, 3, 1]),
        'scores': torch.tensor([0.6, 0.49, 0.9, 0.99, 0.5])})
    img = np.zeros((32, 48, 3), np.uint8)
    img[0, 0] = (0, 51, 255)  # B, G, R
    boxes, scores = det(img)
    assert boxes.dtype == np.float64 and scores.dtype == np.float64
    np.testing.assert_allclose(scores, [0.9, 0.6, 0.5], rtol=1e-7)
    np.testing.assert_array_equal(boxes, [[30.5, 40., 19.5, 60.25], [10., 20., 100., 200.],
                                          [7., 8., 2., 2.]])
    # the model saw RGB in [0, 1], channels first
    (x,) = det.model.inputs
    assert x.shape == (3, 32, 48) and x.dtype == torch.float32
    torch.testing.assert_close(x[:, 0, 0], torch.tensor([1.0, 0.2, 0.0]))

    det.score_thresh = 0.95
    boxes, scores = det(img)
    assert boxes.shape == (0, 4) and scores.shape == (0,)


def test_batched_detect_runs_the_real_network():
    torch.manual_seed(0)
    det = PersonDetector(SMALL, pretrained=False, score_thresh=0.0)
    imgs = [np.full((40, 60, 3), 128, np.uint8), np.zeros((50, 30, 3), np.uint8)]
    results = det.detect(imgs)
    assert len(results) == 2
    for boxes, scores in results:
        assert boxes.dtype == np.float64 and boxes.shape == (len(scores), 4)
        assert np.all(np.diff(scores) <= 0) and np.all(boxes[:, 2:] >= 0)
    assert det.detect([]) == []


def test_bad_image_and_unknown_name_are_clear_errors():
    det = PersonDetector(SMALL, pretrained=False)
    with pytest.raises(PoseNetError, match=r'BGR uint8 image of shape \(H, W, 3\)'):
        det(np.zeros((10, 10), np.uint8))
    with pytest.raises(PoseNetError, match="detector 'yolo' is not supported"):
        PersonDetector('yolo', pretrained=False)


def test_offline_error_names_file_url_and_folder(offline):
    folder, attempts = offline
    weights = coco_weights('fasterrcnn_resnet50_fpn_v2')
    with pytest.raises(PoseNetError) as e:
        PersonDetector()
    msg = str(e.value)
    assert attempts == [weights.url]
    assert '\n' not in msg
    assert 'https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth' in msg
    assert str(folder / 'fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth') in msg
    assert 'URLError' in msg and 'weights_path' in msg


def test_file_put_in_the_cache_folder_is_used_without_download(offline):
    folder, attempts = offline
    torch.manual_seed(1)
    reference = PersonDetector(SMALL, pretrained=False)
    folder.mkdir(parents=True)
    torch.save(reference.model.state_dict(), folder / coco_weights(SMALL).url.split('/')[-1])
    det = PersonDetector(SMALL)
    assert attempts == []
    for k, v in reference.model.state_dict().items():
        assert torch.equal(det.model.state_dict()[k], v), k


def test_damaged_cache_file_is_reported_as_damaged(offline):
    folder, attempts = offline
    folder.mkdir(parents=True)
    path = folder / coco_weights(SMALL).url.split('/')[-1]
    path.write_bytes(b'\x00truncated download' * 5)
    with pytest.raises(PoseNetError, match=f'file {path} is damaged.*delete it or replace it'):
        PersonDetector(SMALL)
    assert attempts == []


def test_weights_path(tmp_path):
    torch.manual_seed(2)
    reference = PersonDetector(SMALL, pretrained=False)
    path = tmp_path / 'detector.pth'
    torch.save(reference.model.state_dict(), path)
    det = PersonDetector(SMALL, weights_path=str(path))
    name = 'backbone.body.0.0.weight'
    assert torch.equal(det.model.state_dict()[name], reference.model.state_dict()[name])

    with pytest.raises(PoseNetError, match='file not found: .*missing.pth'):
        PersonDetector(SMALL, weights_path=str(tmp_path / 'missing.pth'))
    damaged = tmp_path / 'damaged.pth'
    damaged.write_bytes(b'PK\x03\x04 not really a zip')
    with pytest.raises(PoseNetError, match='damaged.pth is damaged'):
        PersonDetector(SMALL, weights_path=str(damaged))
    other = tmp_path / 'other.pth'
    torch.save({'conv.weight': torch.zeros(1)}, other)
    with pytest.raises(PoseNetError, match='do not fit this network'):
        PersonDetector(SMALL, weights_path=str(other))


@pytest.mark.parametrize('name', sorted(DETECTORS))
def test_same_network_as_torchvisions_pretrained_build(monkeypatch, name):
    """Loading the COCO state dict into our weight-less build computes what torchvision's own
    `builder(weights=COCO_V1)` computes (it swaps in frozen batch norms, sometimes other eps)."""
    import torchvision.models as tvm
    import torchvision.models.detection as tvd
    torch.manual_seed(3)
    ours = PersonDetector(name, pretrained=False)
    with torch.no_grad():  # batch-norm statistics that make eps and folding matter
        for m in ours.model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(1e-3, 2.)
    state = ours.model.state_dict()
    monkeypatch.setattr(tvm.WeightsEnum, 'get_state_dict', lambda self, *a, **k: dict(state))
    theirs = getattr(tvd, name)(weights=coco_weights(name)).eval()
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        a, b = ours.model.backbone(x), theirs.backbone(x)
    for k in a:
        torch.testing.assert_close(a[k], b[k], msg=k)
