"""int8 against float32 ONNX Runtime on the CPU (prints figures, not a test).

    python tool/benchmark.py --int8 --batches 1 8          # speed, ResNet-50 256x256
    python tool/bench/int8.py --model_dir output/quick_start/model_dump --epoch 5 \\
        --data_dir output/quick_start/data                  # accuracy of the quick start's model
    python tool/bench/int8.py --network RootNet --model_dir OUT/rootnet/model_dump --epoch N \\
        --data_dir output/quick_start/data                  # a RootNet trained on the same data
    python tool/bench/int8.py --model_dir /tmp/m --data_dir output/quick_start/data \\
        --train_iters 60                                    # a short training first

Speed (`bench_int8_speed`): images/s of PoseNet and RootNet (random weights drawn as in the
backends table, `tool.benchmark.randomise_weights`) through the float export and its int8
model (`main.onnx_backend.quantize_onnx`, calibrated on smooth random crops), interleaved
rounds, best of each.
Accuracy (`bench_int8_accuracy`): a trained snapshot tested on the synthetic Human36M test set
(protocol 2, flip test) through the float export and through int8 models calibrated on two
sets of crops: plain crops of the training set (the recommended way) and the default smooth
random crops; MPJPE of each, its change, and the mean and largest joint difference from float
(mm, root-relative); for a RootNet snapshot the root depth difference (mm) and MRPE.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time

import numpy as np
import torch

if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def bench_int8_speed(args):
    """images/s float vs int8 for `args.batches`; prints the table, returns
    `{(network, precision, batch): images/s}`."""
    from common.nets.posenet import get_pose_net
    from common.nets.rootnet import get_root_net
    from main.config import Config
    from main.onnx_backend import OnnxNetwork, calibration_crops, export_onnx, quantize_onnx
    from tool.bench.roofline import images_per_s
    from tool.bench.shared import random_crops, randomise_weights

    cfg = Config(resnet_type=args.resnet, pretrained_backbone=False,
                 input_shape=(args.input, args.input))
    cal = calibration_crops(cfg.input_shape, cfg.pixel_mean, cfg.pixel_std, num=16)
    nets = {}
    with tempfile.TemporaryDirectory() as tmp:
        for network, model, k in (
                ('PoseNet', randomise_weights(get_pose_net(cfg, False, 18), 0, cfg.input_shape),
                 None),
                ('RootNet', randomise_weights(get_root_net(cfg, False), 1, cfg.input_shape,
                                              k=5000.), 5000.)):
            path = export_onnx(model, osp.join(tmp, f'{network}.onnx'), network,
                               cfg.model_settings())
            k_cal = None if k is None else np.full((len(cal), 1), k, np.float32)
            int8 = quantize_onnx(path, osp.join(tmp, f'{network}.int8.onnx'), cal, k_cal)
            nets[network] = {'float32': OnnxNetwork(path, args.threads),
                             'int8': OnnxNetwork(int8, args.threads)}
            if network == 'PoseNet':      # the other activation type, for the record
                s8 = quantize_onnx(path, osp.join(tmp, 's8.onnx'), cal, activations='int8')
                nets[network]['int8, int8 act.'] = OnnxNetwork(s8, args.threads)
    best = {}
    for _ in range(args.rounds):
        for b in args.batches:
            crops = random_crops(b, 2, cfg.input_shape).numpy()
            k = np.full((b, 1), 5000., np.float32)
            for network, pair in nets.items():
                for precision, net in pair.items():
                    rate = images_per_s(lambda: net.run(crops, k), b, args.seconds, 1)
                    key = (network, precision, b)
                    best[key] = max(best.get(key, 0.), rate)
    print(f'int8 vs float32 ONNX Runtime on this CPU ({os.cpu_count()} cores, shared machine), '
          f'ResNet-{args.resnet} {args.input}x{args.input}, images/s, best of {args.rounds} '
          f'interleaved rounds')
    print(f'  {"network":<9}{"model":<18}{"batch":>6}{"images/s":>10}{"vs float32":>11}')
    for network, variants in nets.items():
        for b in args.batches:
            for precision in variants:
                rate = best[network, precision, b]
                print(f'  {network:<9}{precision:<18}{b:>6}{rate:10.2f}'
                      f'{rate / best[network, "float32", b]:10.2f}x')
    return best


def training_crops(cfg, num=128):
    """`num` plain (test-mode, unaugmented) normalised crops `(num, 3, H, W)` evenly spread
    over the Human36M training set of `cfg.data_dir`, with RootNet's `k (num, 1)` mm."""
    from common.utils.crop import get_transform
    from data.dataset import RootNetLoader
    from data.Human36M.Human36M import Human36M
    loader = RootNetLoader(Human36M('train', cfg), False,
                           get_transform(cfg.pixel_mean, cfg.pixel_std),
                           input_shape=cfg.input_shape, output_shape=cfg.output_shape)
    pairs = [loader[i] for i in np.linspace(0, len(loader) - 1, num).astype(int)]
    return (np.stack([np.asarray(img) for img, _ in pairs]).astype(np.float32),
            np.array([k for _, k in pairs], np.float32).reshape(-1, 1))


