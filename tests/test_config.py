import os
import subprocess
import sys

import pytest

from common.utils.errors import PoseNetError
from common.utils.cli import add_common_args
from main.config import (MODEL_FIELDS, ROOT_DIR, Config, ConfigError, check_resume, parse_gpu_ids,
                         parse_value)


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
    c = Config().with_overrides(['resnet_type=18', 'input_shape=(128, 96)', 'trainset_2d=[]',
                                 'testset=MuPoTS', 'lr=0.01', 'flip_test=False', 'lr=1'])
    assert c.resnet_type == 18
    assert c.input_shape == (128, 96) and c.output_shape == (32, 24)
    assert c.trainset_2d == [] and c.testset == 'MuPoTS'
    assert c.lr == 1.0 and isinstance(c.lr, float)
    assert c.flip_test is False


def test_output_shape_follows_input_unless_given():
    c = Config(output_shape=(10, 20)).replace(input_shape=(64, 64))
    assert c.output_shape == (10, 20) and 'output_shape' in c.given
    c = c.replace(output_shape=None)
    assert c.output_shape == (16, 16) and 'output_shape' not in c.given
    c = c.with_overrides(['input_shape=(128, 96)', 'output_shape=(32, 24)'])
    assert c.output_shape == (32, 24)


def test_output_dirs_follow_output_dir(tmp_path):
    c = Config(output_dir=str(tmp_path))
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
    (['resnet_type=eighteen'], "'resnet_type' must be one of 18, 34, 50, 101, 152, got 'eighteen'"),
    (['flip_test=1'], "'flip_test' expects a bool"),
    (['input_shape=256'], "'input_shape' must be two positive integers .height, width., got 256"),
    (['data_dir=3'], "'data_dir' expects a str"),
    (['lr'], 'expected KEY=VALUE'),
])
def test_bad_overrides_are_clear_errors(items, match):
    with pytest.raises(ConfigError, match=match):
        Config().with_overrides(items)


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


def test_with_devices_cpu_fallback():
    c = Config().with_devices(None, num_visible=0)
    assert c.gpu_ids == [] and c.num_gpus == 0 and str(c.device) == 'cpu'
    d = c.with_devices('1', continue_train=True, num_visible=2)
    assert d.gpu_ids == [1] and str(d.device) == 'cuda:1' and d.continue_train
    assert c.gpu_ids == [] and not c.continue_train     # c is a value: not changed


