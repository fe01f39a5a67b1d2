import pytest
import torch

from common.nets.posenet import get_pose_net
from common.utils.errors import PoseNetError
from common.utils.snapshot import (find_snapshot_epochs, load_network, load_snapshot,
                                   save_snapshot, snapshot_path)
from main.config import Config


def small_net(seed):
    torch.manual_seed(seed)
    cfg = Config().update(resnet_type=18, pretrained_backbone=False, depth_dim=4)
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
    cfg = Config().update(resnet_type=18, pretrained_backbone=False, depth_dim=8)
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
