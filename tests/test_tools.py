"""The tool scripts keep working: benchmark figures, quick-start settings, baseline maths."""
import os

import numpy as np

from main.config import Config
from tool import benchmark, quick_start
from tool.bench.h36m_loading import bench_h36m_loading
from tool.synthetic_data import generate


def test_benchmark_prints_every_figure(capsys):
    results = benchmark.main(['--resnet', '18', '--batch', '2', '--input', '64', '--iters', '1',
                              '--warmup', '0', '--device', 'cpu', '--img_size', '96',
                              '--load_frames', '1', '--load_samples', '3'])
    expected = {'train samples/s', 'inference images/s', 'inference images/s (flip test)',
                'peak memory train (MiB)', 'peak memory inference (MiB)',
                'data loading samples/s per worker'}
    assert set(results) == expected
    assert all(v > 0 for v in results.values())
    out = capsys.readouterr().out
    assert 'ResNet-18, input 64x64, batch 2' in out and 'data loading samples/s per worker' in out


def test_benchmark_backends_and_loading_sections(capsys):
    results = benchmark.main(['--inference_backends', '--loading', '--resnet', '18', '--input',
                              '32', '--batches', '1', '3', '--compile_modes', '--rounds', '1',
                              '--seconds', '0.01', '--threads', '1', '--img_size', '96',
                              '--load_frames', '1', '--load_samples', '3', '--load_rounds', '1'])
    inference = results['inference']
    assert set(inference) == {'torch eager', 'torch channels_last', 'ONNX Runtime'}
    for r in inference.values():
        assert set(r['images/s']) == {1, 3} and all(v > 0 for v in r['images/s'].values())
    assert inference['torch eager']['diff'] == 0
    assert inference['ONNX Runtime']['diff'] < 1e-3
    loading = results['loading']['loading samples/s per worker']
    assert len(loading) == 3 and all(v > 0 for v in loading.values())
    out = capsys.readouterr().out
    assert 'ONNX Runtime vs eager: batch 1:' in out and 'uint8 path (RAW_UINT8)' in out


def test_quick_start_settings_are_valid_config_overrides(tmp_path):
    items = quick_start.small_model_cfg(str(tmp_path / 'd'), str(tmp_path / 'o'), epochs=6)
    c = Config().with_overrides(items)
    assert c.resnet_type == 18 and c.pretrained_backbone is False
    assert c.input_shape == (64, 64) and c.output_shape == (16, 16)
    assert c.end_epoch == 6 and c.lr_dec_epoch == [4]
    assert c.data_dir == str(tmp_path / 'd') and c.model_dir == str(tmp_path / 'o' / 'model_dump')


def test_mean_pose_baseline_matches_direct_computation(tmp_path):
    gt = generate(str(tmp_path), datasets=['Human36M'], seed=1, img_size=64, h36m_actions=1,
                  h36m_cameras=1, h36m_frames=(0, 5, 64))['Human36M']['images']
    err, n_train, n_test = quick_start.mean_pose_baseline(str(tmp_path))
    # protocol 2: subjects 1 5 6 7 8 train on frames 0 and 5, subjects 9 11 test on frames 0, 64
    train = [g for g in gt.values() if g['subject'] in (1, 5, 6, 7, 8) and g['frame_idx'] % 5 == 0]
    test = [g for g in gt.values() if g['subject'] in (9, 11) and g['frame_idx'] % 64 == 0]
    assert (n_train, n_test) == (len(train), len(test)) == (10, 4)

    def rel(items):
        cam = np.stack([g['joint_cam'] for g in items])
        return cam - cam[:, :1]

    mean = rel(train).mean(axis=0)
    expected = np.linalg.norm(rel(test) - mean, axis=2).mean()
    assert err == np.float64(expected) or abs(err - expected) < 1e-6


def test_benchmark_times_every_pipeline_stage(capsys):
    results = benchmark.main(['--pipeline', '--resnet', '18', '--input', '64', '--iters', '1',
                              '--warmup', '0', '--device', 'cpu',
                              '--detector', 'fasterrcnn_mobilenet_v3_large_320_fpn'])
    assert set(results) == {'detector (s/image)'} | {
        f'{stage}, {n} people (s/image)' for stage in ('RootNet', 'PoseNet', 'whole pipeline')
        for n in (1, 5)}
    assert all(v > 0 for v in results.values())
    assert 'pipeline on a 640x480 image' in capsys.readouterr().out
def test_benchmark_evaluation_section_prints_every_test_set(capsys):
    rows = benchmark.main(['--evaluation', '--eval_entries', '40', '--eval_scales', '1', '2'])
    assert [(name, num) for name, num, _, _ in rows] == [
        (name, num) for name in ('Human36M protocol 1', 'Human36M protocol 2', 'MuPoTS', 'MSCOCO')
        for num in (40, 80)]
    assert all(t_orig > 0 and t_ours > 0 for _, _, t_orig, t_ours in rows)
    out = capsys.readouterr().out
    assert 'entries/s' in out and 'MSCOCO' in out


def test_benchmark_loading_section_measures_both_starts(tmp_path, capsys):
    rows = bench_h36m_loading(keep_dir=str(tmp_path), frames=(5,))
    ((label, parsed, original, first, second),) = rows
    assert (label, parsed) == ('1/280', 5 * 15 * 2 * 4 * 5)
    # frame 0 of every sequence is kept (frame_idx % 5 == 0)
    assert original['entries'] == first['entries'] == second['entries'] == 5 * 15 * 2 * 4
    assert all(r['seconds'] > 0 and r['peak_mib'] >= 0 for r in (original, first, second))
    assert len(os.listdir(tmp_path / 'h36m_5' / 'Human36M' / 'cache')) == 1
    assert 'original s' in capsys.readouterr().out


def test_learning_check_command_line_parses(capsys):
    import pytest
    from tool import learning_check
    with pytest.raises(SystemExit) as e:
        learning_check.main(['--help'])
    assert e.value.code == 0 and '--epochs' in capsys.readouterr().out


def test_quick_start_keeps_only_the_tested_snapshot_and_half_the_cores(tmp_path, monkeypatch):
    for epoch in range(4):
        (tmp_path / f'snapshot_{epoch}.pth.tar').write_bytes(b'x' * (10 + epoch))
    (tmp_path / 'notes.txt').write_text('kept')
    assert quick_start.keep_only_snapshot(str(tmp_path), 3) == 10 + 11 + 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ['notes.txt', 'snapshot_3.pth.tar']
    monkeypatch.setattr(quick_start.os, 'sched_getaffinity', lambda pid: {0, 1})
    assert quick_start.default_threads() == 1        # 2 shared cores: 1 compute thread
    monkeypatch.setattr(quick_start.os, 'sched_getaffinity', lambda pid: set(range(16)))
    assert quick_start.default_threads() == 8
    monkeypatch.setattr(quick_start.os, 'sched_getaffinity', lambda pid: {0})
    assert quick_start.default_threads() == 1
