"""PoseNet: ResNet backbone + deconvolution head producing per-joint 3D heatmaps, and the
integral (soft-argmax) read-out of coordinates from them.

Shapes: input `(B, 3, H_in, W_in)`; heatmaps `(B, J*D, H_out, W_out)` with `H_out = H_in/4`;
coordinates `(B, J, 3)` as `(x, y, z)` in heatmap units (`x in [0, W_out-1]`, `z in [0, D-1]`).
The deconv stack, the head initialisation, `soft_argmax` and `coord_loss` live in
`common/nets/layers.py` (shared with RootNet) and are re-exported here.
"""
import torch.nn as nn

from common.nets.layers import coord_loss, init_head_weights, make_deconv_layers, soft_argmax
from common.nets.resnet import ResNetBackbone

__all__ = ['HeadNet', 'ResPoseNet', 'coord_loss', 'flip_back', 'get_pose_net', 'pose_net',
           'soft_argmax']


class HeadNet(nn.Module):
    """Three 2x-upsampling deconvolution blocks, then a 1x1 conv to `joint_num * depth_dim` maps."""

    def __init__(self, joint_num, depth_dim, in_channels=2048, num_deconv=3, deconv_channels=256):
        super().__init__()
        self.joint_num = joint_num
        self.depth_dim = depth_dim
        self.deconv_layers = make_deconv_layers(in_channels, num_deconv, deconv_channels)
        self.final_layer = nn.Conv2d(deconv_channels, joint_num * depth_dim, kernel_size=1)

    def forward(self, x):
        return self.final_layer(self.deconv_layers(x))

    def init_weights(self):
        init_head_weights(self.deconv_layers, self.final_layer)


class ResPoseNet(nn.Module):
    """Backbone + head + soft-argmax. Submodule names `backbone` and `head` are part of the
    snapshot format (state-dict keys `backbone.*`, `head.deconv_layers.*`, `head.final_layer.*`)."""

    def __init__(self, backbone, head, joint_num):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.joint_num = joint_num

    def forward(self, input_img, target=None):
        """`target=None`: coordinates `(B, J, 3)`. With `target` (dict of `coord (B,J,3)`,
        `vis (B,J,1)`, `have_depth (B,1)`): the per-joint loss `(B, J)`."""
        heatmaps = self.head(self.backbone(input_img))
        coord = soft_argmax(heatmaps, self.joint_num, self.head.depth_dim)
        if target is None:
            return coord
        return coord_loss(coord, target['coord'], target['vis'], target['have_depth'])


def pose_net(resnet_type=50, joint_num=18, depth_dim=64, init_weights=False,
             pretrained_backbone=False):
    """PoseNet: ResNet-`resnet_type` backbone, a head of `joint_num * depth_dim` maps.

    `init_weights`: the training initialisation of the head (`normal(0, 0.001)`, see
    `layers.init_head_weights`); `pretrained_backbone`: the ImageNet backbone weights (fetched
    on first use). Without either, PyTorch's default initialisation (weights to be loaded)."""
    backbone = ResNetBackbone(resnet_type)
    head = HeadNet(joint_num, depth_dim, in_channels=backbone.out_channels)
    if pretrained_backbone:
        backbone.init_weights()
    if init_weights:
        head.init_weights()
    return ResPoseNet(backbone, head, joint_num)


def get_pose_net(cfg, is_train, joint_num):
    """The original's builder: PoseNet for `cfg.resnet_type`, `cfg.depth_dim`; `is_train`
    initialises the weights for training (ImageNet backbone unless `cfg.pretrained_backbone`
    is False, fresh head)."""
    return pose_net(resnet_type=cfg.resnet_type, joint_num=joint_num, depth_dim=cfg.depth_dim,
                    init_weights=is_train, pretrained_backbone=is_train and
                    cfg.pretrained_backbone)


def flip_back(coord, output_width, flip_pairs):
    """Map coordinates predicted on a horizontally mirrored crop back to the plain crop.

    `coord`: `(B, J, 3)` heatmap units; `x -> W_out - x - 1`, then each (left, right) pair swaps.
    """
    coord = coord.clone()
    coord[:, :, 0] = output_width - coord[:, :, 0] - 1
    for a, b in flip_pairs:
        coord[:, [a, b]] = coord[:, [b, a]]
    return coord
