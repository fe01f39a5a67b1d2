import itertools

import numpy as np
import pytest
import torch

from common.nets.posenet import HeadNet, ResPoseNet, coord_loss, get_pose_net, soft_argmax
from common.nets.resnet import ResNetBackbone
from common.utils.errors import PoseNetError
from main.config import Config


def brute_force_expectation(heatmaps, joint_num):
    """Expected voxel index per joint, computed voxel by voxel from the softmax volume."""
    hm = heatmaps.numpy().astype(np.float64)
    batch, _, height, width = hm.shape
    depth = hm.shape[1] // joint_num
    out = np.zeros((batch, joint_num, 3))
    for b in range(batch):
        for j in range(joint_num):
            vol = hm[b, j * depth:(j + 1) * depth]
            p = np.exp(vol - vol.max())
            p /= p.sum()
            for z, y, x in itertools.product(range(depth), range(height), range(width)):
                out[b, j] += p[z, y, x] * np.array([x, y, z])
    return out


@pytest.mark.parametrize('batch,joint_num,depth,height,width',
                         [(1, 1, 3, 4, 5), (2, 3, 4, 6, 2), (3, 2, 1, 3, 7)])
def test_soft_argmax_equals_brute_force(batch, joint_num, depth, height, width):
    gen = torch.Generator().manual_seed(batch * 100 + depth)
    heatmaps = torch.randn(batch, joint_num * depth, height, width, generator=gen,
                           dtype=torch.float64) * 2
    got = soft_argmax(heatmaps, joint_num).numpy()
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, brute_force_expectation(heatmaps, joint_num), atol=1e-10)


def test_soft_argmax_recovers_peak_of_sharp_heatmap():
    joint_num, depth, height, width = 3, 8, 10, 12
    heatmaps = torch.zeros(1, joint_num * depth, height, width)
    peaks = [(3, 7, 2), (0, 0, 0), (11, 9, 7)]  # (x, y, z)
    for j, (x, y, z) in enumerate(peaks):
        heatmaps[0, j * depth + z, y, x] = 100.
    got = soft_argmax(heatmaps, joint_num)[0]
    np.testing.assert_allclose(got.numpy(), np.array(peaks, dtype=np.float32), atol=1e-4)


def test_soft_argmax_uniform_heatmap_gives_centre():
    got = soft_argmax(torch.zeros(2, 4 * 5, 6, 8), 4)
    np.testing.assert_allclose(got.numpy(), np.broadcast_to([3.5, 2.5, 2.0], (2, 4, 3)),
                               atol=1e-5)


def test_loss_matches_hand_computation():
    coord = torch.tensor([[[1., 2., 3.], [4., 5., 6.]],
                          [[0., 0., 0.], [2., 2., 2.]]])
    target = torch.tensor([[[2., 0., 7.], [4., 5., 0.]],
                           [[3., 1., 1.], [2., 4., 8.]]])
    vis = torch.tensor([[[1.], [0.]], [[1.], [1.]]])
    have_depth = torch.tensor([[1.], [0.]])
    loss = coord_loss(coord, target, vis, have_depth)
    # sample 0: joint 0 (|1|+|2|+|4|)/3, joint 1 invisible; sample 1 has no depth: z ignored
    expected = torch.tensor([[7. / 3, 0.], [(3 + 1) / 3, (0 + 2) / 3]])
    torch.testing.assert_close(loss, expected)


def test_forward_with_target_returns_per_joint_loss():
    cfg = Config(resnet_type=18, pretrained_backbone=False, input_shape=(64, 64),
                 depth_dim=8)
    torch.manual_seed(0)
    model = get_pose_net(cfg, True, joint_num=5).eval()
    img = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        coord = model(img)
        target = {'coord': coord + 1.5, 'vis': torch.ones(2, 5, 1),
                  'have_depth': torch.tensor([[1.], [0.]])}
        loss = model(img, target)
    torch.testing.assert_close(loss, torch.tensor([[1.5] * 5, [1.0] * 5]))


@pytest.mark.parametrize('resnet_type,channels', [(18, 512), (34, 512), (50, 2048),
                                                  (101, 2048), (152, 2048)])
def test_output_shapes_every_depth_non_square(resnet_type, channels):
    cfg = Config(resnet_type=resnet_type, pretrained_backbone=False,
                 input_shape=(64, 32), depth_dim=4)
    model = get_pose_net(cfg, True, joint_num=3).eval()
    assert model.backbone.out_channels == channels
    assert model.head.deconv_layers[0].in_channels == channels
    img = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        feat = model.backbone(img)
        heat = model.head(feat)
        coord = model(img)
    assert feat.shape == (1, channels, 2, 1)
    assert heat.shape == (1, 3 * 4, 16, 8)  # output_shape = input_shape // 4
    assert coord.shape == (1, 3, 3)
    assert (coord[..., 0] <= 7).all() and (coord[..., 1] <= 15).all() and (coord[..., 2] <= 3).all()


def test_state_dict_keys_are_the_original_release_names():
    cfg = Config(resnet_type=50, pretrained_backbone=False)
    keys = set(get_pose_net(cfg, False, joint_num=18).state_dict())
    for k in ['backbone.conv1.weight', 'backbone.bn1.running_mean',
              'backbone.layer1.0.downsample.0.weight', 'backbone.layer4.2.conv3.weight',
              'head.deconv_layers.0.weight', 'head.deconv_layers.1.weight',
              'head.deconv_layers.3.weight', 'head.deconv_layers.7.running_var',
              'head.final_layer.weight', 'head.final_layer.bias']:
        assert k in keys, k
    assert get_pose_net(cfg, False, 18).head.final_layer.out_channels == 18 * 64
    assert not any(k.startswith('backbone.fc') for k in keys)


