"""Speed and memory of PoseNet, RootNet and the pipeline on this machine (prints figures; not
a test).

    python tool/benchmark.py                                  # ResNet-50, 256x256, batch 32
    python tool/benchmark.py --resnet 18 --batch 16 --input 128 --device cpu
    python tool/benchmark.py --device cuda --amp bf16 --channels_last
    python tool/benchmark.py --mupots_eval                    # only the MuPoTS-3D evaluator
    python tool/benchmark.py --pipeline                       # photo -> 3D, per stage
    python tool/benchmark.py --inference_backends --device cpu     # only the backends table
    python tool/benchmark.py --inference_backends --resnet 18 --input 64   # quick
    python tool/benchmark.py --loading                        # only loading, old vs new path
    python tool/benchmark.py --evaluation                     # only test-set evaluation
    python tool/benchmark.py --photo_chain     # CPU chain per stage, detector PyTorch vs ONNX
    python tool/benchmark.py --roofline        # MatMul limit, FLOPs, share per CPU backend
    python tool/benchmark.py --int8 --batches 1 8             # int8 vs float32 ONNX Runtime

Reports training samples/s, inference images/s with and without flip test, data-loading
samples/s per worker (crop + augmentation of a generated synthetic Human36M set), and peak
memory (CUDA allocator peak on a GPU, the process's peak RSS on the CPU).

`--inference_backends`: PoseNet inference images/s for batch 1, 8, 32 (`--batches`) with
PyTorch eager, channels_last, torch.compile (`--compile_modes`; skipped with the reason when
it cannot compile) and ONNX Runtime, each with its largest difference from eager on the same
crops (heatmap units; weights drawn so that outputs vary from crop to crop).
`--loading`: samples/s of one data-loading worker (one PyTorch and one OpenCV thread, as in a
DataLoader worker): the original (a full-image copy, float patch, `get_transform`), today's
float path (the copy only when occlusion paints), and the uint8 path (`RAW_UINT8`, normalised
on the device), interleaved rounds, best of each; plus the share of the JPEG decode and the
cost of `normalise_batch` per sample on this CPU.
With either flag only the chosen sections run.
`--evaluation`: entries/s of `evaluate` (result files included) of every test set at 1x, 10x
and 100x entries, against the original's per-entry procedure (`tool/reference.py`).
`--h36m_loading`: time and peak memory of `Human36M('train', cfg)` on generated annotation-only
trees (`tool/h36m_annotation_tree.py`) at 1/20, 1/5 (and with `--full` full) size, each in a
fresh process, against the original's way of loading; also the second start (cache).
"""
import argparse
import contextlib
import io
import os
import os.path as osp
import resource
import sys
import tempfile
import time

import numpy as np
import torch


def peak_memory_mib(device):
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    # ru_maxrss is KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed(fn, iters, warmup, device):
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return (time.perf_counter() - start) / iters


def bench_model(args, device):
    from common.nets.posenet import get_pose_net
    from main.config import Config
    from main.predictor import PoseNetPredictor, autocast_context

    cfg = Config().update(resnet_type=args.resnet, pretrained_backbone=False,
                          input_shape=(args.input, args.input), depth_dim=args.depth_dim,
                          amp=args.amp, channels_last=args.channels_last)
    joint_num = 18
    model = get_pose_net(cfg, True, joint_num).to(device)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(device.type, enabled=args.amp == 'fp16')
    img = torch.randn(args.batch, 3, args.input, args.input, device=device).to(memory_format=fmt)
    h, w = cfg.output_shape
    target = {'coord': torch.rand(args.batch, joint_num, 3, device=device) *
              torch.tensor([w - 1, h - 1, cfg.depth_dim - 1], device=device),
              'vis': torch.ones(args.batch, joint_num, 1, device=device),
              'have_depth': torch.ones(args.batch, 1, device=device)}

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        with autocast_context(device, args.amp):
            loss = model(img, target).float().mean()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    flip_pairs = ((1, 4), (2, 5), (3, 6), (14, 11), (15, 12), (16, 13))

    plain = PoseNetPredictor(model, cfg, None, device)
    flipping = PoseNetPredictor(model, cfg, flip_pairs, device)

    def infer(flip):
        (flipping if flip else plain).predict_crops(img)

    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    model.train()
    t_train = timed(train_step, args.iters, args.warmup, device)
    train_mem = peak_memory_mib(device)
    model.eval()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    t_infer = timed(lambda: infer(False), args.iters, args.warmup, device)
    t_flip = timed(lambda: infer(True), args.iters, args.warmup, device)
    infer_mem = peak_memory_mib(device)
    return {
        'train samples/s': args.batch / t_train,
        'inference images/s': args.batch / t_infer,
        'inference images/s (flip test)': args.batch / t_flip,
        'peak memory train (MiB)': train_mem,
        'peak memory inference (MiB)': infer_mem,
    }


