"""The ONNX backend: export with settings in the metadata, ONNX Runtime outputs equal to PyTorch
within 1e-3 heatmap units (flip test included), the export cache next to a snapshot, the CLIs'
--backend and the errors. ResNet-18, 64x64 crops, weights drawn from a fixed seed and scaled so
that the outputs differ from crop to crop (the networks' own init gives near-constant ones)."""
import json
import os
import types

import cv2
import numpy as np
import pytest
import torch

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

from common.nets.posenet import get_pose_net  # noqa: E402
from common.nets.rootnet import get_root_net  # noqa: E402
from common.utils.errors import PoseNetError  # noqa: E402
from data import joint_sets  # noqa: E402
from data.Human36M.Human36M import Human36M  # noqa: E402
from main import test as test_main  # noqa: E402
from main.checkpoint import ModelSettings, onnx_cache_path, save_snapshot  # noqa: E402
from main.config import Config  # noqa: E402
from main.onnx_backend import OnnxNetwork  # noqa: E402
from main.pipeline import Pipeline  # noqa: E402
from main.predictor import PoseNetPredictor, RootNetPredictor, resolve_backend  # noqa: E402
from tool import export_onnx as export_tool  # noqa: E402
from tool.bench.shared import random_crops, randomise_weights  # noqa: E402
from tool.synthetic_data import generate  # noqa: E402

SMALL = ['resnet_type=18', 'pretrained_backbone=False', 'input_shape=(64, 64)']
TOL = 1e-3          # heatmap units (x, y, z of PoseNet; x, y of RootNet)
MUCO = types.SimpleNamespace(joints_name=joint_sets.MUCO_JOINTS,
                             flip_pairs=joint_sets.MUCO_FLIP_PAIRS,
                             skeleton=joint_sets.MUCO_SKELETON)


def small_cfg(*extra):
    return Config().with_overrides(SMALL + list(extra))


def crops(n, seed):
    """Normalised 64x64 crops of smooth random images (the benchmark's)."""
    return random_crops(n, seed, (64, 64))


def randomise(model, seed, k=None):
    """Fixed-seed weights under which outputs vary with the crop (the benchmark's)."""
    return randomise_weights(model, seed, (64, 64), k=k)


@pytest.fixture
def posenet_snapshot(tmp_path):
    cfg = small_cfg()
    model = randomise(get_pose_net(cfg, False, 21), 0)
    settings = ModelSettings.from_config(cfg, 'PoseNet', MUCO)
    return str(save_snapshot(str(tmp_path / 'snapshot_3.pth.tar'), 3, model, None, settings))


@pytest.fixture
def rootnet_snapshot(tmp_path):
    cfg = small_cfg()
    model = randomise(get_root_net(cfg, False), 1, k=5000.)
    path = str(tmp_path / 'rootnet' / 'snapshot_7.pth.tar')
    return str(save_snapshot(path, 7, model, None, ModelSettings.from_config(cfg, 'RootNet')))


# -- equality with PyTorch ------------------------------------------------------------------------
@pytest.mark.parametrize('flip_test', [False, True])
def test_posenet_onnx_equals_torch(posenet_snapshot, flip_test):
    torch_pred = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO, flip_test)
    onnx_pred = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO, flip_test,
                                               backend='onnx')
    assert (torch_pred.backend, onnx_pred.backend) == ('torch', 'onnx')
    x = crops(6, 1)
    ref, got = torch_pred.predict_crops(x), onnx_pred.predict_crops(x)
    assert got.shape == ref.shape == (6, 21, 3) and got.dtype == np.float32
    assert np.abs(got - ref).max() < TOL
    # a meaningful comparison: outputs spread over the heatmap, differ from crop to crop
    assert ref.std(axis=0).mean() > 1.0
    # dynamic batch axis: one crop, then five, through the same session
    np.testing.assert_allclose(onnx_pred.predict_crops(x[:1]), ref[:1], atol=TOL)
    np.testing.assert_allclose(onnx_pred.predict_crops(x[1:]), ref[1:], atol=TOL)