def bench_int8_accuracy(model_dir, epoch, data_dir, cfg_items=(), network='PoseNet'):
    """Float vs int8 on the synthetic Human36M test set of `data_dir` for snapshot
    `model_dir/snapshot_<epoch>.pth.tar`; prints and returns the rows."""
    from data.entries import entries_to_cam
    from main.config import Config
    from main.engine import Tester
    from main.onnx_backend import OnnxNetwork, calibration_crops, quantize_onnx

    cfg = Config().with_overrides([f'data_dir={data_dir}', f'output_dir={tempfile.mkdtemp()}',
                                   'flip_test=True', 'testset=Human36M', f'network={network}',
                                   *cfg_items]).replace(model_dir=model_dir)
    tester = Tester(cfg, epoch, backend='onnx')
    tester.load_snapshot()
    cfg = tester.cfg                # with the snapshot's settings
    tester.make_batch_generator()
    tester.make_model()
    float_net = tester.predictor.model
    cal_train = training_crops(cfg)
    img_rand = calibration_crops(cfg.input_shape, cfg.pixel_mean, cfg.pixel_std)
    cal_rand = (img_rand, np.linspace(1000., 10000., len(img_rand), dtype=np.float32)
                .reshape(-1, 1))
    db = tester.testset
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        models = {'float32': float_net}
        for name, (img, k) in (('int8, training crops', cal_train),
                               ('int8, random crops', cal_rand)):
            path = osp.join(tmp, f'{len(models)}.onnx')
            models[name] = OnnxNetwork(quantize_onnx(float_net.path, path, img, k))
        for name, net in models.items():
            tester.predictor.model = net
            start = time.perf_counter()
            preds = tester.predict_all(progress=False)
            seconds = time.perf_counter() - start
            metrics = tester.evaluate(preds)
            rows[name] = {'preds': preds, 'error': metrics['error'], 'seconds': seconds}
    ref = rows['float32']
    flip = ', flip test' if network == 'PoseNet' else ''      # RootNet has none
    print(f'\nint8 vs float32 on the synthetic Human36M test set ({len(db.data)} samples'
          f'{flip}), {network} snapshot {epoch} of {model_dir}')
    if network == 'PoseNet':
        from tool.quick_start import mean_pose_baseline
        print(f'  (mean-pose baseline: {mean_pose_baseline(data_dir)[0]:.1f} mm)')
        _, ref_cam = entries_to_cam(db.data, ref['preds'], *db.heatmap)
        ref_rel = ref_cam - ref_cam[:, db.root_idx:db.root_idx + 1]
        print(f'  {"model":<22}{"MPJPE mm":>10}{"change":>9}{"joint diff mm: mean":>21}'
              f'{"max":>8}{"s":>7}')
        for name, row in rows.items():
            _, cam = entries_to_cam(db.data, row['preds'], *db.heatmap)
            rel = cam - cam[:, db.root_idx:db.root_idx + 1]
            diff = np.linalg.norm(rel - ref_rel, axis=2)
            row['mean_joint_diff'], row['max_joint_diff'] = float(diff.mean()), float(diff.max())
            row['change'] = row['error'] / ref['error'] - 1.
            print(f'  {name:<22}{row["error"]:10.2f}{row["change"]:9.2%}'
                  f'{row["mean_joint_diff"]:21.2f}{row["max_joint_diff"]:8.2f}'
                  f'{row["seconds"]:7.1f}')
    else:
        print(f'  {"model":<22}{"MRPE mm":>10}{"max |depth diff| mm":>21}'
              f'{"mean":>8}{"s":>7}')
        for name, row in rows.items():
            diff = np.abs(row['preds'][:, 2] - ref['preds'][:, 2])
            row['max_depth_diff'], row['mean_depth_diff'] = float(diff.max()), float(diff.mean())
            print(f'  {name:<22}{row["error"]:10.2f}{diff.max():21.2f}{diff.mean():8.2f}'
                  f'{row["seconds"]:7.1f}')
    return {name: {k: v for k, v in row.items() if k != 'preds'} for name, row in rows.items()}