def test_backbone_loads_torchvision_state_dict_without_fc():
    import torchvision
    tv = torchvision.models.resnet18(weights=None)
    state = {k: v for k, v in tv.state_dict().items() if not k.startswith('fc.')}
    backbone = ResNetBackbone(18)
    backbone.load_state_dict(state)  # strict: names and shapes are torchvision's
    torch.testing.assert_close(backbone.layer3[1].conv2.weight, tv.layer3[1].conv2.weight)


def test_init_weights_distribution():
    torch.manual_seed(0)
    head = HeadNet(joint_num=2, depth_dim=4, in_channels=512)
    head.init_weights()
    w = head.deconv_layers[0].weight
    assert abs(w.std().item() - 0.001) < 1e-4
    assert torch.all(head.final_layer.bias == 0)
    assert torch.all(head.deconv_layers[1].weight == 1) and torch.all(head.deconv_layers[1].bias == 0)
    backbone = ResNetBackbone(18)
    assert abs(backbone.conv1.weight.std().item() - 0.001) < 2e-4


def test_imagenet_weights_offline_error_says_where_to_put_file(monkeypatch, tmp_path):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    import torchvision.models as tvm

    def no_network(self, *args, **kwargs):
        raise OSError('Temporary failure in name resolution')

    monkeypatch.setattr(tvm.WeightsEnum, 'get_state_dict', no_network)
    with pytest.raises(PoseNetError) as e:
        ResNetBackbone(18).init_weights()
    msg = str(e.value)
    assert 'resnet18-f37072fd.pth' in msg
    assert str(tmp_path / 'hub' / 'checkpoints') in msg
    assert 'pretrained_backbone=False' in msg
    assert msg.startswith('ImageNet weights of ResNet-18: could not download '
                          'https://download.pytorch.org/models/resnet18-f37072fd.pth (OSError: ')
    assert 'damaged' not in msg


def test_damaged_cached_imagenet_weights_say_delete_or_replace(monkeypatch, tmp_path):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    path = tmp_path / 'hub' / 'checkpoints' / 'resnet18-f37072fd.pth'
    path.parent.mkdir(parents=True)
    path.write_bytes(b'<html>proxy error page, not a checkpoint</html>' * 20)
    with pytest.raises(PoseNetError) as e:
        ResNetBackbone(18).init_weights()
    msg = str(e.value)
    assert msg.startswith(f'ImageNet weights of ResNet-18: file {path} is damaged (')
    assert msg.endswith('delete it or replace it with a fresh copy of '
                        'https://download.pytorch.org/models/resnet18-f37072fd.pth')
    assert 'could not download' not in msg
    assert path.read_bytes().startswith(b'<html>')  # the file is left for the user to decide


def test_load_torchvision_weights_from_cache(monkeypatch, tmp_path):
    import torchvision
    from common.nets.weights import load_torchvision_state_dict
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    tv = torchvision.models.resnet18(weights=None)
    (tmp_path / 'hub' / 'checkpoints').mkdir(parents=True)
    torch.save(tv.state_dict(), tmp_path / 'hub' / 'checkpoints' / 'resnet18-f37072fd.pth')
    state = load_torchvision_state_dict(torchvision.models.ResNet18_Weights.IMAGENET1K_V1,
                                        'weights')
    torch.testing.assert_close(state['layer2.0.conv1.weight'], tv.layer2[0].conv1.weight)
    backbone = ResNetBackbone(18)
    backbone.init_weights()
    torch.testing.assert_close(backbone.layer4[1].conv2.weight, tv.layer4[1].conv2.weight)


def test_damaged_local_weights_file_is_a_clear_error(tmp_path):
    path = tmp_path / 'resnet18.pth'
    path.write_bytes(b'garbage')
    with pytest.raises(PoseNetError, match=f'ImageNet weights of ResNet-18: file {path} is '
                                           'damaged'):
        ResNetBackbone(18).init_weights(weights_file=str(path))


def test_imagenet_weights_from_local_file(tmp_path):
    import torchvision
    tv = torchvision.models.resnet18(weights=None)
    path = tmp_path / 'resnet18.pth'
    torch.save(tv.state_dict(), path)
    backbone = ResNetBackbone(18)
    backbone.init_weights(weights_file=str(path))
    torch.testing.assert_close(backbone.conv1.weight, tv.conv1.weight)


def test_unknown_resnet_depth_is_clear_error():
    with pytest.raises(PoseNetError, match='resnet_type 42'):
        ResNetBackbone(42)


def test_runs_on_meta_device_dtype_preserved():
    # device-agnostic: no hard-coded .cuda() or CPU tensors inside soft_argmax
    hm = torch.randn(1, 2 * 3, 4, 4, device='meta')
    assert soft_argmax(hm, 2).device.type == 'meta'
    assert soft_argmax(torch.randn(1, 6, 4, 4, dtype=torch.bfloat16), 2).dtype == torch.float32


def test_respose_net_submodule_names():
    net = ResPoseNet(ResNetBackbone(18), HeadNet(2, 4, 512), 2)
    assert set(dict(net.named_children())) == {'backbone', 'head'}