def random_crops(n, seed, input_shape):
    """Normalised crops (the original's 0..255 normalisation) of smooth random images, float32
    `(n, 3, H, W)`: 8x8-pixel random colours upsampled, so closer to photos than pixel noise."""
    import torch.nn.functional as F
    from data.dataset import normalise_batch
    g = torch.Generator().manual_seed(seed)
    h, w = input_shape
    low = torch.randint(0, 256, (n, 3, max(1, h // 8), max(1, w // 8)), generator=g).float()
    img = F.interpolate(low, size=(h, w), mode='bilinear', align_corners=False)
    img = img.round().clamp(0, 255).to(torch.uint8)
    return normalise_batch(img, None, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def randomise_weights(model, seed, input_shape, k=None, logit_std=3.0):
    """Fixed-seed weights under which PoseNet/RootNet outputs vary from crop to crop (the
    networks' own init, `normal(0, 0.001)`, gives near-constant ones, which would make any two
    backends agree): PyTorch's default init of every conv, batch-norm statistics measured on
    `random_crops`, the last 1x1 conv scaled so that the heatmap logits have standard
    deviation `logit_std`. `k`: RootNet's camera-distance factor for those passes. Returns the
    model in eval mode."""
    import torch.nn as nn
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            m.reset_parameters()
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None           # cumulative average over the passes below

    def run(x):
        return model(x) if k is None else model(x, torch.full((len(x), 1), float(k)))
    model.train()
    with torch.no_grad():
        for s in range(3):
            run(random_crops(8, 100 + s, input_shape))
    model.eval()
    final = model.head.final_layer if hasattr(model, 'head') else model.root.xy_layer
    seen = {}
    hook = final.register_forward_hook(lambda mod, i, out: seen.update(out=out))
    with torch.no_grad():
        run(random_crops(4, 200, input_shape))
        hook.remove()
        final.weight.mul_(logit_std / seen['out'].std())
    return model


def bench_inference_backends(args, device):
    """Inference images/s per backend and batch size, and each backend's largest difference
    from PyTorch eager on the same crops."""
    import copy
    import warnings
    from common.nets.posenet import get_pose_net
    from main.config import Config
    from main.predictor import PoseNetPredictor

    cfg = Config().update(resnet_type=args.resnet, pretrained_backbone=False,
                          input_shape=(args.input, args.input), depth_dim=args.depth_dim,
                          amp=args.amp)
    model = randomise_weights(get_pose_net(cfg, False, 18), 0, cfg.input_shape).to(device)
    check = random_crops(8, 1, cfg.input_shape)
    builders = [('torch eager', lambda: PoseNetPredictor(model, cfg, None, device)),
                ('torch channels_last', lambda: PoseNetPredictor(
                    copy.deepcopy(model).to(memory_format=torch.channels_last),
                    copy.deepcopy(cfg).update(channels_last=True), None, device))]
    for mode in args.compile_modes:
        builders.append((f'torch.compile ({mode})', lambda mode=mode: PoseNetPredictor(
            torch.compile(copy.deepcopy(model), mode=None if mode == 'default' else mode,
                          dynamic=False), cfg, None, device)))
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


def onnx_predictor(model, cfg, threads=None):
    """PoseNet through ONNX Runtime (`threads` intra-op threads, None: its default): the model
    exported to a temporary file."""
    from main.onnx_backend import OnnxNetwork, export_onnx
    from main.predictor import PoseNetPredictor
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'posenet.onnx')
        export_onnx(model, path, 'PoseNet', cfg.model_settings())
        net = OnnxNetwork(path, threads)   # the session holds the model; the file can go
    return PoseNetPredictor(net, cfg, None, torch.device('cpu'))


def bench_loading_paths(args):
    """Samples/s of one loading worker, the original float path against the uint8 path."""
    import cv2
    from data.dataset import RAW_UINT8, DatasetLoader, get_transform, load_image, normalise_batch
    from data.Human36M.Human36M import Human36M
    from main.config import Config
    from tool.synthetic_data import generate

    threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)        # what a DataLoader worker runs with
    cv2.setNumThreads(1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            generate(tmp, datasets=['Human36M'], seed=0, img_size=args.img_size,
                     num_frames=args.load_frames)
            cfg = Config().update(data_dir=tmp, input_shape=(args.input, args.input))
            db = Human36M('train', cfg)
            float_path = get_transform(cfg.pixel_mean, cfg.pixel_std)
            paths = {'original (copy + float + transform)': float_path,
                     'float path now (get_transform)': float_path,
                     'uint8 path (RAW_UINT8)': RAW_UINT8}
            loaders = {name: DatasetLoader(db, None, True, t, input_shape=cfg.input_shape,
                                           output_shape=cfg.output_shape,
                                           depth_dim=cfg.depth_dim,
                                           bbox_3d_shape=cfg.bbox_3d_shape)
                       for name, t in paths.items()}
            n = args.load_samples
            best = {name: 0. for name in loaders}
            import data.dataset as ds
            crop = ds.generate_patch_image

            def crop_as_before(cvimg, *a, **k):   # the original copied every image first
                return crop(cvimg.copy(), *a, **k)
            for _ in range(args.load_rounds):
                for name, loader in loaders.items():
                    ds.generate_patch_image = crop_as_before if name.startswith('orig') else crop
                    try:
                        np.random.seed(0)
                        loader[0]
                        start = time.perf_counter()
                        for i in range(n):
                            loader[i % len(loader)]
                    finally:
                        ds.generate_patch_image = crop
                    best[name] = max(best[name], n / (time.perf_counter() - start))
            files = [e['img_path'] for e in db.data[:n]]
            start = time.perf_counter()
            for f in files:
                load_image(f)
            decode = (time.perf_counter() - start) / len(files)
            raw = torch.utils.data.default_collate([loaders['uint8 path (RAW_UINT8)'][i][0]
                                                    for i in range(32)])
            t_norm = timed(lambda: normalise_batch(raw['img'], raw['color_scale'],
                                                   cfg.pixel_mean, cfg.pixel_std),
                           5, 1, torch.device('cpu')) / 32
    finally:
        torch.set_num_threads(threads[0])
        cv2.setNumThreads(threads[1])
    print(f'data loading, one worker (1 torch + 1 OpenCV thread), {args.img_size}x'
          f'{args.img_size} JPEGs, training augmentation, {args.input}x{args.input} crops, '
          f'best of {args.load_rounds} interleaved rounds of {n} samples:')
    names = list(best)
    for name in names:
        print(f'  {name:<38}{best[name]:8.1f} samples/s')
    print(f'  speed-up uint8 path / original {best[names[2]] / best[names[0]]:.2f}x; JPEG decode '
          f'alone {decode * 1e3:.2f} ms/sample = {decode * best[names[2]] * 100:.0f}% of the uint8 '
          f'path; normalise_batch on this CPU {t_norm * 1e3:.3f} ms/sample (on the device '
          f'in training)')
    return {'loading samples/s per worker': best, 'decode ms': decode * 1e3,
            'normalise ms': t_norm * 1e3}


def bench_loading(args):
    """Samples/s of one data-loading worker: read, crop, augment, normalise (training mode)."""
    from data.dataset import DatasetLoader, get_transform
    from data.Human36M.Human36M import Human36M
    from main.config import Config
    from tool.synthetic_data import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, datasets=['Human36M'], seed=0, img_size=args.img_size,
                 num_frames=args.load_frames)
        cfg = Config().update(data_dir=tmp, input_shape=(args.input, args.input))
        db = Human36M('train', cfg)
        loader = DatasetLoader(db, None, True, get_transform(cfg.pixel_mean, cfg.pixel_std),
                               input_shape=cfg.input_shape, output_shape=cfg.output_shape,
                               depth_dim=cfg.depth_dim, bbox_3d_shape=cfg.bbox_3d_shape)
        n = min(len(loader), args.load_samples)
        loader[0]
        start = time.perf_counter()
        for i in range(n):
            loader[i % len(loader)]
        elapsed = time.perf_counter() - start
    return {'data loading samples/s per worker': n / elapsed}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--resnet', type=int, default=50, choices=[18, 34, 50, 101, 152])
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--input', type=int, default=256, help='square input size (px)')
    parser.add_argument('--depth_dim', type=int, default=64)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', choices=['none', 'bf16', 'fp16'], default='none')
    parser.add_argument('--channels_last', action='store_true')
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--img_size', type=int, default=1000,
                        help='synthetic image size for the loading benchmark (Human3.6M: 1000)')
    parser.add_argument('--load_frames', type=int, default=2)
    parser.add_argument('--load_samples', type=int, default=100)
    parser.add_argument('--skip_loading', action='store_true')
    parser.add_argument('--mupots_eval', action='store_true',
                        help='only time the MuPoTS-3D evaluator against a per-person loop')
    parser.add_argument('--pipeline', action='store_true',
                        help='only time the photo-to-3D pipeline per image (detector, RootNet, '
                             'PoseNet separately) for 1 and 5 people')
    parser.add_argument('--detector', default='fasterrcnn_resnet50_fpn_v2',
                        help='detector of --pipeline (random weights: same cost, no download)')
    parser.add_argument('--inference_backends', action='store_true',
                        help='inference images/s per backend (eager, channels_last, '
                             'torch.compile, ONNX Runtime) for --batches')
    parser.add_argument('--batches', type=int, nargs='+', default=[1, 8, 32])
    parser.add_argument('--compile_modes', nargs='*', default=['default'],
                        help="torch.compile modes to time (e.g. default "
                             "max-autotune-no-cudagraphs; none: skip torch.compile)")
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads of PyTorch and ONNX Runtime (default: theirs, one per '
                             'core); 1 gives steadier figures on a shared machine')
    parser.add_argument('--rounds', type=int, default=2,
                        help='interleaved rounds of --inference_backends (best one counts)')
    parser.add_argument('--seconds', type=float, default=1.5,
                        help='about how long each --inference_backends measurement runs')
    parser.add_argument('--loading', action='store_true',
                        help='data loading per worker: original float path vs uint8 path')
    parser.add_argument('--load_rounds', type=int, default=3)
    parser.add_argument('--evaluation', action='store_true',
                        help='only time evaluate() of every test set at 1x, 10x, 100x entries')
    parser.add_argument('--eval_entries', type=int, default=3600,
                        help='entries of the 1x evaluation (then 10x and 100x)')
    parser.add_argument('--eval_scales', type=int, nargs='+', default=[1, 10, 100])
    parser.add_argument('--roofline', action='store_true',
                        help='only the roofline: ONNX Runtime float32 MatMul rate, FLOPs per '
                             'image, achieved GFLOP/s and share per CPU backend (batch 8)')
    parser.add_argument('--matmul_n', type=int, default=2048,
                        help='--roofline: size of the square MatMul that sets the limit')
    parser.add_argument('--int8', action='store_true',
                        help='only int8 vs float ONNX Runtime: images/s at --batches')
    parser.add_argument('--photo_chain', action='store_true',
                        help='only the CPU photo chain per stage, detector in PyTorch (before) '
                             'and in ONNX Runtime (after), 1 and 5 people')
    parser.add_argument('--h36m_loading', action='store_true',
                        help='only time and measure loading Human3.6M (generated annotations)')
    parser.add_argument('--full', action='store_true',
                        help='--h36m_loading: also the full size (about 1 GB of files, minutes)')
    parser.add_argument('--h36m_dir', help='--h36m_loading: keep the generated trees here')
    args = parser.parse_args(argv)
    if args.h36m_loading:
        return bench_h36m_loading(args.full, args.h36m_dir)
    if args.roofline:
        from tool.bench.roofline import bench_roofline
        return bench_roofline(args)
    if args.int8:
        from tool.bench.int8 import bench_int8_speed
        return bench_int8_speed(args)
    if args.photo_chain:
        from tool.bench.photo_chain import bench_photo_chain
        return bench_photo_chain(args)
    if args.mupots_eval:
        return bench_mupots_eval()
    if args.pipeline:
        return bench_pipeline(args, torch.device(args.device))
    if args.evaluation:
        return bench_evaluation(args.eval_entries, args.eval_scales)

    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == 'cuda' and not torch.cuda.is_available():
        print('error: --device cuda asked for but no CUDA GPU is visible; use --device cpu',
              file=sys.stderr)
        sys.exit(2)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else \
        f'CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads)'
    print(f'device: {name}; torch {torch.__version__}')
    if args.inference_backends or args.loading:
        results = {}
        if args.inference_backends:
            results['inference'] = bench_inference_backends(args, device)
        if args.loading:
            results['loading'] = bench_loading_paths(args)
        return results
    print(f'model: ResNet-{args.resnet}, input {args.input}x{args.input}, batch {args.batch}, '
          f'depth_dim {args.depth_dim}, amp {args.amp}, channels_last {args.channels_last}')
    results = bench_model(args, device)
    if not args.skip_loading:
        results.update(bench_loading(args))
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f'  {k:<{width}}  {v:10.1f}')
    return results


