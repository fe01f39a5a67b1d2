"""The photo chain on the CPU per stage, before and after the detector went to ONNX Runtime
(`python tool/benchmark.py --photo_chain`; prints figures, not a test).

Before: the torchvision detector in PyTorch, RootNet and PoseNet in ONNX Runtime (the 'auto'
backend's choice on the CPU until then); after: the detector in ONNX Runtime too. Same random
weights in both (`random_person_detector`; offline there are no COCO weights; the cost is the
same: RPN and box head always handle their full proposal counts), ResNet-`args.resnet` RootNet
and PoseNet at `args.input` px, a real photo (matplotlib's grace_hopper.jpg) resized to
640x480, 1 and 5 people given as boxes. Each figure is the best of `args.iters` calls, the
variants interleaved (the machine may be shared: ratios of interleaved runs are what counts).

Then the detector against this CPU's limit (`detector_roofline`): its FLOPs on the photo
(`FlopCounterMode`, split into backbone + FPN, RPN and box head), the GFLOP/s each backend
achieves and their share of ONNX Runtime's float32 MatMul rate (tool/bench/roofline.py
`cpu_limit`, measured before and after the rounds, the better one), and the time the detector
would take at that rate: no float32 run of the same computation can be faster.
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


def random_person_detector(name, seed=0, min_size=None):
    """A `PersonDetector` (score threshold 0) with random weights under which boxes and scores
    vary from proposal to proposal (the plain random init gives the same features for all of
    them, hence ties): batch-norm statistics measured on two photos, and the box head prefers
    'person' (label 1), so that dozens of people are found. `min_size`: torchvision's resize
    target (default its own, 800 px)."""
    from common.nets.detector import PersonDetector, image_to_tensor
    torch.manual_seed(seed)
    det = PersonDetector(name, pretrained=False, score_thresh=0.0)
    model = det.model
    if min_size is not None:
        model.transform.min_size, model.transform.max_size = (min_size,), min_size * 5 // 3
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None        # cumulative average of the pass below
        norm.train()
    with torch.no_grad():
        model([image_to_tensor(photo(320, 240)), image_to_tensor(photo(240, 320))])
        for norm in norms:
            norm.eval()
        model.roi_heads.box_predictor.cls_score.bias[1] += 4.
    return det


DETECTOR_PARTS = (('backbone + FPN', 'backbone'), ('RPN', 'rpn'), ('box head', 'roi_heads'))


def detector_flops(model, img):
    """FLOPs of torchvision detection `model` on one RGB float image `(3, H, W)` (its own resize
    included), counted by `FlopCounterMode` and split into `DETECTOR_PARTS` (box head: the
    convolutions and layers of the box head and predictor on every proposal); returns
    `({part: FLOPs, 'total': FLOPs}, number of proposals the box head ran on)`."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    proposals = []
    hook = model.roi_heads.register_forward_pre_hook(
        lambda module, args: proposals.append(len(args[1][0])))
    try:
        with counter, torch.no_grad():
            model([img])
    finally:
        hook.remove()
    counts = counter.get_flop_counts()
    root = type(model).__name__
    flops = {part: sum(counts.get(f'{root}.{name}', {}).values())
             for part, name in DETECTOR_PARTS}
    flops['total'] = counter.get_total_flops()
    return flops, proposals[0]


def onnx_networks(cfg, threads=None):
    """RootNet and PoseNet (21 joints) with fixed random weights through ONNX Runtime."""
    from common.nets.posenet import get_pose_net
    from common.nets.rootnet import get_root_net
    from data.MuCo.MuCo import MuCo
    from main.checkpoint import ModelSettings
    from main.onnx_backend import OnnxNetwork, export_onnx
    from main.predictor import PoseNetPredictor, RootNetPredictor
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        pose_path = export_onnx(get_pose_net(cfg, False, 21), os.path.join(tmp, 'p.onnx'),
                                'PoseNet', cfg.model_settings())
        root_path = export_onnx(get_root_net(cfg, False), os.path.join(tmp, 'r.onnx'),
                                'RootNet', cfg.model_settings())
        posenet = PoseNetPredictor(OnnxNetwork(pose_path, threads),
                                   ModelSettings.from_config(cfg, 'PoseNet', MuCo), None, 'cpu')
        rootnet = RootNetPredictor(OnnxNetwork(root_path, threads), cfg, 'cpu')
    return posenet, rootnet


