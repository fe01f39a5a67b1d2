"""How close each inference path is to this CPU's limit (`python tool/benchmark.py --roofline`;
prints figures, not a test).

The limit: ONNX Runtime's own float32 MatMul on a large square product (`matmul_rate`), the
kernel family its convolutions run on, so no float32 convolution can beat it; on all cores, or
one thread's rate times the cores if that is larger (`cpu_limit`: other jobs on a shared
machine take cores from the all-core product). The work: FLOPs
per image of each network counted by torch's `FlopCounterMode` (convolutions and matrix
products, 2 FLOPs per multiply-add). Achieved GFLOP/s = FLOPs per image x images/s; its share
of the limit says what is left to gain in float32 (int8 runs on other instructions (VNNI) and
may exceed 100 %).
"""
import os
import tempfile
import time

import numpy as np
import torch


def matmul_model(n):
    """An ONNX model `y = a @ b` with `a (n, n)` float32 input and `b (n, n)` a fixed random
    initializer (seed 0); returns `(serialised model, b)`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    b = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node('MatMul', ['a', 'b'], ['y'])], 'matmul',
        [helper.make_tensor_value_info('a', TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [n, n])],
        [numpy_helper.from_array(b, 'b')])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    onnx.checker.check_model(model)
    return model.SerializeToString(), b


def matmul_session(n, threads=None):
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
    data, b = matmul_model(n)
    return ort.InferenceSession(data, options, providers=['CPUExecutionProvider']), b


def matmul_rate(n=2048, repeats=5, threads=None):
    """Best float32 GFLOP/s of ONNX Runtime's MatMul on an `n x n` by `n x n` product."""
    session, _ = matmul_session(n, threads)
    a = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    session.run(None, {'a': a})
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, {'a': a})
        best = min(best, time.perf_counter() - start)
    return 2. * n ** 3 / best / 1e9


def physical_cores():
    """Physical cores this process may run on (hyperthreads of one core count once: they share
    its FMA units); from Linux sysfs, else `os.cpu_count()`."""
    cores = set()
    for cpu in os.sched_getaffinity(0):
        topology = f'/sys/devices/system/cpu/cpu{cpu}/topology/'
        try:
            with open(topology + 'physical_package_id') as package, \
                    open(topology + 'core_id') as core:
                cores.add((package.read().strip(), core.read().strip()))
        except OSError:
            return os.cpu_count() or 1
    return len(cores)


def cpu_limit(n=2048, threads=None):
    """This CPU's float32 limit (GFLOP/s) for ONNX Runtime: the larger of its MatMul rate with
    `threads` (default: all cores) and one thread's rate times the cores in use (`threads`, at
    most the physical cores). On a shared machine other jobs hold cores while the all-thread
    product runs (measured at 2048: 66 GFLOP/s on 2 threads against 81 on one), whereas the best
    timings of a network come from moments when they are free. Returns `{'limit',
    'all_threads', 'one_thread', 'cores'}`."""
    cores = min(int(threads), physical_cores()) if threads else physical_cores()
    all_threads = matmul_rate(n, threads=threads)
    one_thread = matmul_rate(n, threads=1)
    return {'limit': max(all_threads, one_thread * cores), 'all_threads': all_threads,
            'one_thread': one_thread, 'cores': cores}


def best_limit(first, second):
    """The `cpu_limit` of `first` and `second` (before and after the timings) with the larger
    limit."""
    return first if first['limit'] >= second['limit'] else second


def limit_text(n, limit):
    """One line's words for `cpu_limit` result `limit` of an `n x n` MatMul."""
    return (f'float32 MatMul {n}x{n}: {limit["limit"]:.0f} GFLOP/s (all threads '
            f'{limit["all_threads"]:.0f}, one thread {limit["one_thread"]:.0f} x '
            f'{limit["cores"]} cores: the larger)')


