"""The crop module (`common/utils/crop.py`): one crop for training, testing and inference."""
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from common.utils.crop import (crop_patch, get_transform, network_input, normalise_batch,
                               person_crops)
from data.dataset import RAW_UINT8, DatasetLoader, generate_patch_image
from main.config import ROOT_DIR

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
BOXES = np.array([[10., 12., 60., 80.], [-20., 30., 90., 90.], [70.5, 5.25, 41., 55.]])


def photo():
    """A BGR uint8 image with structure in every channel (so a wrong crop shows)."""
    y, x = np.mgrid[0:120, 0:140]
    return np.stack([(3 * x + y) % 256, (x * y) % 253, (5 * y + 7) % 251], -1).astype(np.uint8)


class OneImageDB:
    """A test set of one image file with the boxes `BOXES`."""

    def __init__(self, path):
        self.data = [{'img_path': path, 'bbox': box} for box in BOXES]
        self.joint_num, self.joints_name, self.flip_pairs = 1, ('Pelvis',), ()
        self.joints_have_depth = True


def test_inference_crops_are_the_test_sets_crops(tmp_path):
    """`person_crops` (inference) gives bit for bit the crops the test loader gives for the same
    boxes, on both of its paths (float transform, and uint8 + `network_input`)."""
    path = str(tmp_path / 'img.png')
    assert cv2.imwrite(path, photo())
    img = cv2.imread(path)
    crops = person_crops(img, BOXES, (64, 48), MEAN, STD)
    assert crops.shape == (3, 3, 64, 48) and crops.dtype == torch.float32
    shapes = dict(input_shape=(64, 48), output_shape=(16, 12), depth_dim=8,
                  bbox_3d_shape=(2000, 2000, 2000))
    float_loader = DatasetLoader(OneImageDB(path), None, False, get_transform(MEAN, STD),
                                 **shapes)
    raw_loader = DatasetLoader(OneImageDB(path), None, False, RAW_UINT8, **shapes)
    for i in range(len(BOXES)):
        assert torch.equal(float_loader[i], crops[i])
        raw = raw_loader[i]
        batch = {'img': raw['img'][None], 'color_scale': raw['color_scale'][None]}
        assert torch.equal(network_input(batch, 'cpu', MEAN, STD)[0], crops[i])


def test_crop_patch_is_generate_patch_image_without_occlusion():
    img = photo()
    for do_flip, scale, rot in ((False, 1.0, 0.0), (True, 1.2, 25.0), (False, 0.8, -40.0)):
        patch, trans = crop_patch(img, BOXES[0], (32, 32), do_flip, scale, rot)
        old, old_trans = generate_patch_image(img, BOXES[0], do_flip, scale, rot, False, (32, 32))
        assert np.array_equal(patch, old) and np.array_equal(trans, old_trans)
    # the centre pixel of an unaugmented crop is the box centre's pixel, RGB
    patch, _ = crop_patch(img, [40., 30., 33., 33.], (33, 33))
    np.testing.assert_array_equal(patch[16, 16], img[46, 56, ::-1])


def test_no_box_gives_an_empty_batch():
    crops = person_crops(photo(), np.zeros((0, 4)), (64, 32), MEAN, STD)
    assert crops.shape == (0, 3, 64, 32)


def test_network_input_of_uint8_float_and_raw_batches_agree():
    """The three forms a batch of crops comes in end as the same float32 values; the colour
    scale of a raw batch is applied (and clipped) before the normalisation."""
    rng = np.random.default_rng(0)
    u8 = torch.from_numpy(rng.integers(0, 256, (2, 3, 8, 6), dtype=np.uint8))
    expected = torch.stack([get_transform(MEAN, STD)(p.permute(1, 2, 0).numpy().astype(np.float32))
                            for p in u8])
    assert torch.equal(network_input(u8, 'cpu', MEAN, STD), expected)
    assert torch.equal(network_input(expected, 'cpu', MEAN, STD), expected)
    scale = torch.tensor([[1.0, 1.0, 1.0], [1.2, 0.8, 1.0]])
    raw = network_input({'img': u8, 'color_scale': scale}, 'cpu', MEAN, STD)
    assert torch.equal(raw[0], expected[0])
    assert torch.equal(raw[1], normalise_batch(u8[1:], scale[1:], MEAN, STD)[0])
    assert not torch.equal(raw[1], expected[1])
    brightest = (255 - MEAN[0]) / STD[0]     # 1.2 x a bright red pixel is clipped to 255
    assert float(raw[1, 0].max()) <= brightest + 1e-4
    last = network_input(u8, 'cpu', MEAN, STD, channels_last=True)
    assert last.is_contiguous(memory_format=torch.channels_last) and torch.equal(last, expected)


@pytest.mark.parametrize('module', ['main.predictor', 'common.utils.crop'])
def test_inference_does_not_import_the_training_data_code(module):
    """The predictor crops with common/utils/crop.py, not with the training loaders of data/."""
    code = (f'import sys, {module}; '
            'print(sorted(m for m in sys.modules if m == "data" or m.startswith("data.")))')
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT_DIR, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[]'
