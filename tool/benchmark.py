"""Speed and memory of PoseNet on this machine (prints figures; not a test).

    python tool/benchmark.py                                  # ResNet-50, 256x256, batch 32
    python tool/benchmark.py --resnet 18 --batch 16 --input 128 --device cpu
    python tool/benchmark.py --device cuda --amp bf16 --channels_last

Reports training samples/s, inference images/s with and without flip test, data-loading
samples/s per worker (crop + augmentation of a generated synthetic Human36M set), and peak
memory (CUDA allocator peak on a GPU, the process's peak RSS on the CPU).
"""
import argparse
import os
import resource
import sys
import tempfile
import time

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
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        print('error: --device cuda asked for but no CUDA GPU is visible; use --device cpu',
              file=sys.stderr)
        sys.exit(2)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else \
        f'CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads)'
    print(f'device: {name}; torch {torch.__version__}')
    print(f'model: ResNet-{args.resnet}, input {args.input}x{args.input}, batch {args.batch}, '
          f'depth_dim {args.depth_dim}, amp {args.amp}, channels_last {args.channels_last}')
    results = bench_model(args, device)
    if not args.skip_loading:
        results.update(bench_loading(args))
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f'  {k:<{width}}  {v:10.1f}')
    return results


if __name__ == '__main__':
    main()
