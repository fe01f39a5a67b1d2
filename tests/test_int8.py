"""The int8 ONNX Runtime backend ('onnx-int8', main/onnx_backend.quantize_onnx): what the
file holds (QDQ int8 weights and activations, float logits layers, the float model's metadata
plus precision and calibration), the cache beside the snapshot, that it computes the float
network within int8 rounding, the export tool's --int8, and the errors.
ResNet-18 at 64x64 with the backends tests' fixed random weights (tests/test_predictor_onnx)."""
import json
import os

import numpy as np
import onnx
import pytest
import torch

from common.utils.errors import PoseNetError
from main.config import Config
from main.onnx_backend import OnnxNetwork, calibration_crops, calibration_digest, quantize_onnx
from main.pipeline import Pipeline
from main.predictor import PoseNetPredictor, RootNetPredictor, resolve_backend
from tests.test_predictor_onnx import (MUCO, crops, posenet_snapshot,  # noqa: F401
                                       rootnet_snapshot, small_cfg)
from tool import export_onnx as export_tool

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def relative_error(ours, ref):
    """Mean |ours - ref| over the spread of `ref` from crop to crop (per output column)."""
    return np.abs(ours - ref).mean(axis=0) / ref.std(axis=0)


def test_posenet_int8_file_and_outputs(posenet_snapshot):
    float_pred = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO,
                                                backend='onnx')
    int8_pred = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO,
                                               backend='onnx-int8')
    assert (float_pred.backend, int8_pred.backend) == ('onnx', 'onnx-int8')
    path = int8_pred.model.path
    assert path == posenet_snapshot.replace('.pth.tar', '.int8.onnx')
    assert float_pred.model.precision == 'float32' and int8_pred.model.precision == 'int8'
    cal = calibration_crops((64, 64), MEAN, STD)
    assert int8_pred.model.calibration == calibration_digest(cal) and len(cal) == 64
    # the float model's metadata is kept
    assert int8_pred.model.settings == float_pred.model.settings
    assert int8_pred.model.joints_name == MUCO.joints_name and int8_pred.model.epoch == 3

    proto = onnx.load(path)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count('QuantizeLinear') > 20 and ops.count('DequantizeLinear') > 40
    int8_weights = {i.name for i in proto.graph.initializer if i.data_type == onnx.TensorProto.INT8}
    assert len(int8_weights) >= 20        # every conv of ResNet-18 and the 3 deconvs
    final = [i for i in proto.graph.initializer if 'final_layer.weight' in i.name]
    assert [i.data_type for i in final] == [onnx.TensorProto.FLOAT]      # logits stay float

    # int8 rounding moves the outputs, by far less than they vary from crop to crop
    c = crops(16, 5)
    ref, got = float_pred.predict_crops(c), int8_pred.predict_crops(c)
    assert got.shape == ref.shape == (16, 21, 3)
    assert np.all(relative_error(got.reshape(-1, 3), ref.reshape(-1, 3)) < 0.8)
    assert not np.allclose(got, ref, atol=1e-3)       # it is really another computation


def test_int8_cache_is_reused_and_redone_for_other_crops(posenet_snapshot):
    first = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO,
                                           backend='onnx-int8')
    stamp = os.stat(first.model.path).st_mtime_ns
    again = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO,
                                           backend='onnx-int8')
    assert os.stat(again.model.path).st_mtime_ns == stamp
    other = crops(8, 9).numpy()
    redone = PoseNetPredictor.from_snapshot(posenet_snapshot, Config(), MUCO,
                                            backend='onnx-int8', calibration=other)
    assert redone.model.calibration == calibration_digest(other) == {
        'num': 8, 'sha1': redone.model.calibration['sha1']}
    assert os.stat(redone.model.path).st_mtime_ns != stamp


def test_rootnet_int8(rootnet_snapshot):
    float_pred = RootNetPredictor.from_snapshot(rootnet_snapshot, Config(), backend='onnx')
    int8_pred = RootNetPredictor.from_snapshot(rootnet_snapshot, Config(), backend='onnx-int8')
    assert int8_pred.backend == 'onnx-int8'
    c = crops(16, 5)
    k = np.linspace(2000., 8000., 16)
    ref, got = float_pred.predict_crops(c, k), int8_pred.predict_crops(c, k)
    assert got.shape == ref.shape == (16, 3)
    assert np.all(relative_error(got, ref) < 0.8)
    assert not np.allclose(got, ref, atol=1e-3)


def test_quantize_keeps_rootnet_depth_layer_float_and_needs_crops(rootnet_snapshot, tmp_path):
    net = RootNetPredictor.from_snapshot(rootnet_snapshot, Config(), backend='onnx').model
    with pytest.raises(PoseNetError, match='needs calibration crops'):
        quantize_onnx(net.path, str(tmp_path / 'q.onnx'), np.zeros((0, 3, 64, 64)))
    with pytest.raises(PoseNetError, match='camera-distance factor k of every calibration'):
        quantize_onnx(net.path, str(tmp_path / 'q.onnx'), crops(4, 1).numpy())
    assert not (tmp_path / 'q.onnx').exists()
    out = quantize_onnx(net.path, str(tmp_path / 'q.onnx'), crops(4, 1).numpy(),
                        np.full((4, 1), 5000., np.float32))
    types = {i.name: i.data_type for i in onnx.load(out).graph.initializer}
    logits = [n for n in types if 'xy_layer.weight' in n or 'depth_layer.weight' in n]
    assert logits and all(types[n] == onnx.TensorProto.FLOAT for n in logits)
    assert OnnxNetwork(out).calibration['num'] == 4