def bench_mupots_eval(num_sequences=20, people=8000, seed=0):
    """Time `data/MuPoTS/mupots_eval.py` on a full-size MuPoTS-3D built in memory (`load_kit`'s
    layout: `num_sequences` sequences, about `people` annotated people, 2-3 per frame; noisy
    predictions in shuffled order with missed people, extra detections and invisible joints)
    against a straightforward per-person Python loop of the same procedure (relative 3D, all
    annotated people). Prints both times, the ratio and whether the 3DPCK / AUC agree."""
    import numpy as np
    from data.MuPoTS import mupots_eval as ev

    rng = np.random.default_rng(seed)
    base = rng.normal(0., 250., (17, 3))
    base[14] = 0.
    kit, pred_2d, pred_3d = [], {}, {}
    per_seq = people // num_sequences
    for num in range(1, num_sequences + 1):
        frames, count = [], 0
        while count < per_seq:
            g = min(int(rng.integers(2, 4)), per_seq - count)
            count += g
            where = np.c_[rng.uniform(-2500., 2500., g), rng.uniform(-200., 200., g),
                          rng.uniform(3000., 7000., g)]
            gt_3d = base + rng.normal(0., 40., (g, 17, 3)) + where[:, None]
            gt_2d = gt_3d[..., :2] / gt_3d[..., 2:] * 1500. + 1024.
            frames.append({'gt_2d': gt_2d, 'gt_3d': gt_3d, 'occluded': rng.random((g, 17)) < .15})
            keep = np.flatnonzero(rng.random(g) > .1)                   # 10% missed
            extra = int(rng.random() < .3)                              # a false detection
            p3 = np.concatenate([gt_3d[keep] + rng.normal(0., 70., (len(keep), 17, 3)),
                                 base + rng.normal(0., 40., (extra, 17, 3)) + [0., 0., 5000.]])
            p2 = p3[..., :2] / p3[..., 2:] * 1500. + 1024. + rng.normal(0., 8., p3.shape[:2] + (2,))
            p2[rng.random(p2.shape[:2]) < .05] = 0.                     # invisible joints
            order = rng.permutation(len(p3))
            pred_2d[ev.image_key(num, len(frames) - 1)] = p2[order]
            pred_3d[ev.image_key(num, len(frames) - 1)] = p3[order]
        kit.append((num, frames))
    total = sum(len(f['gt_2d']) for _, frames in kit for f in frames)
    num_frames = sum(len(frames) for _, frames in kit)

    def reference():
        """Per frame, per person: the kit's matching, bone rescaling and errors one at a time."""
        idx = np.asarray(ev.MATCH_JOINTS_1BASED) - 1
        per_seq_metrics = []
        for num, frames in kit:
            seq_errors = []
            for i, frame in enumerate(frames):
                key = ev.image_key(num, i)
                p2, p3 = pred_2d.get(key, np.zeros((0, 17, 2))), pred_3d.get(key)
                taken = np.zeros(len(p2), bool)
                for g in range(len(frame['gt_2d'])):
                    best, best_score = -1, 0
                    for p in range(len(p2)):
                        if taken[p]:
                            continue
                        visible = np.any(p2[p, idx] != 0, axis=1)
                        near = np.all(np.abs(p2[p, idx] - frame['gt_2d'][g, idx]) < 40., axis=1)
                        score = int(np.sum(visible & near))
                        if score > best_score:
                            best, best_score = p, score
                    if best < 0:
                        seq_errors.append(np.full(17, np.inf))
                        continue
                    taken[best] = True
                    pred = p3[best] - p3[best, 14]
                    gt = frame['gt_3d'][g] - frame['gt_3d'][g, 14]
                    out = pred.copy()
                    for joint in ev.BONE_ORDER_1BASED:
                        j, parent = joint - 1, ev.PARENTS_1BASED[joint - 1] - 1
                        bone = pred[j] - pred[parent]
                        out[j] = out[parent] + bone * np.linalg.norm(gt[j] - gt[parent]) / \
                            np.linalg.norm(bone)
                    seq_errors.append(np.linalg.norm(out - gt, axis=1))
            err = np.asarray(seq_errors)[:, :14]
            per_seq_metrics.append((100. * np.mean(err < 150.), 100. * np.mean(
                [np.mean(err < t) for t in ev.AUC_THRESHOLDS_MM])))
        return np.mean(per_seq_metrics, axis=0)

    def ours():
        return ev.score_predictions(pred_2d, pred_3d, kit, 'all', True, verbose=False)

    def best_of(fn, repeat):
        times, result = [], None
        for _ in range(repeat):
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
        return min(times), result

    t_ours, metrics = best_of(ours, 3)
    t_four, _ = best_of(lambda: ev.evaluate_all_variants(pred_2d, pred_3d, kit, verbose=False),
                        1)
    t_ref, (ref_pck, ref_auc) = best_of(reference, 1)
    same = abs(ref_pck - metrics['pck']) < 1e-9 and abs(ref_auc - metrics['auc']) < 1e-9
    print(f'MuPoTS-3D evaluator: {num_sequences} sequences, {num_frames} frames, '
          f'{total} annotated people, {sum(len(v) for v in pred_2d.values())} predictions')
    results = {'evaluator, one variant (s)': t_ours,
               'evaluator, all four variants (s)': t_four,
               'per-person Python loop (s)': t_ref,
               'speed-up (loop / evaluator)': t_ref / t_ours}
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f'  {k:<{width}}  {v:10.3f}')
    print(f'  3DPCK {metrics["pck"]:.4f} / AUC {metrics["auc"]:.4f} (loop: {ref_pck:.4f} / '
          f'{ref_auc:.4f}, {"equal" if same else "DIFFERENT"})')
    return results


