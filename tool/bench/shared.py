"""What the benchmark sections share: timing, peak memory, smooth random crops, weights under
which outputs vary from crop to crop, a PoseNet predictor through ONNX Runtime.
"""
import contextlib
import io
import os
import resource
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


def best_time(fn, repeat):
    """Shortest wall time of `repeat` calls of `fn` (its printing silenced)."""
    times = []
    for _ in range(repeat):
        with contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return min(times)


def random_crops(n, seed, input_shape):
    """Normalised crops (the original's 0..255 normalisation) of smooth random images, float32
    tensor `(n, 3, H, W)`: the int8 backend's default calibration crops
    (`main.onnx_backend.calibration_crops`) with the original's pixel mean and std."""
    from main.onnx_backend import calibration_crops
    return torch.from_numpy(calibration_crops(input_shape, (0.485, 0.456, 0.406),
                                              (0.229, 0.224, 0.225), num=n, seed=seed))


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