def test_import_has_no_side_effects(tmp_path):
    env = dict(os.environ, POSENET_OUTPUT_DIR=str(tmp_path / 'out'))
    code = 'import main.config, common.nets.posenet, main.checkpoint; print("ok")'
    for cwd in (ROOT_DIR, os.path.join(ROOT_DIR, 'main')):
        out = subprocess.run([sys.executable, '-c', code], cwd=cwd, env=env,
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == 'ok'
    assert not (tmp_path / 'out').exists()
    assert 'CUDA_VISIBLE_DEVICES' not in open(os.path.join(ROOT_DIR, 'main', 'config.py')).read()


def parse_cli(argv):
    import argparse
    return add_common_args(argparse.ArgumentParser()).parse_args(argv)


def test_cfg_given_twice_merges_groups_later_wins():
    args = parse_cli(['--cfg', 'resnet_type=18', 'depth_dim=8', '--gpu', '',
                      '--cfg', 'pretrained_backbone=False', 'depth_dim=16'])
    assert args.cfg == ['resnet_type=18', 'depth_dim=8', 'pretrained_backbone=False', 'depth_dim=16']
    c = Config.from_args(args)
    assert c.resnet_type == 18 and c.pretrained_backbone is False and c.depth_dim == 16
    parse_cli(['--cfg', 'lr=1'])
    assert parse_cli([]).cfg == []  # the default list is not extended in place


@pytest.mark.parametrize('item,match', [
    ('input_shape=(63, 63)', r'input_shape \(63, 63\): 63 is not a multiple of 32; the network.s '
                             r'heatmap side would be 8 \* ceil\(63 / 32\) = 16, not 63 / 4.*'
                             r'Nearest valid sizes: 32 or 64'),
    ('input_shape=(128, 100)', r'100 is not a multiple of 32.* = 32, not 100 / 4.*96 or 128'),
    ('input_shape=(20, 64)', r'20 is not a multiple of 32.*Nearest valid sizes: 32$'),
])
def test_input_shape_must_be_multiple_of_32(item, match):
    c = Config()
    with pytest.raises(ConfigError, match=match):
        c.with_overrides(['resnet_type=18', item])
    assert c.resnet_type == 50 and c.input_shape == (256, 256)  # nothing applied
    assert c.given == set()


def test_given_output_shape_must_be_input_over_4():
    with pytest.raises(ConfigError, match=r"output_shape \(32, 32\) does not fit input_shape "
                                          r"\(64, 64\).*input_shape / 4 = \(16, 16\)"):
        Config().with_overrides(['input_shape=(64, 64)', 'output_shape=(32, 32)'])
    c = Config().with_overrides(['output_shape=(64, 64)'])
    assert c.output_shape == (64, 64) and 'output_shape' in c.given


def test_check_shapes_agrees_with_the_network():
    import torch
    from common.nets.posenet import HeadNet
    from common.nets.resnet import ResNetBackbone
    backbone, head = ResNetBackbone(18).eval(), HeadNet(1, 1, 512, deconv_channels=8).eval()
    for side in (32, 48, 63, 96):
        with torch.no_grad():
            heat = head(backbone(torch.zeros(1, 3, side, 32)))
        c = Config(input_shape=(side, 32))
        fits = heat.shape[-2:] == c.output_shape
        try:
            c.check_shapes()
            accepted = True
        except ConfigError:
            accepted = False
        assert fits == accepted == (side % 32 == 0), side


@pytest.mark.parametrize('item,match', [
    ('batch_size=0', "'batch_size' must be an integer >= 1, got 0"),
    ('test_batch_size=-2', "'test_batch_size' must be an integer >= 1, got -2"),
    ('batch_size=2.5', "'batch_size' must be an integer >= 1, got 2.5"),
    ('num_thread=-1', "'num_thread' must be an integer >= 0 .0 = load in the main process., got -1"),
    ('depth_dim=0', "'depth_dim' must be an integer >= 1, got 0"),
    ('input_shape=(64, 64, 3)', r"'input_shape' must be two positive integers .height, width., "
                                r"got \(64, 64, 3\)"),
    ('input_shape=(64, -64)', "'input_shape' must be two positive integers"),
    ('input_shape=(64.0, 64)', "'input_shape' must be two positive integers"),
    ('output_shape=(16, 0)', "'output_shape' must be two positive integers"),
    ('bbox_3d_shape=(2000, 2000)', r"'bbox_3d_shape' must be three positive numbers"),
    ('bbox_3d_shape=(2000, 0, 2000)', r"'bbox_3d_shape' must be three positive numbers"),
    ('lr=0', "'lr' must be a number > 0, got 0"),
    ('lr=-0.001', "'lr' must be a number > 0, got -0.001"),
    ('lr=nan', "'lr' must be a number > 0, got 'nan'"),
    ('lr_dec_factor=0', "'lr_dec_factor' must be a number > 0, got 0"),
    ('end_epoch=0', "'end_epoch' must be an integer >= 1, got 0"),
    ('lr_dec_epoch=[17, -1]', r"'lr_dec_epoch' must be a list of integers >= 0.*got \[17, -1\]"),
    ('lr_dec_epoch=17', r"'lr_dec_epoch' must be a list of integers >= 0"),
    ('resnet_type=20', "'resnet_type' must be one of 18, 34, 50, 101, 152, got 20"),
    ('amp=fp8', "'amp' must be one of 'none', 'bf16', 'fp16', got 'fp8'"),
    ('pixel_std=(0.2, 0, 0.2)', "'pixel_std' must be three positive numbers"),
    ('pixel_mean=(0.5, 0.5)', "'pixel_mean' must be three numbers"),
    ('testset=3', "'testset' must be a dataset name.*got 3"),
    ('testset=', "'testset' must be a dataset name.*got ''"),
    ('trainset_3d=[1]', r"'trainset_3d' must be a list of dataset names.*got \[1\]"),
    ('trainset_2d=5', "'trainset_2d' must be a list of dataset names"),
])
def test_range_errors_name_field_value_and_range(item, match):
    c = Config()
    with pytest.raises(ConfigError, match=match):
        c.with_overrides(['depth_dim=8', item])
    assert c.depth_dim == 64  # all or nothing


def test_valid_values_at_the_range_edges():
    c = Config().with_overrides(['batch_size=1', 'num_thread=0', 'depth_dim=1', 'end_epoch=1',
                                 'lr_dec_epoch=[]', 'lr_dec_factor=0.5', 'amp=bf16',
                                 'bbox_3d_shape=(1500.5, 2000, 2000)', 'pixel_std=[1, 1, 1]',
                                 'trainset_2d=MSCOCO', "trainset_3d=('MuCo',)", 'lr=1'])
    assert (c.batch_size, c.num_thread, c.depth_dim, c.end_epoch) == (1, 0, 1, 1)
    assert c.lr_dec_epoch == [] and c.lr_dec_factor == 0.5 and c.amp == 'bf16'
    assert c.bbox_3d_shape == (1500.5, 2000, 2000) and c.pixel_std == (1, 1, 1)
    assert c.trainset_2d == ['MSCOCO'] and c.trainset_3d == ['MuCo']
    assert c.lr == 1.0 and isinstance(c.lr, float)


def test_check_resume():
    check_resume(3, 25)
    check_resume(25, 25)  # the run is complete: nothing left, but not an error
    with pytest.raises(ConfigError, match=r'end_epoch=20 is before the resume epoch 25 \(the newest '
                                          r'snapshot is epoch 24\); raise end_epoch, e.g. '
                                          r'--cfg end_epoch=26'):
        check_resume(25, 20)


def test_given_tracks_explicit_fields_only():
    c = Config()
    assert c.given == set() and 'given' not in c.fields() and 'given' not in repr(c)
    c = c.with_overrides(['resnet_type=18', 'input_shape=(128, 128)']).replace(lr=0.01)
    assert c.given == {'resnet_type', 'input_shape', 'lr'}
    assert 'output_shape' not in c.given  # derived, not given
    with pytest.raises(ConfigError, match="unknown config key 'given'"):
        c.replace(given={'lr'})


def test_model_settings_round_trip():
    c = Config().with_overrides(['resnet_type=18', 'input_shape=(128, 96)', 'depth_dim=16'])
    s = c.model_settings()
    assert s == {'resnet_type': 18, 'input_shape': [128, 96], 'output_shape': [32, 24],
                 'depth_dim': 16, 'bbox_3d_shape': [2000, 2000, 2000],
                 'pixel_mean': [0.485, 0.456, 0.406], 'pixel_std': [0.229, 0.224, 0.225]}
    assert tuple(s) == MODEL_FIELDS
    d = Config().with_model_settings(s, 'snap.pth.tar')
    assert d.model_settings() == s
    assert d.input_shape == (128, 96) and d.output_shape == (32, 24) and d.resnet_type == 18
    assert d.given == set()


def test_with_model_settings_keeps_missing_fields_and_equal_given_values():
    c = Config().with_overrides(['resnet_type=18', 'depth_dim=32'])
    c = c.with_model_settings({'resnet_type': 18, 'input_shape': [64, 64]}, 'old.pth.tar')
    assert c.resnet_type == 18 and c.input_shape == (64, 64) and c.output_shape == (16, 16)
    assert c.depth_dim == 32  # not in the settings: kept


def test_with_model_settings_refuses_conflict_with_given_value():
    c = Config().with_overrides(['resnet_type=18'])
    with pytest.raises(ConfigError, match=r"config key 'resnet_type' was given as 18 but the model "
                                          r"in /o/snapshot_24.pth.tar has resnet_type=50"):
        c.with_model_settings({'depth_dim': 16, 'resnet_type': 50}, '/o/snapshot_24.pth.tar')
    assert c.resnet_type == 18 and c.depth_dim == 64  # nothing applied
    c = c.with_overrides(['input_shape=(128, 128)'])
    with pytest.raises(ConfigError, match=r"'input_shape' was given as \(128, 128\).*"
                                          r"has input_shape=\(256, 256\)"):
        c.with_model_settings({'input_shape': [256, 256]}, 's.pth')


@pytest.mark.parametrize('settings,match', [
    ({'depth_dim': 0}, r"s.pth: bad model setting: config key 'depth_dim' must be an integer >= 1"),
    ({'input_shape': [100, 100]}, r"s.pth: bad model setting: input_shape \(100, 100\): 100 is "
                                  r"not a multiple of 32"),
    ({'input_shape': [64, 64], 'output_shape': [32, 32]}, r"s.pth: bad model setting: output_shape"),
])
def test_with_model_settings_refuses_bad_values(settings, match):
    c = Config()
    with pytest.raises(ConfigError, match=match):
        c.with_model_settings(settings, 's.pth')
    assert c.input_shape == (256, 256) and c.depth_dim == 64


def test_a_config_is_a_value_every_change_returns_a_new_one():
    import copy
    c = Config(resnet_type=18)
    before = copy.deepcopy(c.fields()), c.given
    changed = [c.replace(depth_dim=8), c.with_overrides(['input_shape=(128, 96)']),
               c.with_model_settings({'input_shape': [64, 64], 'depth_dim': 16}, 's.pth'),
               c.with_devices('0', continue_train=True, num_visible=1)]
    assert (c.fields(), c.given) == before
    assert [n.depth_dim for n in changed] == [8, 64, 16, 64]
    assert changed[1].output_shape == (32, 24) and changed[2].output_shape == (16, 16)
    assert changed[3].gpu_ids == [0] and changed[3].continue_train
    assert all(n is not c for n in changed)
    assert c.with_model_settings(None, 'official.pth.tar') is c     # no settings: as it is


@pytest.mark.parametrize('change', [lambda c: setattr(c, 'lr', 0.5),
                                    lambda c: setattr(c, 'new_field', 1),
                                    lambda c: delattr(c, 'lr')])
def test_setting_a_field_in_place_is_refused(change):
    c = Config()
    with pytest.raises(AttributeError, match=r"a Config is not changed in place .* use "
                                             r"cfg\.replace\("):
        change(c)
    assert c.lr == 1e-3 and not hasattr(c, 'new_field')


def test_from_args_builds_from_the_defaults_each_time():
    first = Config.from_args(parse_cli(['--cfg', 'resnet_type=18', 'testset=MuPoTS',
                                        '--gpu', '']))
    second = Config.from_args(parse_cli([]))
    assert (first.resnet_type, first.testset, first.given) == (18, 'MuPoTS',
                                                              {'resnet_type', 'testset'})
    assert (second.resnet_type, second.testset, second.given) == (50, 'Human36M', set())
    with pytest.raises(PoseNetError, match="config key 'testset': 'Nowhere' is not one of"):
        Config.from_args(parse_cli(['--cfg', 'testset=Nowhere']))