def short_training(data_dir, model_dir, iters=60, batch_size=16, seed=0):
    """Train the quick start's small PoseNet (ResNet-18, 64x64, depth_dim 32, random init, lr
    1e-3, `tool.quick_start`) for `iters` iterations on the synthetic Human36M training set of
    `data_dir` (the quick start's full schedule takes too long on a shared 2-core machine);
    writes `model_dir/snapshot_0.pth.tar`, returns the `--cfg` items used."""
    from common.nets.posenet import get_pose_net
    from main.checkpoint import ModelSettings, save_snapshot
    from common.utils.crop import get_transform
    from data.dataset import DatasetLoader
    from data.Human36M.Human36M import Human36M
    from main.config import Config
    from tool.quick_start import QUICK, small_model_cfg

    items = small_model_cfg(data_dir, tempfile.mkdtemp(), 1, lr=QUICK['lr'])
    cfg = Config().with_overrides(items)
    torch.manual_seed(seed)
    np.random.seed(seed)
    db = Human36M('train', cfg)
    loader = torch.utils.data.DataLoader(
        DatasetLoader(db, None, True, get_transform(cfg.pixel_mean, cfg.pixel_std),
                      input_shape=cfg.input_shape, output_shape=cfg.output_shape,
                      depth_dim=cfg.depth_dim, bbox_3d_shape=cfg.bbox_3d_shape),
        batch_size=batch_size, shuffle=True, num_workers=0)   # a tiny set: one short batch
    model = get_pose_net(cfg, True, db.joint_num).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    done = 0
    while done < iters:
        for img, joint_img, joint_vis, have_depth in loader:
            loss = model(img, {'coord': joint_img, 'vis': joint_vis,
                               'have_depth': have_depth}).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            if done % 10 == 0:
                print(f'  iteration {done}/{iters}: loss {loss.item():.3f}', flush=True)
            if done == iters:
                break
    settings = ModelSettings.from_config(cfg, 'PoseNet', db)
    save_snapshot(osp.join(model_dir, 'snapshot_0.pth.tar'), 0, model.eval(), None, settings)
    return items


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model_dir', required=True, help='folder of snapshot_<epoch>.pth.tar')
    parser.add_argument('--epoch', type=int, default=0)
    parser.add_argument('--data_dir', required=True, help='the synthetic data it was trained on')
    parser.add_argument('--train_iters', type=int, default=0,
                        help='first train the small PoseNet this many iterations into '
                             '--model_dir (snapshot 0; `short_training`)')
    parser.add_argument('--network', choices=['PoseNet', 'RootNet'], default='PoseNet')
    parser.add_argument('--cfg', nargs='*', default=[], metavar='KEY=VALUE')
    args = parser.parse_args(argv)
    if args.train_iters:
        args.cfg = short_training(args.data_dir, args.model_dir, args.train_iters) + args.cfg
    with torch.no_grad():
        return bench_int8_accuracy(args.model_dir, args.epoch, args.data_dir, args.cfg,
                                   args.network)


if __name__ == '__main__':
    main()