def test_export_tool_int8_with_a_calibration_folder(posenet_snapshot, tmp_path, capsys):
    import cv2
    folder = tmp_path / 'people'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(folder / f'{i}.jpg'), rng.integers(0, 255, (80, 60, 3), np.uint8))
    out = str(tmp_path / 'posenet.int8.onnx')
    export_tool.main(['--snapshot', posenet_snapshot, '--out', out, '--int8', '--calibration',
                      str(folder), '--no_check'])
    assert 'int8 (calibrated on 3 crops)' in capsys.readouterr().out
    net = OnnxNetwork(out)
    assert net.precision == 'int8' and net.calibration['num'] == 3
    pred = PoseNetPredictor.from_snapshot(out, Config(), None)
    assert pred.backend == 'onnx-int8' and pred.joints_name == MUCO.joints_name
    with pytest.raises(PoseNetError, match='no .jpg/.png/.bmp image'):
        export_tool.main(['--snapshot', posenet_snapshot, '--out', out, '--int8',
                          '--calibration', str(tmp_path)])


def test_backend_choice_and_pipeline(posenet_snapshot, rootnet_snapshot):
    cfg, cpu, gpu = small_cfg(), torch.device('cpu'), torch.device('cuda')
    assert resolve_backend('onnx-int8', 'a.pth.tar', cpu, cfg.amp) == 'onnx-int8'
    assert resolve_backend('onnx-int8', 'a.onnx', cpu, cfg.amp) == 'onnx'     # the file decides
    with pytest.raises(PoseNetError, match='runs on the CPU'):
        resolve_backend('onnx-int8', 'a.pth.tar', gpu, cfg.amp)
    with pytest.raises(PoseNetError, match="'onnx-int8' or 'auto'"):
        resolve_backend('int4', 'a.pth.tar', cpu, cfg.amp)
    pipe = Pipeline.from_files(Config(), posenet_snapshot, rootnet_snapshot,
                               backend='onnx-int8')
    assert pipe.posenet.backend == pipe.rootnet.backend == 'onnx-int8'
    img = np.random.default_rng(0).integers(0, 255, (120, 160, 3)).astype(np.uint8)
    people = pipe(img, bbox=np.array([[20., 10., 60., 100.]]))['people']
    assert len(people) == 1 and np.all(np.isfinite(people[0]['pose_3d']))
    assert json.loads(json.dumps(people[0]['pose_3d'].tolist()))     # plain numbers


def test_accuracy_bench_posenet_after_a_short_training(tmp_path, capsys):
    from tool.bench import int8 as int8_bench
    from tool.synthetic_data import generate
    data = str(tmp_path / 'data')
    generate(data, datasets=['Human36M'], seed=1, img_size=64, h36m_actions=1, h36m_cameras=1,
             h36m_frames=(0, 5, 64))          # 10 training and 4 test samples
    rows = int8_bench.main(['--model_dir', str(tmp_path / 'm'), '--data_dir', data,
                            '--train_iters', '2', '--cfg', 'num_thread=0'])
    printed = capsys.readouterr().out
    assert torch.is_grad_enabled()          # the tool leaves the process as it found it
    assert list(rows) == ['float32', 'int8, training crops', 'int8, random crops']
    ref = rows['float32']
    assert ref['change'] == ref['mean_joint_diff'] == ref['max_joint_diff'] == 0.
    for name, row in rows.items():
        assert row['change'] == pytest.approx(row['error'] / ref['error'] - 1.)
        assert 0. <= row['mean_joint_diff'] <= row['max_joint_diff']
        assert f'  {name:<22}{row["error"]:10.2f}{row["change"]:9.2%}' in printed
    assert rows['int8, random crops']['max_joint_diff'] > 0.    # int8 computes otherwise


def test_accuracy_bench_rootnet_depth_difference(rootnet_snapshot, tmp_path, capsys):
    from tool.bench import int8 as int8_bench
    from tool.synthetic_data import generate
    data = str(tmp_path / 'data')
    generate(data, datasets=['Human36M'], seed=1, img_size=64, h36m_actions=1, h36m_cameras=1,
             h36m_frames=(0, 5, 64))
    rows = int8_bench.bench_int8_accuracy(os.path.dirname(rootnet_snapshot), 7, data,
                                          ['num_thread=0'], network='RootNet')
    printed = capsys.readouterr().out
    assert rows['float32']['max_depth_diff'] == rows['float32']['mean_depth_diff'] == 0.
    for name in ('int8, training crops', 'int8, random crops'):
        row = rows[name]
        assert 0. < row['mean_depth_diff'] <= row['max_depth_diff']
        assert f'  {name:<22}{row["error"]:10.2f}{row["max_depth_diff"]:21.2f}' in printed
