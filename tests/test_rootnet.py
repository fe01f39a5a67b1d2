"""RootNet (docs/SPEC.md §13): state-dict layout, forward and loss with hand-set weights, the
camera-distance factor k and the mapping of outputs back to the camera."""
import numpy as np
import pytest
import torch
import torchvision

from common.nets.resnet import ResNetBackbone
from common.nets.rootnet import RootHead, RootNet, get_root_net, root_loss
from common.utils.errors import PoseNetError
from common.utils.pose_utils import k_value, root_output_to_cam
from main.checkpoint import load_network, load_snapshot, save_snapshot
from main.config import Config


def small_cfg(**kw):
    args = dict(resnet_type=18, pretrained_backbone=False, input_shape=(64, 64))
    args.update(kw)
    return Config(**args)


def net_with_fixed_head(input_shape, depth_bias, seed=0):
    """ResNet-18 RootNet in eval mode whose xy heatmap is flat and whose gamma is `depth_bias`."""
    torch.manual_seed(seed)
    net = get_root_net(small_cfg(input_shape=input_shape), True).eval()
    with torch.no_grad():
        net.root.xy_layer.weight.zero_()
        net.root.xy_layer.bias.fill_(3.0)  # a constant map: every cell equally likely
        net.root.depth_layer.weight.zero_()
        net.root.depth_layer.bias.fill_(depth_bias)
    return net


# -- state dict: the official snapshot's layout -----------------------------------------------
def original_layout_shapes():
    """Key -> shape of the original release's ResNet-50 RootNet, written out by hand for the head
    and taken from torchvision's ResNet-50 (minus `fc`) for the backbone."""
    shapes = {'backbone.' + k: tuple(v.shape)
              for k, v in torchvision.models.resnet50(weights=None).state_dict().items()
              if not k.startswith('fc.')}
    for deconv, bn, cin in ((0, 1, 2048), (3, 4, 256), (6, 7, 256)):
        shapes[f'root.deconv_layers.{deconv}.weight'] = (cin, 256, 4, 4)
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'root.deconv_layers.{bn}.{name}'] = (256,)
        shapes[f'root.deconv_layers.{bn}.num_batches_tracked'] = ()
    shapes['root.xy_layer.weight'] = (1, 256, 1, 1)
    shapes['root.xy_layer.bias'] = (1,)
    shapes['root.depth_layer.weight'] = (1, 2048, 1, 1)
    shapes['root.depth_layer.bias'] = (1,)
    return shapes


def test_state_dict_is_the_official_snapshot_layout_and_loads_it(tmp_path):
    net = get_root_net(small_cfg(resnet_type=50), False)
    got = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert got == original_layout_shapes()

    # an original-style snapshot: DataParallel keys `module.*`, loaded unchanged
    gen = torch.Generator().manual_seed(1)
    network = {'module.' + k: torch.randn(s, generator=gen) if s else torch.tensor(7)
               for k, s in original_layout_shapes().items()}
    path = tmp_path / 'snapshot_18.pth.tar'
    torch.save({'epoch': 18, 'network': network, 'optimizer': {}}, path)
    load_network(net, load_snapshot(str(path))['network'])
    assert torch.equal(net.root.depth_layer.weight, network['module.root.depth_layer.weight'])
    assert torch.equal(net.backbone.layer4[2].conv3.weight,
                       network['module.backbone.layer4.2.conv3.weight'])


def test_save_snapshot_round_trip_with_module_prefix(tmp_path):
    torch.manual_seed(0)
    net = get_root_net(small_cfg(), True).eval()
    path = save_snapshot(str(tmp_path / 'snapshot_3.pth.tar'), 3, net)
    saved = torch.load(path, weights_only=True)['network']
    assert set(saved) == {'module.' + k for k in net.state_dict()}
    assert {k.split('.')[1] for k in saved} == {'backbone', 'root'}
    assert {'.'.join(k.split('.')[1:3]) for k in saved if k.startswith('module.root.')} == {
        'root.deconv_layers', 'root.xy_layer', 'root.depth_layer'}

    torch.manual_seed(1)
    other = get_root_net(small_cfg(), True).eval()
    load_network(other, load_snapshot(path)['network'])
    img, k = torch.randn(2, 3, 64, 64), torch.tensor([1000., 3000.])
    with torch.no_grad():
        torch.testing.assert_close(other(img, k), net(img, k), rtol=0, atol=0)


