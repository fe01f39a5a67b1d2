"""PoseNet: ResNet backbone + deconvolution head producing per-joint 3D heatmaps, and the
integral (soft-argmax) read-out of coordinates from them.

Shapes: input `(B, 3, H_in, W_in)`; heatmaps `(B, J*D, H_out, W_out)` with `H_out = H_in/4`;
coordinates `(B, J, 3)` as `(x, y, z)` in heatmap units (`x in [0, W_out-1]`, `z in [0, D-1]`).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from common.nets.resnet import ResNetBackbone


class HeadNet(nn.Module):
    """Three 2x-upsampling deconvolution blocks, then a 1x1 conv to `joint_num * depth_dim` maps."""

    def __init__(self, joint_num, depth_dim, in_channels=2048, num_deconv=3, deconv_channels=256):
        super().__init__()
        self.joint_num = joint_num
        self.depth_dim = depth_dim
        layers = []
        for i in range(num_deconv):
            layers += [
                nn.ConvTranspose2d(in_channels if i == 0 else deconv_channels, deconv_channels,
                                   kernel_size=4, stride=2, padding=1, output_padding=0,
                                   bias=False),
                nn.BatchNorm2d(deconv_channels),
                nn.ReLU(inplace=True),
            ]
        self.deconv_layers = nn.Sequential(*layers)
        self.final_layer = nn.Conv2d(deconv_channels, joint_num * depth_dim, kernel_size=1)

    def forward(self, x):
        return self.final_layer(self.deconv_layers(x))

    def init_weights(self):
        for m in self.deconv_layers.modules():
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.normal_(m.weight, std=0.001)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        nn.init.normal_(self.final_layer.weight, std=0.001)
        nn.init.constant_(self.final_layer.bias, 0)


def soft_argmax(heatmaps, joint_num, depth_dim=None):
    """Expected `(x, y, z)` of each joint's softmax-normalised 3D heatmap.

    `heatmaps`: `(B, J*D, H, W)` (or `(B, J, D, H, W)`); returns `(B, J, 3)` in heatmap units,
    index 0 at the first voxel. Works on any device and dtype (softmax is done in float32 or
    better so that mixed precision does not lose the tails).
    """
    batch = heatmaps.shape[0]
    height, width = heatmaps.shape[-2:]
    if depth_dim is None:
        depth_dim = heatmaps.shape[2] if heatmaps.dim() == 5 else heatmaps.shape[1] // joint_num
    compute_dtype = torch.promote_types(heatmaps.dtype, torch.float32)
    prob = F.softmax(heatmaps.reshape(batch, joint_num, -1).to(compute_dtype), dim=2)
    prob = prob.reshape(batch, joint_num, depth_dim, height, width)

    p_x = prob.sum(dim=(2, 3))  # (B, J, W)
    p_y = prob.sum(dim=(2, 4))  # (B, J, H)
    p_z = prob.sum(dim=(3, 4))  # (B, J, D)
    x = (p_x * torch.arange(width, device=prob.device, dtype=prob.dtype)).sum(dim=2)
    y = (p_y * torch.arange(height, device=prob.device, dtype=prob.dtype)).sum(dim=2)
    z = (p_z * torch.arange(depth_dim, device=prob.device, dtype=prob.dtype)).sum(dim=2)
    return torch.stack((x, y, z), dim=2)


def coord_loss(coord, target_coord, target_vis, target_have_depth):
    """Per-joint L1 loss `(B, J)`: mean of |dx|, |dy| and |dz| (|dz| only where depth is known).

    `coord`, `target_coord`: `(B, J, 3)`; `target_vis`: `(B, J, 1)`; `target_have_depth`: `(B, 1)`.
    """
    loss = torch.abs(coord - target_coord) * target_vis
    return (loss[:, :, 0] + loss[:, :, 1] + loss[:, :, 2] * target_have_depth) / 3.


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


def get_pose_net(cfg, is_train, joint_num):
    """Build PoseNet for `cfg.resnet_type`; `is_train` initialises the weights for training
    (ImageNet backbone unless `cfg.pretrained_backbone` is False, fresh head)."""
    backbone = ResNetBackbone(cfg.resnet_type)
    head = HeadNet(joint_num, cfg.depth_dim, in_channels=backbone.out_channels)
    if is_train:
        if cfg.pretrained_backbone:
            backbone.init_weights()
        head.init_weights()
    return ResPoseNet(backbone, head, joint_num)


def flip_back(coord, output_width, flip_pairs):
    """Map coordinates predicted on a horizontally mirrored crop back to the plain crop.

    `coord`: `(B, J, 3)` heatmap units; `x -> W_out - x - 1`, then each (left, right) pair swaps.
    """
    coord = coord.clone()
    coord[:, :, 0] = output_width - coord[:, :, 0] - 1
    for a, b in flip_pairs:
        coord[:, [a, b]] = coord[:, [b, a]]
    return coord
