import types

import pytest
import torch

from common.nets.posenet import get_pose_net
from common.utils.errors import PoseNetError
from main.checkpoint import (ModelSettings, find_snapshot_epochs, load_model, load_network,
                             load_snapshot, read_checkpoint, save_snapshot, settings_for,
                             snapshot_path)
from main.config import Config


def small_net(seed):
    torch.manual_seed(seed)
    cfg = Config(resnet_type=18, pretrained_backbone=False, depth_dim=4)
    net = get_pose_net(cfg, True, joint_num=3)
    # give BN running stats non-default values so the round trip checks buffers too
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_()
    return net


def test_original_style_module_keys_load_into_bare_model_and_back(tmp_path):
    src = small_net(0)
    original = {'epoch': 24, 'network': {'module.' + k: v for k, v in src.state_dict().items()},
                'optimizer': {}}
    path = tmp_path / 'snapshot_24.pth.tar'
    torch.save(original, path)

    dst = small_net(1)
    load_network(dst, load_snapshot(str(path))['network'])
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k

    # save writes the module.-prefixed form and reloads identically, also into DataParallel
    out = snapshot_path(str(tmp_path / 'dump'), 3)
    opt = torch.optim.Adam(dst.parameters(), lr=1e-3)
    dst(torch.randn(1, 3, 64, 64)).sum().backward()
    opt.step()
    save_snapshot(out, 3, torch.nn.DataParallel(dst), opt)
    ckpt = torch.load(out, weights_only=True)
    assert ckpt['epoch'] == 3
    assert all(k.startswith('module.') for k in ckpt['network'])
    assert not any(k.startswith('module.module.') for k in ckpt['network'])
    assert set(ckpt['optimizer']) == {'state', 'param_groups'}
    again = torch.nn.DataParallel(small_net(2))
    load_network(again, ckpt['network'])
    for k, v in dst.state_dict().items():
        assert torch.equal(again.module.state_dict()[k], v), k
    opt2 = torch.optim.Adam(again.parameters(), lr=1e-3)
    opt2.load_state_dict(ckpt['optimizer'])
    assert opt2.state_dict()['state'][0]['step'] == 1


def test_missing_and_corrupt_snapshot_errors_name_the_path(tmp_path):
    missing = tmp_path / 'snapshot_7.pth.tar'
    with pytest.raises(PoseNetError, match='snapshot not found: .*snapshot_7.pth.tar'):
        load_snapshot(str(missing))
    corrupt = tmp_path / 'snapshot_8.pth.tar'
    corrupt.write_bytes(b'not a zip file at all' * 10)
    with pytest.raises(PoseNetError, match='snapshot_8.pth.tar could not be read'):
        load_snapshot(str(corrupt))
    torch.save({'epoch': 1}, tmp_path / 'snapshot_9.pth.tar')
    with pytest.raises(PoseNetError, match="no 'network'"):
        load_snapshot(str(tmp_path / 'snapshot_9.pth.tar'))


def test_snapshot_of_other_model_is_clear_error(tmp_path):
    net = small_net(0)
    cfg = Config(resnet_type=18, pretrained_backbone=False, depth_dim=8)
    other = get_pose_net(cfg, False, joint_num=3)
    with pytest.raises(PoseNetError, match='does not fit this model'):
        load_network(other, net.state_dict())


def test_find_snapshot_epochs(tmp_path):
    for e in (1, 10, 2):
        (tmp_path / f'snapshot_{e}.pth.tar').write_bytes(b'')
    (tmp_path / 'snapshot_x.pth.tar').write_bytes(b'')
    assert find_snapshot_epochs(str(tmp_path)) == [1, 2, 10]
    assert find_snapshot_epochs(str(tmp_path / 'none')) == []


def test_no_partial_file_when_save_fails(tmp_path):
    class Broken(torch.nn.Module):
        def state_dict(self, *a, **k):
            raise RuntimeError('boom')
    with pytest.raises(RuntimeError):
        save_snapshot(str(tmp_path / 'snapshot_1.pth.tar'), 1, Broken())
    assert list(tmp_path.iterdir()) == []


# -- main.checkpoint: what a model file holds, read once ------------------------------------------
POSE_DICT = {'resnet_type': 18, 'input_shape': [64, 64], 'output_shape': [16, 16], 'depth_dim': 4,
             'bbox_3d_shape': [2000, 2000, 2000], 'pixel_mean': [0.485, 0.456, 0.406],
             'pixel_std': [0.229, 0.224, 0.225], 'network': 'PoseNet',
             'joints_name': ['Pelvis', 'L_Hip', 'R_Hip'], 'flip_pairs': [[1, 2]],
             'skeleton': [[0, 1], [0, 2]]}


