"""`--inference_backends`: PoseNet inference images/s per backend (PyTorch eager,
channels_last, torch.compile, ONNX Runtime) and batch size, with each backend's largest
difference from eager on the same crops.
"""
import time

import numpy as np
import torch

from tool.bench.shared import onnx_predictor, random_crops, randomise_weights, timed


def bench_inference_backends(args, device):
    """Inference images/s per backend and batch size, and each backend's largest difference
    from PyTorch eager on the same crops."""
    import copy
    import warnings
    from common.nets.posenet import get_pose_net
    from main.config import Config
    from main.predictor import PoseNetPredictor

    cfg = Config(resnet_type=args.resnet, pretrained_backbone=False,
                 input_shape=(args.input, args.input), depth_dim=args.depth_dim,
                 amp=args.amp)
    model = randomise_weights(get_pose_net(cfg, False, 18), 0, cfg.input_shape).to(device)
    check = random_crops(8, 1, cfg.input_shape)
    builders = [('torch eager', lambda: PoseNetPredictor(model, cfg, None, device, cfg.amp)),
                ('torch channels_last', lambda: PoseNetPredictor(
                    copy.deepcopy(model).to(memory_format=torch.channels_last), cfg, None,
                    device, cfg.amp, channels_last=True))]
    for mode in args.compile_modes:
        builders.append((f'torch.compile ({mode})', lambda mode=mode: PoseNetPredictor(
            torch.compile(copy.deepcopy(model), mode=None if mode == 'default' else mode,
                          dynamic=False), cfg, None, device, cfg.amp)))
    if device.type == 'cpu':
        builders.append(('ONNX Runtime', lambda: onnx_predictor(model, cfg, args.threads)))

    print(f'inference images/s (no flip test), ResNet-{args.resnet}, input '
          f'{args.input}x{args.input}, on {device}, best of {args.rounds} interleaved rounds; '
          f'"diff" = max |output - eager|, "fp64" = max |output - float64 PyTorch| on 8 crops '
          f'(heatmap units)', flush=True)
    with torch.no_grad():    # what float32 rounding alone costs: a float64 reference
        exact = copy.deepcopy(model).cpu().double()(check.double()).numpy()
    predictors, diffs, setups, reference = {}, {}, {}, None
    for name, build in builders:
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                predictor = build()
                out = predictor.predict_crops(check)      # compiles / exports here
        except Exception as e:  # report and go on: compile may need a missing compiler
            why = str(e).strip().splitlines()[0][:120] if str(e).strip() else ''
            print(f'  {name}: skipped ({type(e).__name__}: {why})', flush=True)
            continue
        setups[name] = time.perf_counter() - start
        reference = out if reference is None else reference
        diffs[name] = (float(np.abs(out - reference).max()), float(np.abs(out - exact).max()))
        predictors[name] = predictor
    crops = {b: random_crops(b, 2, cfg.input_shape) for b in args.batches}
    best = {name: {b: 0. for b in args.batches} for name in predictors}
    for _ in range(args.rounds):
        for b in args.batches:
            for name, predictor in predictors.items():
                def call():
                    predictor.predict_crops(crops[b])
                first = timed(call, 1, 1, device)             # warm-up (and any recompile)
                iters = int(min(50, max(2, round(args.seconds / max(first, 1e-4)))))
                best[name][b] = max(best[name][b], b / timed(call, iters, 0, device))
    head = ''.join(f'{f"batch {b}":>10}' for b in args.batches)
    print(f'  {"backend":<42}{head}{"diff":>10}{"fp64":>10}  setup')
    for name in predictors:
        row = ''.join(f'{best[name][b]:10.1f}' for b in args.batches)
        print(f'  {name:<42}{row}{diffs[name][0]:10.1e}{diffs[name][1]:10.1e}  '
              f'{setups[name]:.1f}s')
    if 'torch eager' in best:
        for name in predictors:
            if name != 'torch eager':
                ratio = ', '.join(f'batch {b}: {best[name][b] / best["torch eager"][b]:.2f}x'
                                  for b in args.batches)
                print(f'  {name} vs eager: {ratio}')
    return {name: {'images/s': best[name], 'diff': diffs[name][0], 'fp64_error': diffs[name][1],
                   'setup_s': setups[name]} for name in predictors}