def test_flip_test_runs_the_mirrored_batch_through_the_session(posenet_snapshot):
    onnx_pred = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO, True,
                                               backend='onnx')
    plain = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO, False,
                                           backend='onnx')
    calls = []
    net = onnx_pred.model
    original = net.run
    net.run = lambda img, k=None: calls.append(img.copy()) or original(img, k)
    x = crops(3, 2)
    flipped = onnx_pred.predict_crops(x)
    assert len(calls) == 2 and np.array_equal(calls[1], calls[0][..., ::-1])
    # the mean of the plain and the mapped-back mirrored prediction
    mirrored = plain.predict_crops(torch.flip(x, dims=[3]))
    mirrored[..., 0] = 16 - mirrored[..., 0] - 1
    for a, b in MUCO.flip_pairs:
        mirrored[:, [a, b]] = mirrored[:, [b, a]]
    np.testing.assert_allclose(flipped, (plain.predict_crops(x) + mirrored) / 2, atol=1e-5)
    assert np.abs(flipped - plain.predict_crops(x)).max() > 0.05


def test_rootnet_onnx_equals_torch(rootnet_snapshot):
    torch_pred = RootNetPredictor.from_snapshot(rootnet_snapshot, Config())
    onnx_pred = RootNetPredictor.from_snapshot(rootnet_snapshot, Config(), backend='onnx')
    x, k = crops(5, 3), np.array([1500., 3000., 4500., 6000., 12000.])
    ref, got = torch_pred.predict_crops(x, k), onnx_pred.predict_crops(x, k)
    assert got.shape == (5, 3)
    assert np.abs(got[:, :2] - ref[:, :2]).max() < TOL
    np.testing.assert_allclose(got[:, 2], ref[:, 2], rtol=1e-4)
    assert ref[:, :2].std(axis=0).mean() > 0.5


def test_pipeline_onnx_equals_torch(posenet_snapshot, rootnet_snapshot):
    rng = np.random.default_rng(0)
    img = cv2.resize(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), (320, 240))
    cfg = small_cfg()
    boxes = [[100, 30, 110, 170], [10, 20, 60, 120]]
    out = {}
    for backend in ('torch', 'onnx'):
        pipe = Pipeline.from_files(cfg, posenet_snapshot, rootnet_snapshot, backend=backend)
        assert pipe.posenet.backend == pipe.rootnet.backend == backend
        out[backend] = pipe(img, bbox=boxes)['people']
    for a, b in zip(out['torch'], out['onnx']):
        np.testing.assert_allclose(b['root_cam'], a['root_cam'], rtol=1e-4)
        np.testing.assert_allclose(b['pose_2d'], a['pose_2d'], atol=0.05)      # px
        np.testing.assert_allclose(b['pose_3d'], a['pose_3d'], atol=1.0)       # mm


# -- settings in the file -------------------------------------------------------------------------
def test_export_tool_keeps_settings_and_joints(posenet_snapshot, tmp_path, capsys):
    out = str(tmp_path / 'posenet.onnx')
    assert export_tool.main(['--snapshot', posenet_snapshot, '--out', out]) == out
    printed = capsys.readouterr().out
    assert 'PoseNet, ResNet-18, input 64x64, 21 joints, epoch 3' in printed
    diff = float(printed.split('max |difference| ')[1].split()[0])
    assert diff < TOL

    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert meta['network'] == 'PoseNet'
    assert json.loads(meta['joints_name']) == list(MUCO.joints_name)
    settings = json.loads(meta['model_settings'])
    assert settings['resnet_type'] == 18 and settings['input_shape'] == [64, 64]
    assert settings['output_shape'] == [16, 16] and settings['depth_dim'] == 64
    assert settings['flip_pairs'] == [list(p) for p in MUCO.flip_pairs]
    assert meta['epoch'] == '3'

    # a predictor from the .onnx file alone takes its geometry and joints from it
    cfg = Config()                                  # defaults: ResNet-50, 256x256
    pred = PoseNetPredictor.from_snapshot(out, cfg, None, flip_test=True)
    assert pred.backend == 'onnx' and pred.epoch == 3
    assert pred.settings.resnet_type == 18 and pred.settings.input_shape == (64, 64)
    assert cfg.resnet_type == 50 and cfg.input_shape == (256, 256)  # a value: not changed
    assert pred.input_shape == (64, 64) and pred.output_shape == (16, 16)
    assert pred.joints_name == MUCO.joints_name and pred.flip_pairs == MUCO.flip_pairs
    ref = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), None, True)
    x = crops(4, 5)
    assert np.abs(pred.predict_crops(x) - ref.predict_crops(x)).max() < TOL