def flops_per_image(model, *inputs):
    """FLOPs of one image through `model` (torch's `FlopCounterMode` on `inputs`, whose first
    dimension is the batch, divided by it)."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(*inputs)
    return counter.get_total_flops() / len(inputs[0])


def images_per_s(fn, batch, seconds, rounds):
    """Best images/s of `fn()` (one batch of `batch`) over `rounds` timings of about
    `seconds` each (after one warm-up call)."""
    fn()
    best = 0.
    for _ in range(rounds):
        start = time.perf_counter()
        calls = 0
        while calls == 0 or time.perf_counter() - start < seconds:
            fn()
            calls += 1
        best = max(best, batch * calls / (time.perf_counter() - start))
    return best


def backends(model, network, cfg, calibration, threads=None):
    """`{name: callable(img, k)}` of every CPU inference backend of `model`: PyTorch eager,
    ONNX Runtime float32 and int8 (exported to temporary files)."""
    from main.onnx_backend import OnnxNetwork, export_onnx, quantize_onnx
    out = {'torch eager': lambda img, k: model(*((img,) if k is None else (img, k)))}
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, os.path.join(tmp, 'f.onnx'), network, cfg.model_settings())
        float_net = OnnxNetwork(path, threads)
        img, k = calibration
        int8_net = OnnxNetwork(quantize_onnx(path, os.path.join(tmp, 'q.onnx'), img, k),
                               threads)
    out['ONNX Runtime float32'] = float_net.run
    out['ONNX Runtime int8'] = int8_net.run
    return out


def bench_roofline(args, batch=8):
    """Prints the roofline table (PoseNet and RootNet, ResNet-`args.resnet`, `args.input` px,
    random weights, batch `batch`) and returns `{'limit': GFLOP/s, 'flops': {network: FLOPs
    per image}, 'rows': {(network, backend): (images/s, GFLOP/s, share)}}`."""
    from common.nets.posenet import get_pose_net
    from common.nets.rootnet import get_root_net
    from main.config import Config
    from main.onnx_backend import calibration_crops
    from tool.bench.shared import random_crops, randomise_weights

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config(resnet_type=args.resnet, pretrained_backbone=False,
                 input_shape=(args.input, args.input))
    first = cpu_limit(args.matmul_n, args.threads)   # again at the end: the better one
    crops = random_crops(batch, 3, cfg.input_shape)
    k = torch.full((batch, 1), 5000.)
    cal = calibration_crops(cfg.input_shape, cfg.pixel_mean, cfg.pixel_std, num=16)
    nets = {'PoseNet': (randomise_weights(get_pose_net(cfg, False, 18), 0, cfg.input_shape),
                        None),
            'RootNet': (randomise_weights(get_root_net(cfg, False), 1, cfg.input_shape, k=5000.),
                        k)}
    rows, flops = {}, {}
    for network, (model, k_in) in nets.items():
        inputs = (crops,) if k_in is None else (crops, k_in)
        flops[network] = flops_per_image(model, *inputs)
        calibration = (cal, None if k_in is None else np.full((len(cal), 1), 5000., np.float32))
        runs = backends(model, network, cfg, calibration, args.threads)
        numpy_in = (crops.numpy(), None if k_in is None else k_in.numpy())
        for name, run in runs.items():
            feed = (crops, k_in) if name == 'torch eager' else numpy_in
            with torch.no_grad():
                rate = images_per_s(lambda: run(*feed), batch, args.seconds, args.rounds)
            gflops = flops[network] * rate / 1e9
            rows[network, name] = (rate, gflops)
    # a shared machine's load changes: the limit is the best of before and after the networks
    measured = best_limit(first, cpu_limit(args.matmul_n, args.threads))
    limit = measured['limit']
    rows = {key: (rate, gflops, gflops / limit) for key, (rate, gflops) in rows.items()}
    print(f'roofline on this CPU ({os.cpu_count()} cores, shared machine): ONNX Runtime '
          + limit_text(args.matmul_n, measured))
    print(f'  ResNet-{args.resnet}, {args.input}x{args.input}, batch {batch}, random weights; '
          f'GFLOP per image: ' + ', '.join(f'{n} {f / 1e9:.2f}' for n, f in flops.items()))
    print(f'  {"network":<9}{"backend":<22}{"images/s":>9}{"GFLOP/s":>9}{"share":>8}')
    for (network, name), (rate, gflops, share) in rows.items():
        print(f'  {network:<9}{name:<22}{rate:9.2f}{gflops:9.1f}{share:8.0%}')
    return {'limit': limit, 'measured': measured, 'flops': flops, 'rows': rows}
