"""Networks of the DetectNet -> RootNet -> PoseNet pipeline.

* `resnet.py`: the ResNet backbone (ImageNet weights through torchvision).
* `layers.py`: pieces both heads share (deconv stack, initialisation, soft-argmax, L1 loss).
* `posenet.py`: PoseNet, root-relative 3D pose of one person crop.
* `rootnet.py`: RootNet, absolute root depth and position of one person crop.
* `detector.py`: the COCO person detector (torchvision) that finds the crops.
* `weights.py`: loading torchvision weights, or saying where to put the file offline.
"""