@pytest.mark.parametrize('resnet_type,channels', [(18, 512), (50, 2048)])
def test_head_channels_follow_the_backbone(resnet_type, channels):
    net = get_root_net(small_cfg(resnet_type=resnet_type), False)
    assert net.root.deconv_layers[0].in_channels == channels
    assert net.root.depth_layer.in_channels == channels
    assert net.root.xy_layer.in_channels == 256 and net.root.xy_layer.out_channels == 1


# -- forward with hand-set weights ------------------------------------------------------------
def test_output_shape_resnet18_small_input():
    torch.manual_seed(0)
    net = get_root_net(small_cfg(), True).eval()
    with torch.no_grad():
        out = net(torch.randn(3, 3, 64, 64), torch.full((3, 1), 2000.))
    assert out.shape == (3, 3) and out.dtype == torch.float32
    # soft-argmax stays inside the 16x16 output map
    assert ((out[:, :2] >= 0) & (out[:, :2] <= 15)).all()


def test_flat_heatmap_gives_the_output_centre():
    net = net_with_fixed_head((64, 32), depth_bias=0.)  # output 16 rows x 8 columns
    with torch.no_grad():
        out = net(torch.randn(2, 3, 64, 32), torch.ones(2))
    # x = (W_out - 1) / 2, y = (H_out - 1) / 2
    torch.testing.assert_close(out[:, :2], torch.tensor([[3.5, 7.5], [3.5, 7.5]]))


@pytest.mark.parametrize('k', [torch.tensor([1000., 12000.]), torch.tensor([[1000.], [12000.]]),
                               np.array([1000., 12000.])])
def test_depth_is_gamma_times_k_exactly(k):
    net = net_with_fixed_head((64, 64), depth_bias=0.75)
    with torch.no_grad():
        out = net(torch.randn(2, 3, 64, 64), k)
    assert torch.equal(out[:, 2], torch.tensor([750., 9000.]))


def test_forward_with_target_is_the_per_sample_loss():
    net = net_with_fixed_head((64, 32), depth_bias=0.5)  # prediction (3.5, 7.5, 0.5 * k)
    k = torch.tensor([2000., 4000., 6000.])              # depth 1000, 2000, 3000 mm
    target = {'coord': torch.tensor([[1.5, 7.5, 1300.], [3.5, 10.5, 0.], [0., 0., 0.]]),
              'vis': torch.tensor([[1.], [1.], [0.]]),
              'have_depth': torch.tensor([[1.], [0.], [1.]])}
    with torch.no_grad():
        loss = net(torch.randn(3, 3, 64, 32), k, target)
    # sample 0: (2 + 0 + 300) / 3; sample 1 has no depth: (0 + 3) / 3; sample 2 invisible: 0
    assert loss.shape == (3,)
    torch.testing.assert_close(loss, torch.tensor([302. / 3, 1., 0.]))


def test_root_loss_by_hand():
    coord = torch.tensor([[10., 20., 5000.], [1., 1., 100.]])
    target = torch.tensor([[13., 16., 4000.], [2., 3., 400.]])
    loss = root_loss(coord, target, torch.tensor([[1.], [0.5]]), torch.tensor([[0.], [1.]]))
    # (3 + 4 + 1000*0)/3 and (1*0.5 + 2*0.5 + 300*0.5)/3
    torch.testing.assert_close(loss, torch.tensor([7. / 3, 151.5 / 3]))


def test_runs_on_any_device_with_k_from_the_cpu():
    # no hard-coded device: a CPU (or numpy) k follows the feature map's device
    head = RootHead(in_channels=512).to('meta').eval()
    out = head(torch.randn(2, 512, 2, 2, device='meta'), np.array([1000., 2000.]))
    assert out.shape == (2, 3) and out.device.type == 'meta'
    # bfloat16 autocast still gives a float32 depth (no 8-bit mantissa millimetres)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = RootHead(in_channels=512).eval()(torch.randn(2, 512, 2, 2), torch.tensor([1., 2.]))
    assert out.dtype == torch.float32


