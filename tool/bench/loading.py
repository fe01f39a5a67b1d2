"""Data loading per worker: samples/s of read + crop + augmentation (the default section) and
`--loading`, the original float path against the uint8 path.
"""
import tempfile
import time

import numpy as np
import torch

from tool.bench.shared import timed


def bench_loading_paths(args):
    """Samples/s of one loading worker, the original float path against the uint8 path."""
    import cv2
    from common.utils.crop import get_transform, load_image, normalise_batch
    from data.dataset import RAW_UINT8, DatasetLoader
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
            cfg = Config(data_dir=tmp, input_shape=(args.input, args.input))
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
    from common.utils.crop import get_transform
    from data.dataset import DatasetLoader
    from data.Human36M.Human36M import Human36M
    from main.config import Config
    from tool.synthetic_data import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, datasets=['Human36M'], seed=0, img_size=args.img_size,
                 num_frames=args.load_frames)
        cfg = Config(data_dir=tmp, input_shape=(args.input, args.input))
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