def test_export_tool_official_snapshot_needs_cfg_and_guesses_joints(tmp_path, capsys):
    cfg = small_cfg()
    model = randomise(get_pose_net(cfg, False, 18), 4)
    path = str(save_snapshot(str(tmp_path / 'snapshot_24.pth.tar'), 24, model))  # no settings
    out = str(tmp_path / 'h36m.onnx')
    export_tool.main(['--snapshot', path, '--out', out, '--cfg', *SMALL])
    net = OnnxNetwork(out)
    assert net.joints_name == joint_sets.H36M_JOINTS and net.settings['resnet_type'] == 18
    with pytest.raises(PoseNetError, match='name the file'):
        export_tool.main(['--snapshot', path, '--out', str(tmp_path / 'x.bin')])


def test_rootnet_export_tool_and_onnx_file(rootnet_snapshot, tmp_path):
    out = str(tmp_path / 'rootnet.onnx')
    export_tool.main(['--snapshot', rootnet_snapshot, '--out', out])
    assert OnnxNetwork(out).network == 'RootNet'
    cfg = Config()
    pred = RootNetPredictor.from_snapshot(out, cfg)
    assert pred.settings.resnet_type == 18 and pred.input_shape == (64, 64)
    assert cfg.resnet_type == 50                    # the caller's config is not changed
    with pytest.raises(PoseNetError, match='is a RootNet export, not a PoseNet one'):
        PoseNetPredictor.from_snapshot(out, Config(), MUCO)


# -- the cache next to a snapshot -----------------------------------------------------------------
def test_export_cache_is_reused_and_refreshed(posenet_snapshot):
    cache = onnx_cache_path(posenet_snapshot)
    assert cache == posenet_snapshot[:-len('.pth.tar')] + '.onnx'
    first = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO, backend='onnx')
    stamp = os.stat(cache).st_mtime_ns
    x = crops(2, 6)
    before = first.predict_crops(x)
    again = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO, backend='onnx')
    assert os.stat(cache).st_mtime_ns == stamp            # reused, not exported again
    np.testing.assert_array_equal(again.predict_crops(x), before)

    # new weights in the snapshot: exported again, outputs follow
    cfg = small_cfg()
    model = randomise(get_pose_net(cfg, False, 21), 9)
    save_snapshot(posenet_snapshot, 4, model, None,
                  ModelSettings.from_config(cfg, 'PoseNet', MUCO))
    fresh = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO, backend='onnx')
    assert fresh.epoch == 4
    ref = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO).predict_crops(x)
    assert np.abs(fresh.predict_crops(x) - ref).max() < TOL
    assert np.abs(ref - before).max() > 0.1


def test_a_file_that_is_not_our_export_is_never_overwritten(posenet_snapshot, tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    beside = onnx_cache_path(posenet_snapshot)
    with open(beside, 'wb') as f:
        f.write(b'not an onnx model')               # damaged, or someone's own file
    pred = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO, backend='onnx')
    assert pred.predict_crops(crops(1, 0)).shape == (1, 21, 3)
    assert open(beside, 'rb').read() == b'not an onnx model'
    elsewhere = onnx_cache_path(posenet_snapshot, beside=False)
    assert elsewhere.startswith(str(tmp_path / 'cache' / 'posenet-3dmppe' / 'onnx'))
    assert pred.model.path == elsewhere and os.path.isfile(elsewhere)