# -- initialisation and builder ---------------------------------------------------------------
def test_init_as_posenet_head():
    torch.manual_seed(0)
    net = get_root_net(small_cfg(resnet_type=50), True)
    root = net.root
    for i in (0, 3, 6):
        assert abs(root.deconv_layers[i].weight.std().item() - 0.001) < 1e-4
    for i in (1, 4, 7):
        assert torch.all(root.deconv_layers[i].weight == 1)
        assert torch.all(root.deconv_layers[i].bias == 0)
    assert abs(root.depth_layer.weight.std().item() - 0.001) < 1e-4  # 2048 samples
    assert 0 < root.xy_layer.weight.abs().max().item() < 0.01       # 256 samples of N(0, 0.001)
    assert root.xy_layer.bias.item() == 0 and root.depth_layer.bias.item() == 0


@pytest.mark.parametrize('is_train,pretrained,expected', [
    (False, True, []), (True, False, ['head']), (True, True, ['backbone', 'head'])])
def test_builder_initialises_like_get_pose_net(monkeypatch, is_train, pretrained, expected):
    calls = []
    monkeypatch.setattr(ResNetBackbone, 'init_weights', lambda self: calls.append('backbone'))
    monkeypatch.setattr(RootHead, 'init_weights', lambda self: calls.append('head'))
    net = get_root_net(small_cfg(pretrained_backbone=pretrained), is_train)
    assert calls == expected
    assert isinstance(net, RootNet) and set(dict(net.named_children())) == {'backbone', 'root'}


# -- k and the mapping back to the camera (common/utils/pose_utils.py) --------------------------
def test_k_value_by_hand():
    # sqrt(2000 * 2000 * 1000 * 1000 / (200 * 200)) = 10000
    assert k_value([10., 20., 200., 200.], (1000., 1000.)) == 10000.
    boxes = np.array([[0., 0., 200., 200.], [5., 5., 100., 400.]])
    # second: sqrt(4e6 * 900 * 1600 / 40000) = sqrt(1.44e8) = 12000
    got = k_value(boxes, np.array([[1000., 1000.], [900., 1600.]]))
    assert got.dtype == np.float64 and got.shape == (2,)
    np.testing.assert_array_equal(got, [10000., 12000.])
    np.testing.assert_array_equal(k_value(boxes, (1000., 1000.)), [10000., 10000.])
    # a 2 m x 2 m "real" box in metres (the original's PW3D setting)
    assert k_value([0., 0., 200., 200.], (1000., 1000.), bbox_real=(2, 2)) == 10.


def test_k_value_empty_box_is_clear_error():
    with pytest.raises(PoseNetError, match='k_value'):
        k_value([[0., 0., 100., 100.], [0., 0., 0., 50.]], (1500., 1500.))


def test_root_output_to_cam_by_hand():
    coord = np.array([[32., 16., 5000.], [0., 63., 2000.]])
    bbox = np.array([[100., 200., 256., 128.], [0., 0., 64., 64.]])
    # row 0: x = 32/64*256 + 100 = 228, y = 16/64*128 + 200 = 232
    #        X = (228 - 128)/1000*5000 = 500, Y = (232 - 232)/1000*5000 = 0
    # row 1: x = 0, y = 63 px; X = (0 - 32)/500*2000 = -128, Y = (63 - 23)/400*2000 = 200
    got = root_output_to_cam(coord, bbox, (64, 64), np.array([[1000., 1000.], [500., 400.]]),
                             np.array([[128., 232.], [32., 23.]]))
    np.testing.assert_allclose(got, [[500., 0., 5000.], [-128., 200., 2000.]], atol=1e-9)
    one = root_output_to_cam(coord[:1], bbox[:1], (64, 64), (1000., 1000.), (128., 232.))
    np.testing.assert_allclose(one, [[500., 0., 5000.]], atol=1e-9)
