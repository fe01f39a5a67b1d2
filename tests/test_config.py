import os
import subprocess
import sys

import pytest

from main.config import ROOT_DIR, Config, ConfigError, parse_gpu_ids, parse_value


def test_defaults_are_the_original_release():
    c = Config()
    assert c.trainset_3d == ['Human36M'] and c.trainset_2d == ['MPII'] and c.testset == 'Human36M'
    assert c.resnet_type == 50 and c.input_shape == (256, 256) and c.output_shape == (64, 64)
    assert c.depth_dim == 64 and c.bbox_3d_shape == (2000, 2000, 2000)
    assert c.pixel_mean == (0.485, 0.456, 0.406) and c.pixel_std == (0.229, 0.224, 0.225)
    assert (c.lr, c.lr_dec_epoch, c.lr_dec_factor, c.end_epoch) == (1e-3, [17, 21], 10, 25)
    assert (c.batch_size, c.test_batch_size, c.num_thread) == (32, 32, 20)
    assert c.flip_test is True and c.use_gt_info is True and c.pretrained_backbone is True


def test_overrides_from_command_line_strings():
    c = Config().apply_overrides(['resnet_type=18', 'input_shape=(128, 96)', 'trainset_2d=[]',
                                  'testset=MuPoTS', 'lr=0.01', 'flip_test=False', 'lr=1'])
    assert c.resnet_type == 18
    assert c.input_shape == (128, 96) and c.output_shape == (32, 24)
    assert c.trainset_2d == [] and c.testset == 'MuPoTS'
    assert c.lr == 1.0 and isinstance(c.lr, float)
    assert c.flip_test is False


def test_output_shape_follows_input_unless_given():
    c = Config().update(output_shape=(10, 20))
    c.update(input_shape=(64, 64))
    assert c.output_shape == (10, 20)
    c.update(output_shape=None)
    assert c.output_shape == (16, 16)


def test_output_dirs_follow_output_dir(tmp_path):
    c = Config().update(output_dir=str(tmp_path))
    assert c.model_dir == str(tmp_path / 'model_dump') and c.log_dir == str(tmp_path / 'log')
    assert not os.path.exists(c.model_dir)  # nothing created until a run starts
    c.make_dirs()
    for d in ('model_dump', 'log', 'result', 'vis'):
        assert (tmp_path / d).is_dir()


def test_env_variables_set_roots(monkeypatch, tmp_path):
    monkeypatch.setenv('POSENET_DATA_DIR', str(tmp_path / 'd'))
    monkeypatch.setenv('POSENET_OUTPUT_DIR', str(tmp_path / 'o'))
    c = Config()
    assert c.data_dir == str(tmp_path / 'd') and c.result_dir == str(tmp_path / 'o' / 'result')
    monkeypatch.delenv('POSENET_DATA_DIR')
    assert Config().data_dir == os.path.join(ROOT_DIR, 'data')


@pytest.mark.parametrize('items,match', [
    (['resnet_typ=18'], "unknown config key 'resnet_typ'"),
    (['resnet_type=eighteen'], "'resnet_type' expects a int"),
    (['flip_test=1'], "'flip_test' expects a bool"),
    (['input_shape=256'], "'input_shape' expects a tuple"),
    (['lr'], 'expected KEY=VALUE'),
])
def test_bad_overrides_are_clear_errors(items, match):
    with pytest.raises(ConfigError, match=match):
        Config().apply_overrides(items)


def test_parse_value():
    assert parse_value('18') == 18 and parse_value('[1, 2]') == [1, 2]
    assert parse_value('MuPoTS') == 'MuPoTS' and parse_value('True') is True


@pytest.mark.parametrize('arg,visible,expected', [
    ('0-1', 2, [0, 1]), ('0-3', 4, [0, 1, 2, 3]), ('1-2', 4, [1, 2]), ('0,1', 2, [0, 1]),
    ('2,0', 3, [2, 0]), ('0', 1, [0]), (None, 3, [0, 1, 2]), (None, 0, []), ('', 2, [0, 1]),
])
def test_parse_gpu_ids(arg, visible, expected):
    assert parse_gpu_ids(arg, visible) == expected


@pytest.mark.parametrize('arg,visible,match', [
    ('2', 2, 'GPU id 2 does not exist'), ('0-3', 2, 'GPU id 2 does not exist'),
    ('0', 0, 'no CUDA GPU is visible'), ('a', 2, 'expected GPU ids'), ('3-1', 4, 'before its start'),
    ('0,0', 2, 'repeated'),
])
def test_parse_gpu_ids_errors(arg, visible, match):
    with pytest.raises(ConfigError, match=match):
        parse_gpu_ids(arg, visible)


def test_set_args_cpu_fallback():
    c = Config().set_args(None, num_visible=0)
    assert c.gpu_ids == [] and c.num_gpus == 0 and str(c.device) == 'cpu'
    c.set_args('1', continue_train=True, num_visible=2)
    assert c.gpu_ids == [1] and str(c.device) == 'cuda:1' and c.continue_train


def test_import_has_no_side_effects(tmp_path):
    env = dict(os.environ, POSENET_OUTPUT_DIR=str(tmp_path / 'out'))
    code = 'import main.config, common.nets.posenet, common.utils.snapshot; print("ok")'
    for cwd in (ROOT_DIR, os.path.join(ROOT_DIR, 'main')):
        out = subprocess.run([sys.executable, '-c', code], cwd=cwd, env=env,
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == 'ok'
    assert not (tmp_path / 'out').exists()
    assert 'CUDA_VISIBLE_DEVICES' not in open(os.path.join(ROOT_DIR, 'main', 'config.py')).read()
