"""ResNet backbone: torchvision's ResNet without the pooling and classifier (output stride 32).

Parameter names equal torchvision's ResNet, so ImageNet state dicts load once `fc.*` is dropped.
"""
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from common.nets.weights import load_into, load_torchvision_state_dict
from common.utils.errors import PoseNetError

# depth -> (block, blocks per stage, torchvision weights enum name)
RESNET_SPEC = {
    18: (BasicBlock, [2, 2, 2, 2], 'ResNet18_Weights'),
    34: (BasicBlock, [3, 4, 6, 3], 'ResNet34_Weights'),
    50: (Bottleneck, [3, 4, 6, 3], 'ResNet50_Weights'),
    101: (Bottleneck, [3, 4, 23, 3], 'ResNet101_Weights'),
    152: (Bottleneck, [3, 8, 36, 3], 'ResNet152_Weights'),
}


def imagenet_weights(resnet_type):
    """torchvision's `IMAGENET1K_V1` weights entry for a ResNet depth (the original's weights)."""
    import torchvision.models as tvm
    return getattr(tvm, RESNET_SPEC[resnet_type][2]).IMAGENET1K_V1


class ResNetBackbone(nn.Module):
    """ResNet-`resnet_type` feature extractor: `(B, 3, H, W)` -> `(B, C, H/32, W/32)`.

    `C` (`out_channels`) is 512 for ResNet-18/34 and 2048 for ResNet-50/101/152.
    """

    def __init__(self, resnet_type):
        if resnet_type not in RESNET_SPEC:
            raise PoseNetError(f"resnet_type {resnet_type} is not supported; "
                               f"choose one of {sorted(RESNET_SPEC)}")
        super().__init__()
        block, layers, _ = RESNET_SPEC[resnet_type]
        self.resnet_type = resnet_type
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.out_channels = 512 * block.expansion

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, mean=0, std=0.001)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride,
                          bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)

    def init_weights(self, weights_file=None):
        """Load ImageNet weights (torchvision `IMAGENET1K_V1`), dropping the classifier `fc.*`.

        `weights_file`: a local `.pth` state dict to use instead of the download. Without it,
        torchvision's cache (`$TORCH_HOME/hub/checkpoints/<file>`) is used, downloading if needed;
        offline this stops with a message saying where to put the file by hand
        (`common/nets/weights.py`).
        """
        state_dict = load_torchvision_state_dict(
            imagenet_weights(self.resnet_type), f"ImageNet weights of ResNet-{self.resnet_type}",
            weights_file=weights_file,
            hint=", or train from random initialisation with --cfg pretrained_backbone=False")
        state_dict = {k: v for k, v in state_dict.items() if not k.startswith('fc.')}
        load_into(self, state_dict, f"ImageNet weights of ResNet-{self.resnet_type}")