def test_model_settings_dict_round_trip_is_exact():
    settings = ModelSettings.from_dict(POSE_DICT, 's.pth.tar')
    assert settings.joints_name == ('Pelvis', 'L_Hip', 'R_Hip') and settings.joint_num == 3
    assert settings.flip_pairs == ((1, 2),) and settings.input_shape == (64, 64)
    again = settings.to_dict()
    assert again == POSE_DICT and list(again) == list(POSE_DICT)   # same keys, same order
    assert isinstance(again['input_shape'], list) and isinstance(again['flip_pairs'][0], list)
    cfg = Config(resnet_type=18, input_shape=(64, 64), depth_dim=4)
    joints = types.SimpleNamespace(joints_name=('Pelvis', 'L_Hip', 'R_Hip'),
                                   flip_pairs=((1, 2),), skeleton=((0, 1), (0, 2)))
    assert ModelSettings.from_config(cfg, 'PoseNet', joints) == settings
    # RootNet: the geometry and the network, no joint set (the keys of the previous version)
    root = ModelSettings.from_config(cfg, 'RootNet').to_dict()
    assert list(root) == list(POSE_DICT)[:8] and root['network'] == 'RootNet'
    with pytest.raises(PoseNetError, match="s.pth.tar: model_settings name the network 'Pose'"):
        ModelSettings.from_dict(dict(POSE_DICT, network='Pose'), 's.pth.tar')


def test_official_snapshot_without_settings_round_trips_and_still_loads(tmp_path):
    src = small_net(0)
    path = str(tmp_path / 'snapshot_24.pth.tar')
    torch.save({'epoch': 24, 'network': {'module.' + k: v for k, v in src.state_dict().items()},
                'optimizer': {}}, path)                 # the original release's file
    ckpt = read_checkpoint(path, 'PoseNet')
    assert (ckpt.network, ckpt.epoch, ckpt.settings, ckpt.run_settings) == ('PoseNet', 24, None,
                                                                            None)
    assert ckpt.onnx is None and ckpt.optimizer_state == {}
    assert read_checkpoint(path).network == 'PoseNet'    # told by its keys
    cfg = Config(resnet_type=18, depth_dim=4)
    assert cfg.with_model_settings(ckpt.settings, path) is cfg      # the config's settings
    joints = types.SimpleNamespace(joints_name=('a', 'b', 'c'), flip_pairs=(), skeleton=())
    settings = settings_for(ckpt, cfg, joints)
    assert settings.joints_name == ('a', 'b', 'c') and settings.depth_dim == 4
    model = load_model(ckpt, settings)
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    with pytest.raises(PoseNetError, match='stores no joint set'):
        settings_for(ckpt, cfg)


def test_our_snapshot_round_trips_and_the_original_code_reads_it(tmp_path):
    src = small_net(0)
    settings = ModelSettings.from_dict(POSE_DICT, 'x')
    path = str(tmp_path / 'snapshot_2.pth.tar')
    save_snapshot(path, 2, src, None, settings, run_settings={'lr_dec_epoch': (17, 21)})
    raw = torch.load(path, weights_only=True)       # what the original code (and torch) reads
    assert raw['model_settings'] == POSE_DICT and raw['run_settings'] == {'lr_dec_epoch': [17, 21]}
    assert set(raw) == {'epoch', 'network', 'optimizer', 'model_settings', 'run_settings'}
    ckpt = read_checkpoint(path, 'PoseNet')
    assert ckpt.settings == settings and ckpt.epoch == 2
    assert ckpt.run_settings == {'lr_dec_epoch': [17, 21]}
    cfg = Config().with_model_settings(ckpt.settings, path)
    assert (cfg.resnet_type, cfg.input_shape, cfg.depth_dim) == (18, (64, 64), 4)
    assert settings_for(ckpt, cfg) == settings
    with pytest.raises(PoseNetError, match=r"snapshot_2.pth.tar is a PoseNet snapshot, not a "
                                           r"RootNet one"):
        read_checkpoint(path, 'RootNet')
    # a snapshot of the previous version: the same dict, read the same way
    old = str(tmp_path / 'old.pth.tar')
    torch.save(dict(raw, model_settings=dict(POSE_DICT)), old)
    assert read_checkpoint(old, 'PoseNet').settings == settings
