"""tool/bench/roofline.py: the MatMul model that sets the limit computes the product, the limit
on a shared machine, FLOPs per image of known layers, the table for a tiny network; the
detector's FLOPs by part (tool/bench/photo_chain.py)."""
import os
import types

import numpy as np
import pytest
import torch

from tool.bench import roofline


def test_matmul_model_computes_the_product():
    session, b = roofline.matmul_session(64)
    a = np.random.default_rng(3).standard_normal((64, 64)).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {'a': a})[0], a @ b, rtol=1e-4, atol=1e-4)
    assert roofline.matmul_rate(64, repeats=1) > 0


def test_limit_is_the_larger_of_all_cores_and_one_core_times_the_cores(monkeypatch):
    rates = {None: 66., 1: 95.}         # a shared machine: the other core is busy
    monkeypatch.setattr(roofline, 'matmul_rate', lambda n, threads=None: rates[threads])
    monkeypatch.setattr(roofline, 'physical_cores', lambda: 2)
    assert roofline.cpu_limit(256) == {'limit': 190., 'all_threads': 66., 'one_thread': 95.,
                                       'cores': 2}
    rates[None] = 200.                  # a quiet machine
    assert roofline.cpu_limit(256)['limit'] == 200.
    rates[8] = 60.                      # more threads than cores: the cores count
    assert roofline.cpu_limit(256, threads=8)['cores'] == 2
    first, second = roofline.cpu_limit(256), {'limit': 150.}
    assert roofline.best_limit(first, second) is first
    assert roofline.best_limit(second, first) is first
    assert 1 <= roofline.physical_cores() <= os.cpu_count()


def test_flops_of_known_layers_per_image():
    conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    # 2 FLOPs per multiply-add: 8 outputs x 3 x 3 x 3 weights at 10 x 10 positions
    assert roofline.flops_per_image(conv, torch.zeros(2, 3, 10, 10)) == 2 * 8 * 27 * 100
    linear = torch.nn.Linear(5, 7)
    assert roofline.flops_per_image(linear, torch.zeros(4, 5)) == 2 * 5 * 7
    deconv = torch.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1, bias=False)
    # every input position multiplies its 4 channels into 2 x 4 x 4 outputs
    assert roofline.flops_per_image(deconv, torch.zeros(1, 4, 6, 6)) == 2 * 4 * 2 * 16 * 36


def test_table_for_a_tiny_network(capsys):
    args = types.SimpleNamespace(resnet=18, input=32, threads=1, matmul_n=128, seconds=0.05,
                                 rounds=1)
    out = roofline.bench_roofline(args, batch=2)
    printed = capsys.readouterr().out
    assert f'float32 MatMul 128x128: {out["limit"]:.0f} GFLOP/s' in printed
    measured = out['measured']        # one thread: the limit is its MatMul rate
    assert measured['cores'] == 1 and out['limit'] == measured['limit'] == max(
        measured['all_threads'], measured['one_thread'])
    assert roofline.limit_text(128, measured) in printed
    for network in ('PoseNet', 'RootNet'):
        for backend in ('torch eager', 'ONNX Runtime float32', 'ONNX Runtime int8'):
            rate, gflops, share = out['rows'][network, backend]
            assert gflops == pytest.approx(out['flops'][network] * rate / 1e9)
            assert share == pytest.approx(gflops / out['limit'])
            assert f'{network:<9}{backend:<22}{rate:9.2f}' in printed
    # ResNet-18 at 32x32: the backbone alone is 1.82 GFLOP at 224x224, i.e. 0.037 at 32x32
    assert 0.03e9 < out['flops']['RootNet'] < out['flops']['PoseNet'] < 0.5e9


def test_detector_flops_split_by_part_and_share_of_the_limit():
    from tool.bench.photo_chain import DETECTOR_PARTS, detector_roofline, photo, \
        random_person_detector
    det = random_person_detector('fasterrcnn_mobilenet_v3_large_320_fpn')
    roof = detector_roofline(det.model, photo(320, 240), (2.0, 0.5), 40.)
    flops, proposals = roof['flops'], roof['proposals']
    # this detector's box head is two linear layers (256 x 7 x 7 -> 1024 -> 1024) and the
    # predictor (1024 -> 91 scores, 1024 -> 364 box deltas), on each of its proposals
    per_proposal = 2 * (256 * 7 * 7 * 1024 + 1024 * 1024 + 1024 * 91 + 1024 * 364)
    assert 0 < proposals <= det.model.rpn.post_nms_top_n()
    assert flops['box head'] == proposals * per_proposal
    # nothing outside the three parts multiplies (normalisation, resize, NMS are not counted)
    assert flops['total'] == sum(flops[part] for part, _ in DETECTOR_PARTS)
    assert flops['backbone + FPN'] > flops['RPN'] > 0
    gflop = flops['total'] / 1e9
    assert roof['achieved']['PyTorch'] == pytest.approx((gflop / 2.0, gflop / 2.0 / 40.))
    assert roof['achieved']['ONNX Runtime'] == pytest.approx((gflop / 0.5, gflop / 0.5 / 40.))
    assert roof['seconds_at_limit'] == pytest.approx(gflop / 40.)