def bench_photo_chain(args, people_counts=(1, 5)):
    """Per-stage seconds per image, before/after, for 1 and 5 people; prints the table and
    the largest box / score difference of the two detectors on the photo."""
    from main.config import Config
    from main.pipeline import Pipeline
    from tool.bench.roofline import best_limit, cpu_limit, limit_text

    cfg = Config(resnet_type=args.resnet, pretrained_backbone=False,
                 input_shape=(args.input, args.input))
    posenet, rootnet = onnx_networks(cfg, args.threads)
    before = random_person_detector(args.detector)
    start = time.perf_counter()
    after = copy.deepcopy(before).to_onnx()
    export_s = time.perf_counter() - start
    img = photo()
    focal, princpt = np.array([1500., 1500.]), np.array([320., 240.])
    (b0, s0), (b1, s1) = before(img), after(img)
    if b0.shape == b1.shape and len(b0):      # paired one to one (order of near-equal scores)
        from scipy.optimize import linear_sum_assignment
        rows, cols = linear_sum_assignment(np.abs(b1[:, None] - b0[None]).max(axis=2))
        box_diff = float(np.abs(b1[rows] - b0[cols]).max())
        score_diff = float(np.abs(s1[rows] - s0[cols]).max())
    else:
        box_diff = score_diff = float('nan')

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
    first = cpu_limit(args.matmul_n, args.threads)   # again at the end: the better one
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
          f'PyTorch on the photo: {len(b1)} vs {len(b0)} people, max |box diff| '
          f'{box_diff:.2e} px, max |score diff| {score_diff:.1e} (paired)')
    measured = best_limit(first, cpu_limit(args.matmul_n, args.threads))
    limit = measured['limit']
    roof = detector_roofline(before.model, img, rows['detector'], limit)
    print(f'  detector work per photo (FlopCounterMode, resized to '
          f'{before.model.transform.min_size[-1]} px): '
          + ', '.join(f'{part} {roof["flops"][part] / 1e9:.1f}' for part, _ in DETECTOR_PARTS)
          + f' GFLOP (box head on {roof["proposals"]} proposals), total '
          f'{roof["flops"]["total"] / 1e9:.1f} GFLOP')
    print('  limit: ONNX Runtime ' + limit_text(args.matmul_n, measured) + ', better of before '
          'and after the rounds')
    achieved = [f'{name} {gflops:.0f} GFLOP/s ({share:.0%} of the limit)'
                for name, (gflops, share) in roof['achieved'].items()]
    print(f'  detector achieves {", ".join(achieved)}; at the limit it would take '
          f'{roof["seconds_at_limit"]:.2f} s')
    chain = f'whole chain, {people_counts[0]} people'
    needed = rows[chain][0] / 2 - (rows[chain][1] - rows['detector'][1])
    print(f'  {chain} twice as fast as before ({rows[chain][0] / 2:.2f} s) needs the detector '
          f'at {needed:.2f} s: ' + (f'{roof["flops"]["total"] / 1e9 / needed / limit:.2f}x the '
                                    f'limit' if needed > 0 else 'not even at zero seconds'))
    return {'rows': rows, 'export_s': export_s, 'box_diff': box_diff, 'score_diff': score_diff,
            'limit': limit, 'measured': measured, **roof}


def detector_roofline(model, img, seconds, limit):
    """The detector's FLOPs on BGR photo `img` (`detector_flops`) against its measured
    `seconds = (PyTorch s, ONNX Runtime s)` and the float32 MatMul `limit` (GFLOP/s):
    `{'flops', 'proposals', 'achieved': {backend: (GFLOP/s, share of the limit)},
    'seconds_at_limit'}`."""
    from common.nets.detector import image_to_tensor
    flops, proposals = detector_flops(model, image_to_tensor(img))
    gflop = flops['total'] / 1e9
    achieved = {name: (gflop / s, gflop / s / limit)
                for name, s in zip(('PyTorch', 'ONNX Runtime'), seconds)}
    return {'flops': flops, 'proposals': proposals, 'achieved': achieved,
            'seconds_at_limit': gflop / limit}