def bench_pipeline(args, device, people_counts=(1, 5), img_size=(640, 480)):
    """Seconds per image of each stage of `main.pipeline.Pipeline` on a `img_size` photo: the
    detector (torchvision, random weights: the same cost without a download), RootNet and
    PoseNet (ResNet-`args.resnet`, `args.input` px, random weights) for 1 and 5 people, each
    network running all people in one batch. Best of `args.iters` calls after `args.warmup`."""
    import numpy as np
    from common.nets.detector import PersonDetector
    from common.nets.posenet import get_pose_net
    from common.nets.rootnet import get_root_net
    from data.joint_sets import MUCO_JOINTS, MUCO_SKELETON
    from main.config import Config
    from main.pipeline import Pipeline
    from main.predictor import PoseNetPredictor, RootNetPredictor

    cfg = Config().update(resnet_type=args.resnet, pretrained_backbone=False,
                          input_shape=(args.input, args.input), amp=args.amp,
                          channels_last=args.channels_last)
    torch.manual_seed(0)
    posenet = PoseNetPredictor(get_pose_net(cfg, True, 21).to(device).eval(), cfg, None, device,
                               MUCO_JOINTS, MUCO_SKELETON)
    rootnet = RootNetPredictor(get_root_net(cfg, True).to(device).eval(), cfg, device)
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


