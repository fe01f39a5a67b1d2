"""`python tool/benchmark.py --gpu_check [OPTION ...]`: every CUDA path checked and measured in
one command, in under 8 minutes on one GPU (docs/gpu.md).

    python tool/benchmark.py --gpu_check                       # on a machine with a GPU
    python tool/benchmark.py --gpu_check --dry_run             # print the commands only
    python tool/benchmark.py --gpu_check --device cpu --iters 2 --batch 5   # the CPU form

Each step runs as a subprocess with a timeout, in this order: preparation (a tiny synthetic
Human3.6M + MPII set, a random RootNet snapshot, random detector weights, a photo), the test
suite's GPU-marked tests, `--iters` iterations of `main/train.py --gpu 0` (every visible GPU:
DataParallel when there are several) in float32, bf16 and fp16 AMP, channels_last and the GPU
data path, a 1-process `torchrun` run (NCCL), the test driver, the demo with `--gpu 0` (the
detector, then given boxes with RootNet), and the throughput table (training and inference
samples/s of PoseNet and MFU against the GPU's bf16 dense peak; samples/s of both data paths).
It prints one table and exits 1 when a step failed, 2 (one line) without CUDA.

`--device cpu` runs the same commands without `--gpu` on the CPU, so that tests can check the
commands themselves: every step but the GPU-marked tests and the AMP runs (CPU autocast is
another code path, and slow), with float32 rows only in the throughput table.
"""
import argparse
import json
import math
import os
import os.path as osp
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT_DIR = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# bf16 dense tensor-core peak (TFLOP/s, without sparsity) from NVIDIA's data sheets, by a
# pattern of `torch.cuda.get_device_name()`; first match wins (specific names first). GPUs
# without bf16 (V100, T4) have their fp16 tensor peak.
BF16_PEAK_TFLOPS = (
    (r'GH200', 989.4),
    (r'H200.*NVL', 835.5),
    (r'H200', 989.4),
    (r'H100.*PCIe', 756.5),
    (r'H100.*NVL', 835.5),
    (r'H100|H800', 989.4),
    (r'B200', 2250.0),
    (r'A100|A800', 312.0),
    (r'L40S', 362.1),
    (r'L40\b', 181.0),
    (r'\bL4\b', 121.0),
    (r'\bA10\b', 125.0),
    (r'A6000', 154.8),
    (r'V100', 125.0),
    (r'\bT4\b', 65.0),
)

TRAIN_RUNS = (   # name, extra train.py arguments
    ('train fp32', []),
    ('train bf16 AMP', ['--amp', 'bf16']),
    ('train fp16 AMP', ['--amp', 'fp16']),
    ('train channels_last', ['--channels_last']),
    ('train GPU data path', ['--cfg', 'data_backend=gpu']),
)
H36M_TRAIN_SUBJECTS = 5      # S1, S5, S6, S7, S8; every 5th frame is kept for training
DEMO_BOX = ('140', '60', '250', '330')   # Grace Hopper in matplotlib's grace_hopper.jpg


