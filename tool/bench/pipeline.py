"""`--pipeline`: seconds per image of each stage of the photo-to-3D pipeline.
"""
import time

import torch

from tool.bench.shared import sync


def bench_pipeline(args, device, people_counts=(1, 5), img_size=(640, 480)):
    """Seconds per image of each stage of `main.pipeline.Pipeline` on a `img_size` photo: the
    detector (torchvision, random weights: the same cost without a download), RootNet and
    PoseNet (ResNet-`args.resnet`, `args.input` px, random weights) for 1 and 5 people, each
    network running all people in one batch. Best of `args.iters` calls after `args.warmup`."""
    import numpy as np
    from common.nets.detector import PersonDetector
    from common.nets.posenet import get_pose_net
    from common.nets.rootnet import get_root_net
    from data.MuCo.MuCo import MuCo
    from main.checkpoint import ModelSettings
    from main.config import Config
    from main.pipeline import Pipeline
    from main.predictor import PoseNetPredictor, RootNetPredictor

    cfg = Config(resnet_type=args.resnet, pretrained_backbone=False,
                 input_shape=(args.input, args.input), amp=args.amp,
                 channels_last=args.channels_last)
    torch.manual_seed(0)
    posenet = PoseNetPredictor(get_pose_net(cfg, True, 21).to(device).eval(),
                               ModelSettings.from_config(cfg, 'PoseNet', MuCo), None, device,
                               cfg.amp, cfg.channels_last)
    rootnet = RootNetPredictor(get_root_net(cfg, True).to(device).eval(), cfg, device, cfg.amp,
                               cfg.channels_last)
    detector = PersonDetector(args.detector, pretrained=False, device=device)
    width, height = img_size
    img = np.random.default_rng(0).integers(0, 255, (height, width, 3)).astype(np.uint8)
    focal, princpt = np.array([1500., 1500.]), np.array([width / 2., height / 2.])

    def best(fn):
        for _ in range(args.warmup):
            fn()
        times = []
        for _ in range(max(1, args.iters)):
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            times.append(time.perf_counter() - start)
        return min(times)

    print(f'pipeline on a {width}x{height} image, device {device}: detector {args.detector}, '
          f'RootNet and PoseNet ResNet-{args.resnet} at {args.input}x{args.input}, amp {args.amp}')
    results = {'detector (s/image)': best(lambda: detector(img))}
    for n in people_counts:
        boxes = np.array([[20 + 110 * (i % 5), 40, 100, 300] for i in range(n)], np.float64)
        pipeline = Pipeline(posenet, rootnet, None)
        processed = np.stack([p['bbox_processed'] for p in
                              pipeline(img, focal, princpt, bbox=boxes)['people']])
        results[f'RootNet, {n} people (s/image)'] = best(
            lambda: rootnet(img, processed, focal, princpt))
        results[f'PoseNet, {n} people (s/image)'] = best(
            lambda: posenet(img, processed, np.full(n, 5000.), focal, princpt))

        def whole():     # a random-weight detector finds random boxes: time it, use `boxes`
            detector(img)
            pipeline(img, focal, princpt, bbox=boxes)

        results[f'whole pipeline, {n} people (s/image)'] = best(whole)
    width_k = max(len(k) for k in results)
    for k, v in results.items():
        print(f'  {k:<{width_k}}  {v:10.3f}')
    return results


def run(args):
    """`tool/benchmark.py --pipeline`."""
    return bench_pipeline(args, torch.device(args.device))