def best_time(fn, repeat):
    """Shortest wall time of `repeat` calls of `fn` (its printing silenced)."""
    times = []
    for _ in range(repeat):
        with contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return min(times)


def evaluation_cases(tmp):
    """`[(name, db, preds, ours, original)]`: the test sets on a small generated tree with
    noisy predictions; `ours(db, preds, out)` / `original(...)` evaluate them."""
    import numpy as np
    from common.utils.pose_utils import cam_to_heatmap
    from data.entries import stack_entries
    from data.Human36M.Human36M import Human36M
    from data.MSCOCO.MSCOCO import MSCOCO
    from data.MuPoTS.MuPoTS import MuPoTS
    from data.result_files import coco_key, mupots_key
    from main.config import Config
    from tool import reference
    from tool.synthetic_data import generate

    generate(tmp, datasets=['Human36M', 'MSCOCO', 'MuPoTS'], seed=0, img_size=64, num_images=8,
             num_sequences=4, num_frames=4, h36m_subjects=(9, 11), h36m_actions=4,
             h36m_cameras=4, h36m_frames=(0, 64, 128))
    cfg = Config().update(data_dir=tmp)
    rng = np.random.default_rng(0)

    def noisy(db):
        """Ground truth in heatmap space plus 1.5 bins of noise (COCO: anywhere)."""
        coord = cam_to_heatmap(np.stack([e['joint_cam'] for e in db.data]),
                               stack_entries(db.data, 'bbox', (4,)),
                               stack_entries(db.data, 'root_cam', (3,))[:, 2],
                               stack_entries(db.data, 'f', (2,)),
                               stack_entries(db.data, 'c', (2,)), *db.heatmap)
        preds = rng.uniform(0, 32, (len(db.data), db.joint_num, 3))
        if type(db).__name__ != 'MSCOCO':
            preds[:, :coord.shape[1]] = coord + rng.normal(0, 1.5, coord.shape)
        return preds

    cases = []
    for protocol in (1, 2):
        db = Human36M('test', cfg, protocol=protocol)
        cases.append((f'Human36M protocol {protocol}', db, noisy(db),
                      lambda d, p, out: d.evaluate(p, out), reference.h36m_evaluate))
    for cls, name, key in ((MuPoTS, 'mupots', mupots_key), (MSCOCO, 'coco', coco_key)):
        db = cls('test', cfg)
        db.data_dir = osp.join(tmp, 'no_kit')     # MuPoTS: export only (3DPCK: --mupots_eval)
        cases.append((cls.__name__, db, noisy(db), lambda d, p, out: d.evaluate(p, out),
                      lambda d, p, out, name=name, key=key:
                      reference.export_mats(d, p, out, name, key)))
    return cases


