"""The GPU data path (data/gpu_batch.py): crops against the OpenCV path, identical targets,
batch assembly, errors; the CUDA decode and crop are GPU-marked."""
import os.path as osp

import cv2
import matplotlib.cbook
import numpy as np
import pytest
import torch

import data.dataset as dataset_module
from common.utils.errors import PoseNetError
from common.utils.crop import crop_trans, load_image, normalise_batch
from data.dataset import (DatasetLoader, RootNetLoader, add_synthetic_occlusion,
                          generate_patch_image, occlusion_rect)
from data.gpu_batch import (JpegDatasetLoader, JpegFile, JpegRootNetLoader, collate, crop_batch,
                            decode_jpegs, jpeg_size, patch_to_image, warp_batch)
from data.registry import build_dataset
from main.config import Config, ConfigError
from tests.synthetic_helpers import make_tree

GEOMETRY = dict(input_shape=(64, 64), output_shape=(16, 16), depth_dim=16,
                bbox_3d_shape=(2000, 2000, 2000))


def grace_hopper():
    return matplotlib.cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    path, _ = make_tree(tmp_path_factory, 'gpu_batch', datasets=['Human36M', 'MPII'],
                        img_size=(160, 120), num_images=3, h36m_actions=1, h36m_cameras=1,
                        h36m_frames=(0, 5))
    return Config(data_dir=path)


def gpu_crop(path, bbox, do_flip, scale, rot, input_shape, occlusion=(0, 0, 0, 0)):
    """One crop through the GPU path on the CPU: uint8 RGB (H_in, W_in, 3)."""
    jpeg = JpegFile(path)
    trans = crop_trans(bbox, jpeg.shape[1], do_flip, scale, rot, input_shape)
    affine = torch.tensor(patch_to_image(trans, jpeg.shape[1], do_flip)[None], dtype=torch.float32)
    images = decode_jpegs([jpeg.data], 'cpu')
    out = warp_batch(images, affine, torch.tensor([occlusion]), input_shape)
    return out[0].permute(1, 2, 0).numpy()


AUGMENTATIONS = [(False, 1.0, 0.0), (True, 1.0, 0.0), (False, 1.25, 30.0), (True, 0.75, -60.0),
                 (True, 1.1, 47.5)]


@pytest.mark.parametrize('do_flip,scale,rot', AUGMENTATIONS)
def test_crop_of_a_real_photo_matches_opencv(do_flip, scale, rot):
    path = grace_hopper()
    cvimg = load_image(path)
    # a box that reaches past the image's left and top edges: the black border counts too
    for bbox in ([140., 60., 250., 330.], [-40., -30., 200., 260.]):
        expected, _ = generate_patch_image(cvimg, bbox, do_flip, scale, rot, False, (128, 96),
                                           as_uint8=True)
        got = gpu_crop(path, bbox, do_flip, scale, rot, (128, 96))
        diff = np.abs(got.astype(np.int32) - expected.astype(np.int32))
        assert diff.mean() < 1.0 and diff.max() <= 2, (bbox, diff.mean(), diff.max())


def test_crop_of_synthetic_images_matches_opencv(tree):
    db = build_dataset('Human36M', 'train_3d', tree)
    for entry in db.data[:4] + build_dataset('MPII', 'train_2d', tree).data[:3]:
        cvimg = load_image(entry['img_path'])
        for do_flip, scale, rot in AUGMENTATIONS:
            expected, _ = generate_patch_image(cvimg, entry['bbox'], do_flip, scale, rot, False,
                                               (64, 64), as_uint8=True)
            got = gpu_crop(entry['img_path'], entry['bbox'], do_flip, scale, rot, (64, 64))
            diff = np.abs(got.astype(np.int32) - expected.astype(np.int32))
            assert diff.mean() < 1.0, (entry['img_path'], do_flip, scale, rot, diff.mean())