def bf16_peak_tflops(device_name):
    """The bf16 dense peak (TFLOP/s) of a GPU named `device_name`, or None when unknown."""
    for pattern, tflops in BF16_PEAK_TFLOPS:
        if re.search(pattern, device_name, re.IGNORECASE):
            return tflops
    return None


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='tool/benchmark.py --gpu_check', description=__doc__.splitlines()[0])
    parser.add_argument('--device', choices=['cuda', 'cpu'], default='cuda',
                        help='cuda (default); cpu runs the steps that have a CPU form, to test '
                             'the commands')
    parser.add_argument('--dry_run', action='store_true', help='print the commands, run nothing')
    parser.add_argument('--iters', type=int, default=20, help='training iterations per run')
    parser.add_argument('--batch', type=int, default=8, help='training batch per GPU')
    parser.add_argument('--resnet', type=int, default=None, choices=[18, 34, 50, 101, 152],
                        help='ResNet of the runs (default: 50 on cuda, 18 on cpu)')
    parser.add_argument('--input', type=int, default=None,
                        help='square crop size (default: 256 on cuda, 64 on cpu)')
    parser.add_argument('--bench_batch', type=int, default=None,
                        help='batch of the throughput table (default: 64 on cuda, 2 on cpu)')
    parser.add_argument('--bench_iters', type=int, default=None,
                        help='timed iterations per throughput row (default: 15 on cuda, 1 on '
                             'cpu)')
    parser.add_argument('--peak_tflops', type=float, default=None,
                        help="the GPU's bf16 dense peak in TFLOP/s when its name is not known")
    parser.add_argument('--budget', type=float, default=480.,
                        help='seconds for all steps together (a step gets at most what is left)')
    parser.add_argument('--steps', nargs='+', default=None, metavar='NAME',
                        help='run only the steps whose name starts with one of these')
    parser.add_argument('--work_dir', default=None,
                        help='keep data, runs and outputs here (default: a temporary folder, '
                             'removed afterwards)')
    # internal: the steps that run this module itself
    parser.add_argument('--prepare', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--throughput', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cuda = args.device == 'cuda'
    for name, on_gpu, on_cpu in (('resnet', 50, 18), ('input', 256, 64),
                                 ('bench_batch', 64, 2), ('bench_iters', 15, 1)):
        if getattr(args, name) is None:
            setattr(args, name, on_gpu if cuda else on_cpu)
    return args


# -- what the steps run --------------------------------------------------------------------------
def kept_frames(iters, batch):
    """Training frames per subject of the synthetic Human3.6M for one epoch of `iters`
    iterations of `batch` samples: 5 training subjects x F frames, mixed with (fewer) MPII
    samples into 2 x 5F."""
    return max(1, math.ceil(iters * batch / (2 * H36M_TRAIN_SUBJECTS)))


def h36m_frames(kept):
    """Frame indices giving `kept` training frames (the training split keeps every 5th), plus
    frame 64 for the test split (which keeps every 64th)."""
    return sorted(set(range(0, 5 * kept, 5)) | {64})


def epoch_iterations(kept, batch):
    """Iterations of one epoch with `kept` frames per subject and batches of `batch`."""
    return math.ceil(2 * H36M_TRAIN_SUBJECTS * kept / batch)


class Step:
    """One subprocess: `name`, `argv`, `timeout` s, and `check(stdout)` giving `(ok, detail)`
    after a zero exit (None: the exit status alone)."""

    def __init__(self, name, argv, timeout, check=None):
        self.name, self.argv, self.timeout, self.check = name, argv, timeout, check


def model_cfg(args):
    """`--cfg` items of the runs (the model and a small loader)."""
    return ['resnet_type=%d' % args.resnet, 'pretrained_backbone=False',
            f'input_shape=({args.input}, {args.input})', f'batch_size={args.batch}',
            f'test_batch_size={args.batch}', 'num_thread=%d' % (4 if args.device == 'cuda'
                                                                  else 1)]


def build_steps(args, work_dir, gpus):
    """The check's steps for `args` (parsed `parse_args`), writing under `work_dir`, on `gpus`
    GPUs (0: the CPU form). Steps without a CPU form are left out when `gpus` is 0."""
    py = sys.executable
    data_dir = osp.join(work_dir, 'data')
    gpu_arg = ['--gpu', '0' if gpus == 1 else f'0-{gpus - 1}'] if gpus else []
    batch_all = args.batch * max(1, gpus)      # DataParallel: batch_size per GPU
    kept = kept_frames(args.iters, batch_all)
    n_iters = epoch_iterations(kept, batch_all)
    common = ['--no_progress', '--cfg', *model_cfg(args), f'data_dir={data_dir}']
    me = [py, '-m', 'tool.bench.gpu_check', '--device', args.device, '--resnet',
          str(args.resnet), '--input', str(args.input)]
    steps = [Step('prepare', me + ['--prepare', '--work_dir', work_dir, '--iters',
                                   str(args.iters), '--batch', str(batch_all)], 300)]
    if gpus:
        steps.append(Step('GPU-marked tests', [py, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                                               '-m', 'gpu', 'tests'], 300, check_pytest))
    for name, extra in TRAIN_RUNS:
        if not gpus and '--amp' in extra:    # GPU autocast; the CPU's is another (slow) path
            continue
        out = osp.join(work_dir, 'runs', run_folder(name))
        steps.append(Step(name, [py, 'main/train.py', *gpu_arg, *common, f'output_dir={out}',
                                 'end_epoch=1', *extra], 180,
                          train_check(out, n_iters, gpus)))
    out = osp.join(work_dir, 'runs', 'torchrun')
    torchrun_iters = epoch_iterations(kept, args.batch)     # one process, one GPU
    steps.append(Step('torchrun 1 process ' + ('NCCL' if gpus else 'gloo'),
                      [py, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=1',
                       'main/train.py', *(['--gpu', '0'] if gpus else []), *common,
                       f'output_dir={out}', 'end_epoch=1'], 240,
                      torchrun_check(out, torchrun_iters, 'cuda:0' if gpus else 'cpu')))
    fp32 = osp.join(work_dir, 'runs', run_folder(TRAIN_RUNS[0][0]))
    steps.append(Step('test driver', [py, 'main/test.py', *gpu_arg, '--test_epoch', '0',
                                      *common, f'output_dir={fp32}'], 180, check_test))
    demo = [py, 'demo/demo.py', *gpu_arg, '--backend', 'torch', '--input',
            osp.join(work_dir, 'photo.jpg'), '--snapshot',
            osp.join(fp32, 'model_dump', 'snapshot_0.pth.tar'), '--rootnet',
            osp.join(work_dir, 'rootnet.pth.tar'), '--no_progress']
    steps.append(Step('demo, detector', demo + ['--detector', osp.join(work_dir, 'detector.pth'),
                                                '--score_thresh', '0', '--out',
                                                osp.join(work_dir, 'demo_detector')], 180,
                      demo_check(osp.join(work_dir, 'demo_detector'), None)))
    steps.append(Step('demo, boxes + RootNet', demo + ['--bbox', *DEMO_BOX, '--out',
                                                       osp.join(work_dir, 'demo_boxes')], 180,
                      demo_check(osp.join(work_dir, 'demo_boxes'), 1)))
    steps.append(Step('throughput', me + ['--throughput', '--work_dir', work_dir,
                                          '--bench_batch', str(args.bench_batch),
                                          '--bench_iters', str(args.bench_iters)]
                      + (['--peak_tflops', str(args.peak_tflops)] if args.peak_tflops else []),
                      300, check_throughput(osp.join(work_dir, 'throughput.json'))))
    if args.steps:
        steps = [s for s in steps if s.name == 'prepare' or
                 any(s.name.startswith(p) for p in args.steps)]
    return steps


def run_folder(name):
    return re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')


# -- checks of a finished step -------------------------------------------------------------------
def last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ''


def check_pytest(stdout):
    summary = last_line(stdout)
    if 'passed' not in summary:
        return False, f'no GPU test ran: {summary}'
    if 'skipped' in summary:
        return False, f'GPU tests skipped on a GPU: {summary}'
    return True, summary


def train_check(out, n_iters, gpus):
    def check(stdout):
        log_path = osp.join(out, 'log', 'train_logs.txt')
        log = open(log_path).read() if osp.isfile(log_path) else ''
        losses = re.findall(r'itr (\d+)/(\d+):.*loss_coord: ([-+\w.]+)', log)
        if not losses:
            return False, f'no iteration in {log_path}'
        done = len(losses)
        if done != n_iters or int(losses[-1][1]) != n_iters:
            return False, f'{done} iterations, expected {n_iters}'
        if not osp.isfile(osp.join(out, 'model_dump', 'snapshot_0.pth.tar')):
            return False, 'no snapshot written'
        device = 'cpu' if not gpus else f'cuda:0 x{gpus} DataParallel' if gpus > 1 else 'cuda:0'
        if gpus and 'Training on cuda:0' not in log:
            return False, 'did not train on cuda:0'
        return True, f'{done} iterations on {device}, last loss {float(losses[-1][2]):.4g}'
    return check


def torchrun_check(out, n_iters, device):
    def check(stdout):
        expected = f'rank 0/1: epoch 0 done, {n_iters} iterations on {device}'
        if expected not in stdout:
            return False, f'"{expected}" not printed'
        if not osp.isfile(osp.join(out, 'model_dump', 'snapshot_0.pth.tar')):
            return False, 'no snapshot written'
        return True, f'DDP world size 1, {n_iters} iterations on {device}'
    return check


def check_test(stdout):
    match = re.search(r'Protocol \d error \(([^)]*)\) >> tot: ([-\w.]+)', stdout)
    if not match:
        return False, 'no Human3.6M error printed'
    return True, f'{match.group(1)} {match.group(2)} mm (random weights)'


def demo_check(out, people):
    def check(stdout):
        path = osp.join(out, 'output_pose.json')
        if not osp.isfile(path):
            return False, f'{path} not written'
        with open(path) as f:
            found = len(json.load(f)['people'])
        if people is not None and found != people:
            return False, f'{found} people, expected {people}'
        return True, f'{found} person(s) (random detector weights)' if people is None else \
            f'{found} person(s), RootNet root'
    return check


def check_throughput(path):
    def check(stdout):
        if not osp.isfile(path):
            return False, f'{path} not written'
        with open(path) as f:
            rows = json.load(f)
        bad = [r['what'] for r in rows if not math.isfinite(r['samples_per_s'])]
        if bad:
            return False, f'no figure for {bad[0]}'
        return True, f'{len(rows)} rows (below)'
    return check


# -- running ---------------------------------------------------------------------------------------
def subprocess_env():
    """This checkout first on PYTHONPATH, so that subprocesses import this code."""
    path = os.environ.get('PYTHONPATH', '')
    return dict(os.environ, PYTHONPATH=ROOT_DIR + (os.pathsep + path if path else ''))


def run_step(step, time_left):
    """Run one step; returns `(status, seconds, detail)`, status 'ok' or 'FAIL'."""
    timeout = max(1., min(step.timeout, time_left))
    start = time.perf_counter()
    try:
        proc = subprocess.run(step.argv, cwd=ROOT_DIR, env=subprocess_env(), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 'FAIL', time.perf_counter() - start, f'timed out after {timeout:.0f} s'
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        why = last_line(proc.stderr) or last_line(proc.stdout)
        return 'FAIL', seconds, f'exit {proc.returncode}: {why}'[:200]
    if step.check is None:
        return 'ok', seconds, ''
    ok, detail = step.check(proc.stdout)
    return ('ok' if ok else 'FAIL'), seconds, detail


def print_table(results, throughput):
    """One table: the steps (status, seconds, detail), then the throughput rows."""
    rows = [(name, status, f'{seconds:.1f}', '', '', '', detail)
            for name, status, seconds, detail in results]
    for r in throughput:
        mfu = '' if r.get('mfu') is None else f"{100 * r['mfu']:.1f} %"
        tflops = '' if r.get('tflops') is None else f"{r['tflops']:.1f}"
        rows.append((r['what'], 'ok', f"{r['seconds']:.1f}", f"{r['samples_per_s']:.0f}",
                     tflops, mfu, r.get('note', '')))
    head = ('check', 'result', 's', 'samples/s', 'TFLOP/s', 'MFU', 'detail')
    widths = [max(len(str(row[i])) for row in rows + [head]) for i in range(6)]
    for row in [head] + rows:
        print('  '.join(str(v).ljust(w) if i in (0, 1, 6) else str(v).rjust(w)
                        for i, (v, w) in enumerate(zip(row, widths + [0]))).rstrip())


def run(args):
    """`--gpu_check`: `args.gpu_check` holds the options after the flag. Returns the exit code:
    0 all passed, 1 a step failed, 2 no CUDA (one line)."""
    import torch
    opts = parse_args(getattr(args, 'gpu_check', None) or [])
    gpus = torch.cuda.device_count() if opts.device == 'cuda' else 0
    if opts.device == 'cuda' and not opts.dry_run and gpus == 0:
        print('error: --gpu_check needs a CUDA GPU and none is visible (torch '
              f'{torch.__version__}, CUDA build {torch.version.cuda}); nothing was run; '
              '--dry_run prints the commands, --device cpu runs their CPU form', file=sys.stderr)
        return 2
    if opts.work_dir:
        work_dir = osp.abspath(opts.work_dir)
    elif opts.dry_run:
        work_dir = osp.join(tempfile.gettempdir(), 'posenet_gpu_check_XXXX')
    else:
        work_dir = tempfile.mkdtemp(prefix='posenet_gpu_check_')
    steps = build_steps(opts, work_dir, max(gpus, 1) if opts.device == 'cuda' else 0)
    if opts.dry_run:
        for step in steps:
            print(f'# {step.name} (timeout {step.timeout} s)')
            print(shlex.join(step.argv))
        return 0
    name = torch.cuda.get_device_name(0) if gpus else 'CPU (the CPU form)'
    print(f'gpu_check on {name} x{max(gpus, 1)}; torch {torch.__version__}; work dir {work_dir}',
          flush=True)
    results, throughput = [], []
    deadline = time.perf_counter() + opts.budget
    try:
        for step in steps:
            left = deadline - time.perf_counter()
            if left <= 0:
                results.append((step.name, 'FAIL', 0., 'not run: the time budget is spent'))
                continue
            status, seconds, detail = run_step(step, left)
            results.append((step.name, status, seconds, detail))
            print(f'  {step.name}: {status} ({seconds:.1f} s) {detail}', flush=True)
            if step.name == 'prepare' and status != 'ok':
                break
        path = osp.join(work_dir, 'throughput.json')
        if osp.isfile(path):
            with open(path) as f:
                throughput = json.load(f)
    finally:
        if opts.work_dir is None:
            shutil.rmtree(work_dir, ignore_errors=True)
    print()
    print_table(results, throughput)
    failed = [r[0] for r in results if r[1] != 'ok']
    print(f"\n{len(results) - len(failed)}/{len(results)} steps passed" +
          (f"; failed: {', '.join(failed)}" if failed else ''))
    return 1 if failed else 0


# -- the steps that run this module ----------------------------------------------------------------
def prepare(opts):
    """Write the inputs of the other steps under `opts.work_dir`."""
    import matplotlib.cbook
    import torch
    import torchvision.models.detection as tvd
    from common.nets.rootnet import get_root_net
    from main.checkpoint import ModelSettings, save_snapshot
    from main.config import Config
    from tool.synthetic_data import generate

    work_dir = opts.work_dir
    # one MPII image (1 to 3 people): the 3D set is the longer one, so it sets the epoch
    generate(osp.join(work_dir, 'data'), datasets=['Human36M', 'MPII'], seed=0, img_size=256,
             num_images=1, h36m_actions=1, h36m_cameras=1,
             h36m_frames=h36m_frames(kept_frames(opts.iters, opts.batch)))
    cfg = Config(resnet_type=opts.resnet, pretrained_backbone=False,
                 input_shape=(opts.input, opts.input))
    torch.manual_seed(0)
    save_snapshot(osp.join(work_dir, 'rootnet.pth.tar'), 0, get_root_net(cfg, True), None,
                  ModelSettings.from_config(cfg, 'RootNet'))
    detector = tvd.fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None,
                                              num_classes=91)
    torch.save(detector.state_dict(), osp.join(work_dir, 'detector.pth'))
    shutil.copyfile(matplotlib.cbook.get_sample_data('grace_hopper.jpg', asfileobj=False),
                    osp.join(work_dir, 'photo.jpg'))
    print(f'prepared {work_dir}')


def best_seconds(fn, iters, warmup, sync):
    for _ in range(warmup):
        fn()
    sync()
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync()
    return (time.perf_counter() - start) / iters


def count_flops(fn):
    """FLOPs of one call of `fn` (torch's FlopCounterMode: matrix products and convolutions,
    forward and backward)."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def model_rows(opts, device, peak):
    """PoseNet training and inference samples/s (and MFU) per precision and memory format."""
    import torch
    from common.nets.posenet import get_pose_net
    from main.config import Config
    from main.predictor import autocast_context

    cfg = Config(resnet_type=opts.resnet, pretrained_backbone=False,
                 input_shape=(opts.input, opts.input))
    joints, batch = 18, opts.bench_batch
    h, w = cfg.output_shape
    torch.manual_seed(0)
    model = get_pose_net(cfg, True, joints).to(device)
    target = {'coord': torch.rand(batch, joints, 3, device=device) *
              torch.tensor([w - 1, h - 1, cfg.depth_dim - 1], device=device),
              'vis': torch.ones(batch, joints, 1, device=device),
              'have_depth': torch.ones(batch, 1, device=device)}
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == 'cuda' else (lambda: None)
    one = torch.randn(1, 3, opts.input, opts.input, device=device)
    one_target = {k: v[:1] for k, v in target.items()}
    model.train()
    train_flops = count_flops(lambda: model(one, one_target).mean().backward())
    model.zero_grad(set_to_none=True)
    model.eval()
    with torch.inference_mode():
        infer_flops = count_flops(lambda: model(one))
    rows = []
    cuda = device.type == 'cuda'    # the CPU form: float32 only (CPU autocast is slow here)
    for amp in ('none', 'bf16', 'fp16') if cuda else ('none',):
        for channels_last in (False, True) if cuda else (False,):
            fmt = torch.channels_last if channels_last else torch.contiguous_format
            model = model.to(memory_format=fmt)
            img = torch.randn(batch, 3, opts.input, opts.input, device=device) \
                .contiguous(memory_format=fmt)
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
            scaler = torch.amp.GradScaler(device.type, enabled=amp == 'fp16')

            def train_step():
                optimizer.zero_grad(set_to_none=True)
                with autocast_context(device, amp):
                    loss = model(img, target).float().mean()
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()

            @torch.inference_mode()
            def infer():
                with autocast_context(device, amp):
                    model(img)

            label = f"{'fp32' if amp == 'none' else amp}{' channels_last' if channels_last else ''}"
            for mode, fn, flops in (('train', train_step, train_flops),
                                    ('inference', infer, infer_flops)):
                model.train(mode == 'train')
                start = time.perf_counter()
                seconds = best_seconds(fn, opts.bench_iters, 3 if cuda else 1, sync)
                rate = batch / seconds
                tflops = flops * rate / 1e12
                rows.append({'what': f'PoseNet R{opts.resnet} {opts.input}px {mode} {label}',
                             'samples_per_s': rate, 'tflops': tflops,
                             'mfu': tflops / peak if peak else None,
                             'seconds': time.perf_counter() - start,
                             'note': f'batch {batch}, {flops / 1e9:.1f} GFLOP/sample'})
    return rows


def data_rows(opts, device, num_images=8, size=None):
    """Samples/s of the OpenCV path (`crop_sample` of the uint8 path on a decoded image, in one
    CPU thread: a loader worker's share) and of the GPU path (its worker side, `JpegCrops`, in
    one CPU thread; decode + crop of the batch on `device`), on `num_images` synthetic JPEGs of
    `size` px (default: Human3.6M's 1000 on a GPU, 256 on the CPU)."""
    import cv2
    import numpy as np
    import torch
    from common.utils.crop import load_image
    from data.dataset import RAW_UINT8, crop_sample, get_aug_config
    from data.gpu_batch import JpegCrops, collate, crop_batch

    size = size or (1000 if device.type == 'cuda' else 256)
    folder = osp.join(opts.work_dir, 'data_rows')
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(num_images):
        small = rng.integers(0, 256, (size // 16, size // 16, 3), dtype=np.uint8)
        paths.append(osp.join(folder, f'{i}.jpg'))
        cv2.imwrite(paths[-1], cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC))
    bbox = np.array([size * 0.3, size * 0.2, size * 0.4, size * 0.6])
    shape = (opts.input, opts.input)
    jpeg_crops = JpegCrops()
    jpeg_crops.input_shape = shape
    cv2.setNumThreads(1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    np.random.seed(0)
    n = max(opts.bench_batch, 2 * num_images) if device.type == 'cuda' else num_images

    def opencv():
        for i in range(n):
            scale, rot, flip, color, occlusion = get_aug_config()
            crop_sample(load_image(paths[i % num_images]), bbox, flip, scale, rot, occlusion,
                        color, shape, RAW_UINT8)

    def worker_side():
        items = []
        for i in range(n):
            jpeg = jpeg_crops.read_image(paths[i % num_images])
            scale, rot, flip, color, occlusion = get_aug_config()
            items.append((jpeg_crops.crop(jpeg, bbox, flip, scale, rot, occlusion, color)[0],))
        return collate(items)[0]

    rows = []
    for what, fn in (('data: OpenCV decode + crop, 1 CPU thread', opencv),
                     ('data: GPU path, worker side, 1 CPU thread', worker_side)):
        start = time.perf_counter()
        seconds = best_seconds(fn, 2, 1, lambda: None)
        rows.append({'what': what, 'samples_per_s': n / seconds,
                     'seconds': time.perf_counter() - start,
                     'note': f'{size}x{size} JPEG, {opts.input}px crop'})
    torch.set_num_threads(threads)
    batch = worker_side()
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == 'cuda' else (lambda: None)
    start = time.perf_counter()
    seconds = best_seconds(lambda: crop_batch(batch, device, shape), max(2, opts.bench_iters),
                           1, sync)
    rows.append({'what': f'data: GPU path, decode + crop on {device.type}',
                 'samples_per_s': n / seconds, 'seconds': time.perf_counter() - start,
                 'note': f'batch {n}, {size}x{size} JPEG'})
    return rows


def throughput(opts):
    """The throughput rows, printed and written to `<work_dir>/throughput.json`."""
    import torch
    from common.utils.file_io import write_json
    device = torch.device(opts.device)
    peak = opts.peak_tflops
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
        peak = peak or bf16_peak_tflops(torch.cuda.get_device_name(device))
    rows = model_rows(opts, device, peak) + data_rows(opts, device)
    if peak is None and device.type == 'cuda':
        rows[0]['note'] += '; MFU: GPU not in the peak table, pass --peak_tflops'
    write_json(osp.join(opts.work_dir, 'throughput.json'), rows, indent=1)
    for r in rows:
        print(f"{r['what']}: {r['samples_per_s']:.1f} samples/s")


def main(argv=None):
    """Entry of the check's own steps (`--prepare`, `--throughput`); else the whole check."""
    opts = parse_args(argv)
    if opts.prepare:
        return prepare(opts)
    if opts.throughput:
        return throughput(opts)
    sys.exit(run(argparse.Namespace(gpu_check=argv if argv is not None else sys.argv[1:])))


if __name__ == '__main__':
    main()