def replicate(data, preds, num, rename):
    """`(entries, preds)` of `num` entries: `data` repeated; with `rename` (multi-person sets)
    the copies get their own images (`<stem>_<copy>`), so people per image stay as generated."""
    import numpy as np
    idx = np.arange(num) % len(data)
    if not rename:
        return [data[i] for i in idx], preds[idx]
    copies = []
    for n, i in enumerate(idx.tolist()):
        e, copy = data[i], n // len(data)
        stem, ext = osp.splitext(e['img_path'])
        copies.append(dict(e, img_path=f'{stem}_{copy}{ext}') if copy else e)
    return copies, preds[idx]


def bench_evaluation(base=3600, scales=(1, 10, 100)):
    """Seconds and entries/s of `evaluate` (result files written) for every test set at
    `base * scale` entries, ours against the original's per-entry procedure. Prints a table."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'result')
        os.makedirs(out)
        for name, db, preds, ours, original in evaluation_cases(osp.join(tmp, 'data')):
            full = db.data
            for scale in scales:
                db.data, p = replicate(full, preds, base * scale, name[:5] != 'Human')
                repeat = 3 if scale * base <= 40000 else 2      # best of: the machine is shared
                t_ours = best_time(lambda: ours(db, p, out), repeat)
                t_orig = best_time(lambda: original(db, p, out), repeat)
                rows.append((name, len(db.data), t_orig, t_ours))
            db.data = full
    print('evaluate() with result files; original = per-entry loop + json.dump / '
          'scipy.io.savemat (tool/reference.py)')
    print(f'  {"test set":<20} {"entries":>8} {"original s":>11} {"entries/s":>10} '
          f'{"ours s":>8} {"entries/s":>10} {"speed-up":>8}')
    for name, num, t_orig, t_ours in rows:
        print(f'  {name:<20} {num:>8} {t_orig:>11.3f} {num / t_orig:>10.0f} {t_ours:>8.3f} '
              f'{num / t_ours:>10.0f} {t_orig / t_ours:>7.1f}x')
    return rows


LOAD_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from tool.h36m_annotation_tree import measure_load
print(json.dumps(measure_load(*sys.argv[2:])))
"""


