"""The photo chain on the CPU per stage, before and after the detector went to ONNX Runtime
(`python tool/benchmark.py --photo_chain`; prints figures, not a test).

Before: the torchvision detector in PyTorch, RootNet and PoseNet in ONNX Runtime (the 'auto'
backend's choice on the CPU until then); after: the detector in ONNX Runtime too. Same random
weights in both (offline there are no COCO weights; the cost is the same: RPN and box head
always handle their full proposal counts), ResNet-`args.resnet` RootNet and PoseNet at
`args.input` px, a real photo (matplotlib's grace_hopper.jpg) resized to 640x480, 1 and 5
people given as boxes. Each figure is the best of `args.iters` calls, the variants interleaved
(the machine may be shared: ratios of interleaved runs are what counts).
"""
import copy
import os
import tempfile
import time

import numpy as np
import torch


def photo(width=640, height=480):
    """matplotlib's grace_hopper.jpg resized to `width` x `height`, BGR uint8."""
    import cv2
    from matplotlib import cbook
    with cbook.get_sample_data('grace_hopper.jpg') as f:
        data = np.frombuffer(f.read(), np.uint8)
    return cv2.resize(cv2.imdecode(data, cv2.IMREAD_COLOR), (width, height))


def onnx_networks(cfg, threads=None):
    """RootNet and PoseNet (21 joints) with fixed random weights through ONNX Runtime."""
    from common.nets.posenet import get_pose_net
    from common.nets.rootnet import get_root_net
    from data.joint_sets import MUCO_JOINTS, MUCO_SKELETON
    from main.onnx_backend import OnnxNetwork, export_onnx
    from main.predictor import PoseNetPredictor, RootNetPredictor
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        pose_path = export_onnx(get_pose_net(cfg, False, 21), os.path.join(tmp, 'p.onnx'),
                                'PoseNet', cfg.model_settings())
        root_path = export_onnx(get_root_net(cfg, False), os.path.join(tmp, 'r.onnx'),
                                'RootNet', cfg.model_settings())
        posenet = PoseNetPredictor(OnnxNetwork(pose_path, threads), cfg, None, 'cpu',
                                   MUCO_JOINTS, MUCO_SKELETON)
        rootnet = RootNetPredictor(OnnxNetwork(root_path, threads), cfg, 'cpu')
    return posenet, rootnet


def bench_photo_chain(args, people_counts=(1, 5)):
    """Per-stage seconds per image, before/after, for 1 and 5 people; prints the table and
    the largest box / score difference of the two detectors on the photo."""
    from common.nets.detector import PersonDetector
    from main.config import Config
    from main.pipeline import Pipeline

    cfg = Config().update(resnet_type=args.resnet, pretrained_backbone=False,
                          input_shape=(args.input, args.input))
    posenet, rootnet = onnx_networks(cfg, args.threads)
    torch.manual_seed(0)
    before = PersonDetector(args.detector, pretrained=False, score_thresh=0.0)
    start = time.perf_counter()
    after = copy.deepcopy(before).to_onnx()
    export_s = time.perf_counter() - start
    img = photo()
    focal, princpt = np.array([1500., 1500.]), np.array([320., 240.])
    (b0, s0), (b1, s1) = before(img), after(img)
    same = b0.shape == b1.shape
    box_diff = float(np.abs(b0 - b1).max()) if same and len(b0) else float('nan')
    score_diff = float(np.abs(s0 - s1).max()) if same and len(s0) else float('nan')

    stages = {'detector': {'before': lambda: before(img), 'after': lambda: after(img)}}
    for n in people_counts:
        boxes = np.array([[20 + 120 * (i % 5), 60, 100, 300] for i in range(n)], np.float64)
        chain = Pipeline(posenet, rootnet, None)
        processed = np.stack([p['bbox_processed'] for p in
                              chain(img, focal, princpt, bbox=boxes)['people']])
        stages[f'RootNet, {n} people'] = {'both': lambda p=processed: rootnet(
            img, p, focal, princpt)}
        stages[f'PoseNet, {n} people'] = {'both': lambda p=processed, n=n: posenet(
            img, p, np.full(n, 5000.), focal, princpt)}
        for name, det in (('before', before), ('after', after)):
            def whole(det=det, chain=chain, boxes=boxes):   # random-weight boxes: time them,
                det(img)                                    # then estimate `boxes`
                chain(img, focal, princpt, bbox=boxes)
            stages.setdefault(f'whole chain, {n} people', {})[name] = whole
    best = {(s, v): float('inf') for s, variants in stages.items() for v in variants}
    for _ in range(max(1, args.iters)):
        for s, variants in stages.items():
            for v, fn in variants.items():
                start = time.perf_counter()
                fn()
                best[s, v] = min(best[s, v], time.perf_counter() - start)
    print(f'photo chain on the CPU ({os.cpu_count()} cores, shared machine), 640x480 photo: '
          f'detector {args.detector}, RootNet and PoseNet ResNet-{args.resnet} '
          f'{args.input}x{args.input} in ONNX Runtime; best of {args.iters} interleaved '
          f'rounds, s/image')
    print(f'  {"stage":<24}{"before":>9}{"after":>9}{"speed-up":>10}')
    rows = {}
    for s, variants in stages.items():
        t0 = variants.get('before') and best[s, 'before']
        t1 = variants.get('after') and best[s, 'after']
        if 'both' in variants:
            t0 = t1 = best[s, 'both']
        rows[s] = (t0, t1)
        print(f'  {s:<24}{t0:9.3f}{t1:9.3f}{t0 / t1:9.2f}x')
    print(f'  detector ONNX export (once, then cached): {export_s:.0f} s; ONNX Runtime vs '
          f'PyTorch on the photo: {len(b0)} boxes, max |box diff| {box_diff:.2e} px, max '
          f'|score diff| {score_diff:.1e}')
    return {'rows': rows, 'export_s': export_s, 'box_diff': box_diff, 'score_diff': score_diff}
