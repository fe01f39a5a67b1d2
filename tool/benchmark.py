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

Each section's code is a module of tool/bench/ (`shared.py`: timing, random weights and crops).
"""
import argparse
import os
import sys

import torch

# the shared helpers first: a section module may import them from here
from tool.bench.shared import (onnx_predictor, peak_memory_mib, random_crops,  # noqa: F401
                               randomise_weights, sync, timed)
from tool.bench import (backends, evaluation, h36m_loading, loading, model, mupots_eval,
                        pipeline)


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
    parser.add_argument('--video_speed', action='store_true',
                        help='only the video chain: frames/s at --detect_every 1 and 10, a '
                             'folder with the reader thread, memory on a long clip')
    parser.add_argument('--video_quality', action='store_true',
                        help='only tracking and smoothing quality on synthetic clips')
    parser.add_argument('--gpu_check', nargs=argparse.REMAINDER, default=None, metavar='OPTION',
                        help='last flag: check and measure every CUDA path in one go (tests, '
                             'training, torchrun, test driver, demo, throughput table); its '
                             'own options follow it (--gpu_check --help)')
    args = parser.parse_args(argv)
    if args.gpu_check is not None:
        from tool.bench import gpu_check
        sys.exit(gpu_check.run(args))
    if args.video_speed:
        from tool.bench import video_speed
        return video_speed.run(args)
    if args.video_quality:
        from tool.bench import video_quality
        return video_quality.run(args)
    if args.h36m_loading:
        return h36m_loading.run(args)
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
        return mupots_eval.run(args)
    if args.pipeline:
        return pipeline.run(args)
    if args.evaluation:
        return evaluation.run(args)

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
            results['inference'] = backends.bench_inference_backends(args, device)
        if args.loading:
            results['loading'] = loading.bench_loading_paths(args)
        return results
    print(f'model: ResNet-{args.resnet}, input {args.input}x{args.input}, batch {args.batch}, '
          f'depth_dim {args.depth_dim}, amp {args.amp}, channels_last {args.channels_last}')
    results = model.bench_model(args, device)
    if not args.skip_loading:
        results.update(loading.bench_loading(args))
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f'  {k:<{width}}  {v:10.1f}')
    return results


if __name__ == '__main__':
    main()