def bench_h36m_loading(full=False, keep_dir=None, frames=(70, 280)):
    """Time and peak memory of loading the Human3.6M training set (protocol 2) of generated
    annotation-only trees with `frames` frames per sequence (1,400: the real size; `full` adds
    it): the original's way and ours (first start, second start from the cache), each in a
    fresh process. Trees are kept in `keep_dir` when given. Prints a table; returns its rows."""
    import json
    import shutil
    import subprocess
    from data.Human36M.Human36M import PROTOCOL_SUBJECTS
    from tool.h36m_annotation_tree import write_tree

    def run(data_dir, how):
        root = osp.dirname(osp.dirname(osp.abspath(__file__)))
        out = subprocess.run([sys.executable, '-c', LOAD_SCRIPT, root, data_dir, how],
                             check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for num in list(frames) + ([1400] if full else []):
            data_dir = osp.join(keep_dir or tmp, f'h36m_{num}')
            if not osp.isdir(osp.join(data_dir, 'Human36M')):
                write_tree(data_dir, frames=num)
            shutil.rmtree(osp.join(data_dir, 'Human36M', 'cache'), ignore_errors=True)
            label = 'full' if num == 1400 else (f'1/{1400 // num}' if 1400 % num == 0 else
                                                f'{num} fr')
            parsed = len(PROTOCOL_SUBJECTS[2]['train']) * 15 * 2 * 4 * num
            rows.append((label, parsed) + tuple(run(data_dir, how)
                                                 for how in ('original', 'ours', 'ours')))
    print("Human36M('train') protocol 2 of generated annotations; each in a fresh process; "
          "MiB = peak RSS above the RSS before loading")
    print(f'  {"size":<5} {"parsed":>8} {"entries":>8} {"original s":>10} {"MiB":>6} '
          f'{"ours s":>7} {"MiB":>6} {"2nd start s":>11} {"MiB":>6} {"faster":>6} '
          f'{"lighter":>7}')
    for label, parsed, orig, first, second in rows:
        print(f'  {label:<5} {parsed:>8} {first["entries"]:>8} {orig["seconds"]:>10.2f} '
              f'{orig["peak_mib"]:>6.0f} {first["seconds"]:>7.2f} {first["peak_mib"]:>6.0f} '
              f'{second["seconds"]:>11.3f} {second["peak_mib"]:>6.0f} '
              f'{orig["seconds"] / first["seconds"]:>5.1f}x '
              f'{orig["peak_mib"] / max(first["peak_mib"], 1e-3):>6.1f}x')
    return rows

if __name__ == '__main__':
    main()