def test_jpeg_size_reads_the_header_without_decoding(tmp_path):
    with open(grace_hopper(), 'rb') as f:
        assert jpeg_size(f.read()) == (600, 512)
    img = np.zeros((37, 91, 3), np.uint8)
    for name, params in (('base.jpg', []), ('prog.jpg', [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])):
        cv2.imwrite(str(tmp_path / name), img, params)
        assert JpegFile(tmp_path / name).shape == (37, 91, 3)
    cv2.imwrite(str(tmp_path / 'a.png'), img)
    assert jpeg_size((tmp_path / 'a.png').read_bytes()) is None
    assert jpeg_size(b'\xff\xd8\xff') is None                   # cut short


def test_non_jpeg_missing_and_damaged_files_are_one_clear_error(tmp_path):
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(PoseNetError, match=r"decodes JPEG files only, and '.*a\.png' is not a "
                                           r"JPEG .*data_backend=opencv"):
        JpegFile(tmp_path / 'a.png')
    with pytest.raises(PoseNetError, match=r"cannot read image '.*nothing\.jpg'"):
        JpegFile(tmp_path / 'nothing.jpg')
    good = JpegFile(grace_hopper())
    with open(grace_hopper(), 'rb') as f:
        raw = f.read()
    (tmp_path / 'cut.jpg').write_bytes(raw[:400])        # header intact, image data gone
    cut = JpegFile(tmp_path / 'cut.jpg')
    with pytest.raises(PoseNetError, match=r"cannot decode the JPEG '.*cut\.jpg' on cpu"):
        decode_jpegs([good.data, cut.data], 'cpu', [good.path, cut.path])


def test_occlusion_is_the_opencv_rectangle_filled_with_noise():
    img = np.zeros((120, 160, 3), np.uint8)
    bbox = [30., 20., 80., 90.]
    np.random.seed(5)
    rect = add_synthetic_occlusion(img, bbox)
    np.random.seed(5)
    assert occlusion_rect(bbox, 120, 160) == rect
    x0, y0, w, h = rect
    # identity affine: the patch is the image itself
    identity = torch.tensor([[[1., 0., 0.], [0., 1., 0.]]])
    torch.manual_seed(0)
    out = warp_batch([torch.zeros((3, 120, 160), dtype=torch.uint8)], identity,
                     torch.tensor([rect]), (120, 160))[0]
    inside = torch.zeros_like(out, dtype=torch.bool)
    inside[:, y0:y0 + h, x0:x0 + w] = True
    assert torch.all(out[~inside] == 0)
    noise = out[inside].double()
    assert noise.max() <= 254 and abs(noise.mean().item() - 127) < 3   # floor(U[0,1) * 255)


def test_batch_of_different_image_sizes_equals_each_crop_alone(tmp_path):
    rng = np.random.default_rng(0)
    paths, boxes = [], []
    for i, (w, h) in enumerate(((160, 120), (97, 203), (300, 64))):
        img = cv2.resize(rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8),
                         (w, h), interpolation=cv2.INTER_LINEAR)
        paths.append(str(tmp_path / f'{i}.jpg'))
        cv2.imwrite(paths[-1], img)
        boxes.append([w * 0.2, h * 0.1, w * 0.6, h * 0.8])
    specs = []
    for path, bbox, (do_flip, scale, rot) in zip(paths, boxes, AUGMENTATIONS[1:]):
        jpeg = JpegFile(path)
        trans = crop_trans(bbox, jpeg.shape[1], do_flip, scale, rot, (64, 48))
        specs.append(({'jpeg': jpeg.data, 'path': path, 'occlusion': torch.zeros(4, dtype=int),
                       'patch_to_image': torch.tensor(patch_to_image(trans, jpeg.shape[1],
                                                                     do_flip),
                                                      dtype=torch.float32),
                       'color_scale': torch.ones(3)}, torch.tensor([float(len(path))])))
    batch = collate(specs)
    assert batch[0]['path'] == paths and batch[0]['patch_to_image'].shape == (3, 2, 3)
    assert batch[1].shape == (3, 1)
    crops = crop_batch(batch[0], 'cpu', (64, 48))
    assert crops.shape == (3, 3, 64, 48) and crops.dtype == torch.uint8
    for i, (path, bbox, (do_flip, scale, rot)) in enumerate(zip(paths, boxes, AUGMENTATIONS[1:])):
        alone = gpu_crop(path, bbox, do_flip, scale, rot, (64, 48))
        # the padded size enters the float32 grid: a value at a tie (x.5, frequent where the
        # affine lands between two pixels) may round the other way, by one grey level
        diff = (crops[i].permute(1, 2, 0).int() - torch.from_numpy(alone).int()).abs()
        assert diff.max() <= 1 and diff.double().mean() < 0.25
        expected, _ = generate_patch_image(load_image(path), bbox, do_flip, scale, rot, False,
                                           (64, 48), as_uint8=True)
        assert np.abs(alone.astype(int) - expected.astype(int)).mean() < 1.0


