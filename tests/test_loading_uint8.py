"""The uint8 loading path (`DatasetLoader(transform=RAW_UINT8)` + `normalise_batch` on the device)
against the original's (`get_transform`): same seed, same targets exactly, and network inputs
equal bit for bit (tolerance 0), with training augmentation (scale, rotation, flip, colour
scale, occlusion) and without."""
import types

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from common.utils.crop import get_transform, normalise_batch
from data.dataset import RAW_UINT8, DatasetLoader, generate_patch_image
from data.Human36M.Human36M import Human36M
from main.config import Config
from main.engine import Base
from main.predictor import Predictor
from tool.synthetic_data import generate

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.fixture(scope='module')
def h36m(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data'))
    generate(root, datasets=['Human36M'], seed=5, img_size=240, num_frames=2, h36m_actions=2,
             h36m_cameras=2, h36m_frames=(0, 5, 64))
    cfg = Config(data_dir=root, input_shape=(64, 64))
    return cfg, Human36M('train', cfg), Human36M('test', cfg)


def loader(cfg, db, is_train, transform):
    return DatasetLoader(db, None, is_train, transform, input_shape=cfg.input_shape,
                         output_shape=cfg.output_shape, depth_dim=cfg.depth_dim,
                         bbox_3d_shape=cfg.bbox_3d_shape)


def samples(dataset, seed, n):
    np.random.seed(seed)
    return [dataset[i % len(dataset)] for i in range(n)]


def test_training_samples_equal_the_original_path(h36m, monkeypatch):
    cfg, train, _ = h36m
    import data.dataset as ds
    drawn = []
    original = ds.get_aug_config
    monkeypatch.setattr(ds, 'get_aug_config', lambda: drawn.append(original()) or drawn[-1])
    n = 2 * len(train.data) + 8
    old = samples(loader(cfg, train, True, get_transform(MEAN, STD)), 11, n)
    new = samples(loader(cfg, train, True, RAW_UINT8), 11, n)
    # the augmentations this covers: flips, rotations, occlusions and colour scales
    aug = drawn[:n]
    assert any(a[2] for a in aug) and any(not a[2] for a in aug)
    assert any(a[4] for a in aug) and any(a[1] != 0 for a in aug)
    assert drawn[:n] == drawn[n:]                  # same draws in both runs
    for (img, joint_img, joint_vis, have_depth), (raw, j2, v2, d2) in zip(old, new):
        assert raw['img'].dtype == torch.uint8 and raw['img'].shape == (3, 64, 64)
        assert raw['color_scale'].dtype == torch.float32 and raw['color_scale'].shape == (3,)
        assert torch.equal(normalise_batch(raw['img'], raw['color_scale'], MEAN, STD), img)
        for a, b in ((joint_img, j2), (joint_vis, v2), (have_depth, d2)):
            assert a.dtype == b.dtype and np.array_equal(a, b)


def test_test_samples_equal_the_original_path(h36m):
    cfg, _, test = h36m
    old = samples(loader(cfg, test, False, get_transform(MEAN, STD)), 0, len(test.data))
    new = samples(loader(cfg, test, False, RAW_UINT8), 0, len(test.data))
    for img, raw in zip(old, new):
        assert torch.equal(raw['color_scale'], torch.ones(3))
        assert torch.equal(normalise_batch(raw['img'], raw['color_scale'], MEAN, STD), img)


def test_batches_normalised_by_trainer_and_predictor_equal_the_original(h36m):
    cfg, train, test = h36m
    np.random.seed(3)
    old = next(iter(DataLoader(loader(cfg, train, True, get_transform(MEAN, STD)),
                               batch_size=6)))
    np.random.seed(3)
    new = next(iter(DataLoader(loader(cfg, train, True, RAW_UINT8), batch_size=6)))
    assert set(new[0]) == {'img', 'color_scale'} and new[0]['img'].shape == (6, 3, 64, 64)
    engine = types.SimpleNamespace(device=torch.device('cpu'), cfg=cfg)
    assert torch.equal(Base._to_device(engine, new[0]), old[0])          # the trainer's step
    for a, b in zip(old[1:], new[1:]):
        assert torch.equal(a, b)

    old_test = next(iter(DataLoader(loader(cfg, test, False, get_transform(MEAN, STD)),
                                    batch_size=4)))
    new_test = next(iter(DataLoader(loader(cfg, test, False, RAW_UINT8), batch_size=4)))
    predictor = Predictor(torch.nn.Identity(), cfg)
    assert torch.equal(predictor.to_device(new_test), old_test)          # the tester's input
    assert torch.equal(predictor.to_device(new_test['img']), old_test)   # bare uint8 crops
    assert torch.equal(predictor.to_device(old_test), old_test)          # float: unchanged


def test_normalise_batch_clips_scaled_values_and_leaves_float_input_alone():
    img = torch.tensor([0, 100, 250], dtype=torch.uint8).reshape(3, 1, 1).repeat(1, 2, 2)
    out = normalise_batch(img, [1.25, 1.25, 1.25], (0., 0., 0.), (1., 1., 1.))
    assert out[:, 0, 0].tolist() == [0.0, 125.0, 255.0]
    out = normalise_batch(img[None], torch.tensor([[1.25, 0.5, 1.0]]), (1., 2., 3.), (2., 2., 2.))
    assert out[0, :, 0, 0].tolist() == [-0.5, 24.0, 123.5]
    as_float = img.float()
    normalise_batch(as_float, None, MEAN, STD)
    assert torch.equal(as_float, img.float())


def test_uint8_patch_is_the_float_patch_and_copy_false_paints_the_image():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    box = [30., 20., 80., 80.]
    for args in ((False, 1.0, 0.0, False), (True, 1.1, 25.0, False)):
        patch, trans = generate_patch_image(img, box, *args, (64, 64))
        raw, trans2 = generate_patch_image(img, box, *args, (64, 64), as_uint8=True)
        assert raw.dtype == np.uint8 and np.array_equal(raw.astype(np.float32), patch)
        assert np.array_equal(trans, trans2)
    kept = img.copy()
    np.random.seed(1)
    generate_patch_image(img, box, False, 1.0, 0.0, True, (64, 64))
    assert np.array_equal(img, kept)                 # default: the caller's image untouched
    np.random.seed(1)
    generate_patch_image(img, box, False, 1.0, 0.0, True, (64, 64), copy=False)
    assert not np.array_equal(img, kept)             # copy=False: painted in place
