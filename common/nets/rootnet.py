"""RootNet: the absolute depth and image position of a person's root joint (pelvis) from one
crop, the second stage of DetectNet -> RootNet -> PoseNet (docs/SPEC.md §13).

* x, y: a deconvolution head on the backbone feature gives one heatmap `(B, 1, H_out, W_out)`
  (`H_out = H_in / 4`); its 2D soft-argmax is the root in output-space units
  (`x in [0, W_out-1]`, `y in [0, H_out-1]`).
* depth: the backbone feature, globally average-pooled to `(B, C, 1, 1)`, goes through a 1x1
  conv to one number `gamma` per crop; `depth = gamma * k` mm, where `k` is the
  camera-distance factor of the crop's box and focal length (`common.utils.pose_utils.k_value`).

State-dict keys are the original release's (`backbone.*`, `root.deconv_layers.*`,
`root.xy_layer.*`, `root.depth_layer.*`), so its `snapshot_18.pth.tar` loads unchanged with
`main.checkpoint.load_network`. Outputs go back to the camera with
`common.utils.pose_utils.root_output_to_cam`. The deconv stack, initialisation, soft-argmax and
L1 loss are shared with PoseNet (`common/nets/layers.py`).
"""
import torch
import torch.nn as nn

from common.nets.layers import coord_loss, init_head_weights, make_deconv_layers, soft_argmax
from common.nets.resnet import ResNetBackbone


class RootHead(nn.Module):
    """RootNet's head (the original's `RootNet` module, held as `root` in the full model).

    `deconv_layers`: three 2x-upsampling deconv blocks `in_channels -> 256`;
    `xy_layer = Conv2d(256, 1, 1)`; `depth_layer = Conv2d(in_channels, 1, 1)`.
    `in_channels` is the backbone's `C` (2048 for ResNet-50+, 512 for ResNet-18/34; the original
    hard-coded 2048).
    """

    def __init__(self, in_channels=2048, num_deconv=3, deconv_channels=256):
        super().__init__()
        self.deconv_layers = make_deconv_layers(in_channels, num_deconv, deconv_channels)
        self.xy_layer = nn.Conv2d(deconv_channels, 1, kernel_size=1)
        self.depth_layer = nn.Conv2d(in_channels, 1, kernel_size=1)

    def forward(self, feature, k_value):
        """`feature`: backbone output `(B, C, h, w)`; `k_value`: `(B,)` or `(B, 1)` mm (tensor
        or array).

        Returns `(B, 3)`: x, y (output space, float32 or wider) and depth mm (`gamma * k`).
        """
        heatmap = self.xy_layer(self.deconv_layers(feature))  # (B, 1, H_out, W_out)
        xy = soft_argmax(heatmap, joint_num=1, depth_dim=1)[:, 0, :2]  # (B, 2)

        pooled = feature.mean(dim=(2, 3), keepdim=True)  # global average pooling (B, C, 1, 1)
        gamma = self.depth_layer(pooled).reshape(-1, 1)  # (B, 1)
        dtype = torch.promote_types(gamma.dtype, torch.float32)
        k_value = torch.as_tensor(k_value, device=gamma.device, dtype=dtype).reshape(-1, 1)
        depth = gamma.to(dtype) * k_value
        return torch.cat((xy.to(dtype), depth), dim=1)

    def init_weights(self):
        """Deconvs and both 1x1 convs `normal(0, 0.001)`, biases 0, batch norms 1 / 0."""
        init_head_weights(self.deconv_layers, self.xy_layer, self.depth_layer)


def root_loss(coord, target_coord, target_vis, target_have_depth):
    """Per-sample L1 loss `(B,)`: `(|dx|*v + |dy|*v + |dz|*v*have_depth) / 3`.

    `coord`, `target_coord`: `(B, 3)` (x, y output space, depth mm); `target_vis`: `(B, 1)`;
    `target_have_depth`: `(B, 1)`. Shape `(B,)` as the original's; the trainer takes the mean.
    """
    return coord_loss(coord[:, None], target_coord[:, None], target_vis.reshape(-1, 1, 1),
                      target_have_depth.reshape(-1, 1))[:, 0]


class RootNet(nn.Module):
    """Backbone + root head (the original's `ResPoseNet(backbone, root)`). The submodule names
    `backbone` and `root` are part of the snapshot format."""

    def __init__(self, backbone, root):
        super().__init__()
        self.backbone = backbone
        self.root = root

    def forward(self, input_img, k_value, target=None):
        """`input_img`: normalised crops `(B, 3, H_in, W_in)`; `k_value`: `(B,)` or `(B, 1)` mm.

        `target=None`: `(B, 3)` = x, y (output space) and depth (mm). With `target` (dict of
        `coord (B, 3)`, `vis (B, 1)`, `have_depth (B, 1)`): the per-sample loss `(B,)`.
        """
        coord = self.root(self.backbone(input_img), k_value)
        if target is None:
            return coord
        return root_loss(coord, target['coord'], target['vis'], target['have_depth'])


def root_net(resnet_type=50, init_weights=False, pretrained_backbone=False):
    """RootNet: ResNet-`resnet_type` backbone and the root head.

    `init_weights`: the training initialisation of the head (`RootHead.init_weights`);
    `pretrained_backbone`: the ImageNet backbone weights (fetched on first use). Without
    either, PyTorch's default initialisation (weights to be loaded)."""
    backbone = ResNetBackbone(resnet_type)
    root = RootHead(in_channels=backbone.out_channels)
    if pretrained_backbone:
        backbone.init_weights()
    if init_weights:
        root.init_weights()
    return RootNet(backbone, root)


def get_root_net(cfg, is_train):
    """The original's builder: RootNet for `cfg.resnet_type`; `is_train` initialises the
    weights for training (ImageNet backbone unless `cfg.pretrained_backbone` is False, fresh
    head)."""
    return root_net(resnet_type=cfg.resnet_type, init_weights=is_train,
                    pretrained_backbone=is_train and cfg.pretrained_backbone)