def test_posenet_targets_identical_and_crops_close(tree):
    db = build_dataset('Human36M', 'train_3d', tree)
    mpii = build_dataset('MPII', 'train_2d', tree)
    for source, ref in ((db, None), (mpii, db.joints_name)):
        opencv = DatasetLoader(source, ref, True, dataset_module.RAW_UINT8, **GEOMETRY)
        gpu = JpegDatasetLoader(source, ref, True, dataset_module.RAW_UINT8, **GEOMETRY)
        occluded = 0
        for i in range(len(opencv)):
            np.random.seed(i)
            a = opencv[i]
            np.random.seed(i)
            b = gpu[i]
            for x, y in zip(a[1:], b[1:]):       # joint_img, joint_vis, have_depth
                assert x.dtype == y.dtype and np.array_equal(x, y)
            spec = collate([b])[0]
            crop = crop_batch(spec, 'cpu', GEOMETRY['input_shape'])[0]
            assert torch.equal(spec['color_scale'][0], a[0]['color_scale'])
            rect = spec['occlusion'][0].tolist()
            if rect[2] > 0:
                occluded += 1       # the noise differs; the rectangle is the OpenCV path's
                np.random.seed(i)
                dataset_module.get_aug_config()
                img = load_image(source.data[i]['img_path'])
                assert occlusion_rect(source.data[i]['bbox'], *img.shape[:2]) == tuple(rect)
                continue
            assert (crop.int() - a[0]['img'].int()).abs().double().mean() < 1.0
        assert 0 < occluded < len(opencv)


def test_rootnet_targets_identical_and_crops_close(tree):
    db = build_dataset('Human36M', 'train_3d', tree)
    shapes = dict(input_shape=(64, 64), output_shape=(16, 16))
    opencv = RootNetLoader(db, True, dataset_module.RAW_UINT8, **shapes)
    gpu = JpegRootNetLoader(db, True, dataset_module.RAW_UINT8, **shapes)
    for i in range(len(opencv)):
        np.random.seed(100 + i)
        a = opencv[i]
        np.random.seed(100 + i)
        b = gpu[i]
        for x, y in zip(a[1:], b[1:]):           # k, root_img, root_vis, have_depth
            assert np.array_equal(x, y)
        crop = crop_batch(collate([b])[0], 'cpu', shapes['input_shape'])[0]
        assert (crop.int() - a[0]['img'].int()).abs().double().mean() < 1.0


def test_data_backend_setting_is_validated():
    assert Config().data_backend == 'opencv'
    assert Config(data_backend='gpu').data_backend == 'gpu'
    with pytest.raises(ConfigError, match="config key 'data_backend' must be 'opencv' or "
                                          "'gpu', got 'cuda'"):
        Config(data_backend='cuda')


def test_trainer_input_from_the_gpu_path_equals_opencv_input(tree, tmp_path, monkeypatch):
    from main.engine import Trainer
    # no occlusion here (its noise is drawn differently); every other augmentation random
    aug = dataset_module.get_aug_config
    monkeypatch.setattr(dataset_module, 'get_aug_config', lambda: aug()[:4] + (False,))
    batches = {}
    for backend in ('opencv', 'gpu'):
        cfg = Config(resnet_type=18, pretrained_backbone=False, input_shape=(64, 64),
                     depth_dim=16, batch_size=6, num_thread=0, data_backend=backend,
                     trainset_2d=['MPII'], data_dir=tree.data_dir,
                     output_dir=str(tmp_path / backend)).with_devices(None, num_visible=0)
        trainer = Trainer(cfg)
        trainer.make_batch_generator()
        torch.manual_seed(0)
        np.random.seed(0)
        batch = next(iter(trainer.batch_generator))
        batches[backend] = [trainer._to_device(b) for b in batch]
        trainer.logger.close()
    opencv, gpu = batches['opencv'], batches['gpu']
    for x, y in zip(opencv[1:], gpu[1:]):
        assert torch.equal(x, y)
    std = torch.tensor(Config().pixel_std).reshape(1, 3, 1, 1)
    assert gpu[0].shape == (6, 3, 64, 64) and gpu[0].dtype == torch.float32
    assert ((gpu[0] - opencv[0]) * std * 255).abs().mean() < 1.0      # grey levels