# -- choosing the backend, errors -----------------------------------------------------------------
def test_backend_choice():
    cfg = Config()
    cpu, gpu = torch.device('cpu'), torch.device('cuda', 0)
    assert resolve_backend('torch', 'a.pth.tar', cpu, cfg.amp) == 'torch'
    assert resolve_backend('auto', 'a.pth.tar', cpu, cfg.amp) == 'onnx'
    assert resolve_backend('auto', 'a.pth.tar', gpu, cfg.amp) == 'torch'
    assert resolve_backend('torch', 'a.onnx', cpu, cfg.amp) == 'onnx'       # the file decides
    with pytest.raises(PoseNetError, match='runs on the CPU'):
        resolve_backend('onnx', 'a.pth.tar', gpu, cfg.amp)
    with pytest.raises(PoseNetError, match="'torch', 'onnx', 'onnx-int8' or 'auto'"):
        resolve_backend('tensorrt', 'a.pth.tar', cpu, cfg.amp)
    cfg = cfg.replace(amp='bf16')
    assert resolve_backend('auto', 'a.pth.tar', cpu, cfg.amp) == 'torch'
    with pytest.raises(PoseNetError, match='amp=bf16 is a PyTorch option'):
        resolve_backend('onnx', 'a.pth.tar', cpu, cfg.amp)


@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_bad_onnx_files_are_one_line_errors(tmp_path):
    bad = tmp_path / 'bad.onnx'
    bad.write_bytes(b'\x00garbage')
    with pytest.raises(PoseNetError, match='cannot load the ONNX model') as e:
        PoseNetPredictor.from_snapshot(str(bad), Config(), MUCO)
    assert '\n' not in str(e.value)
    with pytest.raises(PoseNetError, match='ONNX model not found'):
        PoseNetPredictor.from_snapshot(str(tmp_path / 'missing.onnx'), Config(), MUCO)
    # a valid ONNX model without this project's metadata
    cfg = small_cfg()
    plain = tmp_path / 'plain.onnx'
    torch.onnx.export(get_pose_net(cfg, False, 21).eval(), (torch.zeros(1, 3, 64, 64),),
                      str(plain), dynamo=False)
    with pytest.raises(PoseNetError, match='not a PoseNet/RootNet export'):
        PoseNetPredictor.from_snapshot(str(plain), Config(), MUCO)


def test_onnx_file_contradicting_cfg_is_an_error(posenet_snapshot, tmp_path):
    out = str(tmp_path / 'p.onnx')
    export_tool.main(['--snapshot', posenet_snapshot, '--out', out, '--no_check'])
    cfg = Config().with_overrides(['resnet_type=50'])
    with pytest.raises(PoseNetError, match="resnet_type"):
        PoseNetPredictor.from_snapshot(out, cfg, MUCO)


# -- main/test.py --backend onnx --------------------------------------------------------------------
def test_test_py_backend_onnx_equals_torch(tmp_path, monkeypatch):
    data = tmp_path / 'data'
    generate(str(data), datasets=['Human36M'], seed=3, img_size=96, num_frames=2,
             h36m_actions=1, h36m_cameras=1, h36m_frames=(0, 5, 64))
    out = tmp_path / 'out'
    cfg = small_cfg('depth_dim=16')
    model = randomise(get_pose_net(cfg, False, 18), 2)
    settings = ModelSettings.from_config(cfg, 'PoseNet', Human36M)
    save_snapshot(str(out / 'model_dump' / 'snapshot_1.pth.tar'), 1, model, None, settings)
    args = ['--test_epoch', '1', '--no_progress', '--cfg', f'data_dir={data}',
            f'output_dir={out}', 'test_batch_size=4', 'num_thread=0']
    snapshot = str(out / 'model_dump' / 'snapshot_1.pth.tar')
    reads, load = [], torch.load

    def counted_load(f, *a, **k):            # every read of the snapshot file
        reads.append(str(f))
        return load(f, *a, **k)
    monkeypatch.setattr(torch, 'load', counted_load)
    metrics = {}
    for backend in ('torch', 'onnx'):
        reads.clear()
        metrics[backend] = test_main.main(args + ['--backend', backend])
        assert reads.count(snapshot) == 1, backend      # read once, also to export it
    assert (out / 'model_dump' / 'snapshot_1.onnx').is_file()
    assert np.isfinite(metrics['torch']['error'])
    assert metrics['onnx']['error'] == pytest.approx(metrics['torch']['error'], abs=0.05)  # mm
    log = (out / 'log' / 'test_logs.txt').read_text()
    assert 'backend=onnx' in log
