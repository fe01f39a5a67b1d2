"""Building blocks shared by PoseNet (`posenet.py`) and RootNet (`rootnet.py`).

* `make_deconv_layers`: the 2x-upsampling deconvolution stack both heads put on the backbone.
* `init_head_weights`: the heads' initialisation (convs `normal(0, 0.001)`, biases 0, BN 1/0).
* `soft_argmax`: integral regression, the expected voxel of a softmax-normalised heatmap.
* `coord_loss`: the L1 coordinate loss with visibility and have-depth masks.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def make_deconv_layers(in_channels, num_layers=3, channels=256):
    """`num_layers` times `ConvTranspose2d(k4, s2, p1, no bias) -> BatchNorm2d -> ReLU`.

    Maps `(B, in_channels, H, W)` to `(B, channels, H * 2**num_layers, W * 2**num_layers)`.
    Returned as one `nn.Sequential`, so parameters are named `<i>.weight` with the deconvs at
    `0, 3, 6` and the batch norms at `1, 4, 7` (the original releases' state-dict names).
    """
    layers = []
    for i in range(num_layers):
        layers += [
            nn.ConvTranspose2d(in_channels if i == 0 else channels, channels, kernel_size=4,
                               stride=2, padding=1, output_padding=0, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        ]
    return nn.Sequential(*layers)


def init_head_weights(deconv_layers, *convs, std=0.001):
    """Initialise a head in place: deconv weights `normal(0, std)`, batch norms weight 1 / bias
    0, then each of `convs` (1x1 output convs) weight `normal(0, std)` and bias 0, in order."""
    for m in deconv_layers.modules():
        if isinstance(m, nn.ConvTranspose2d):
            nn.init.normal_(m.weight, std=std)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    for conv in convs:
        nn.init.normal_(conv.weight, std=std)
        nn.init.constant_(conv.bias, 0)


def soft_argmax(heatmaps, joint_num, depth_dim=None):
    """Expected `(x, y, z)` of each joint's softmax-normalised 3D heatmap.

    `heatmaps`: `(B, J*D, H, W)` (or `(B, J, D, H, W)`); returns `(B, J, 3)` in heatmap units,
    index 0 at the first voxel. With `depth_dim=1` it is the 2D soft-argmax of `J` maps
    `(B, J, H, W)` (z is then 0). Works on any device and dtype (softmax is done in float32 or
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