def test_training_with_the_gpu_data_path_runs_on_the_cpu(tree, tmp_path):
    from main import train as train_main
    trainer = train_main.main(['--no_progress', '--cfg', 'resnet_type=18',
                               'pretrained_backbone=False', 'input_shape=(64, 64)',
                               'depth_dim=16', 'batch_size=5', 'num_thread=1', 'end_epoch=1',
                               'trainset_2d=[]',
                               'data_backend=gpu', f'data_dir={tree.data_dir}',
                               f'output_dir={tmp_path}'])
    assert np.isfinite(trainer.last_loss) and trainer.itr_per_epoch == 2
    assert osp.isfile(tmp_path / 'model_dump' / 'snapshot_0.pth.tar')
    assert "data_backend = 'gpu'" in (tmp_path / 'log' / 'train_logs.txt').read_text()


# -- CUDA --------------------------------------------------------------------------------------
@pytest.mark.gpu
def test_cuda_decode_and_crop_match_the_cpu_ones():
    path = grace_hopper()
    jpeg = JpegFile(path)
    cpu = decode_jpegs([jpeg.data, jpeg.data], 'cpu')
    cuda = decode_jpegs([jpeg.data, jpeg.data], 'cuda')
    assert cuda[0].device.type == 'cuda' and cuda[0].shape == cpu[0].shape
    # nvJPEG's IDCT and upsampling round differently from libjpeg's
    assert (cuda[0].cpu().int() - cpu[0].int()).abs().double().mean() < 1.0
    cvimg = load_image(path)
    for do_flip, scale, rot in AUGMENTATIONS:
        bbox = [140., 60., 250., 330.]
        trans = crop_trans(bbox, 512, do_flip, scale, rot, (128, 96))
        affine = torch.tensor(patch_to_image(trans, 512, do_flip)[None], dtype=torch.float32)
        crop = warp_batch(cuda[:1], affine, torch.zeros((1, 4), dtype=torch.int64), (128, 96))
        assert crop.device.type == 'cuda'
        expected, _ = generate_patch_image(cvimg, bbox, do_flip, scale, rot, False, (128, 96),
                                           as_uint8=True)
        got = crop[0].permute(1, 2, 0).cpu().numpy()
        assert np.abs(got.astype(int) - expected.astype(int)).mean() < 1.0


@pytest.mark.gpu
def test_cuda_trainer_input_matches_the_cpu_one(tree, tmp_path):
    from main.engine import Trainer
    cfg = Config(resnet_type=18, pretrained_backbone=False, input_shape=(64, 64),
                 depth_dim=16, batch_size=4, num_thread=0, data_backend='gpu',
                 data_dir=tree.data_dir, output_dir=str(tmp_path)).with_devices('0')
    trainer = Trainer(cfg)
    trainer.make_batch_generator()
    torch.manual_seed(0)
    np.random.seed(0)
    batch = next(iter(trainer.batch_generator))
    trainer.logger.close()
    spec = dict(batch[0], occlusion=torch.zeros_like(batch[0]['occlusion']))
    on_gpu = trainer._to_device(spec)
    assert on_gpu.device == torch.device('cuda:0') and on_gpu.dtype == torch.float32
    on_cpu = normalise_batch(crop_batch(spec, 'cpu', (64, 64)), spec['color_scale'],
                             cfg.pixel_mean, cfg.pixel_std)
    std = torch.tensor(cfg.pixel_std).reshape(1, 3, 1, 1)
    assert ((on_gpu.cpu() - on_cpu) * std * 255).abs().mean() < 1.0
