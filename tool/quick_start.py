"""Quick start: synthetic data -> train a small model on the CPU -> flip test -> MPJPE.

    python tool/quick_start.py                 # a few minutes on 2 CPU cores
    python tool/quick_start.py --demo          # MuCo PoseNet + RootNet, demo on a real photo

Needs no dataset, no download and no GPU: it writes a small synthetic Human36M set in the
published file formats under `output/quick_start/data`, trains ResNet-18 from random
initialisation on 64x64 crops, tests the last snapshot on the held-out subjects (protocol 2,
with flip test) and prints the MPJPE next to the mean-pose baseline's. Every step is the
project's ordinary command; the equivalent command lines are printed as they run.
"""
import argparse
import os
import os.path as osp
import shlex
import sys
import time

import numpy as np

from main.config import ROOT_DIR

DEFAULT_OUT = osp.join(ROOT_DIR, 'output', 'quick_start')
# the synthetic Human36M and the schedule of the quick start (a few minutes on 2 CPU cores)
QUICK = {'actions': 6, 'frames': 400, 'epochs': 6, 'lr': 0.001}


def small_model_cfg(data_dir, output_dir, epochs, input_size=64, batch_size=16, num_thread=2,
                    lr=0.002, depth_dim=32, lr_dec_epoch=None):
    """`--cfg` items of the small CPU model (ResNet-18, random init); the lr drops once, at
    `lr_dec_epoch` (default two epochs before the end)."""
    return [
        'resnet_type=18', 'pretrained_backbone=False',
        f'input_shape=({input_size}, {input_size})', f'depth_dim={depth_dim}',
        f'batch_size={batch_size}', f'test_batch_size={batch_size}', f'num_thread={num_thread}',
        f'end_epoch={epochs}',
        f'lr_dec_epoch=[{max(1, epochs - 2) if lr_dec_epoch is None else lr_dec_epoch}]',
        f'lr={lr}',
        f'data_dir={data_dir}', f'output_dir={output_dir}',
    ]


def default_threads():
    """PyTorch compute threads of the quick start: half the cores this process may use, at
    least 1. On a machine shared with other work, as many threads as cores collapse (measured:
    2 threads on 2 shared cores ran 10x slower than 1); the data-loader workers need a core too."""
    return max(1, len(os.sched_getaffinity(0)) // 2)


def keep_only_snapshot(model_dir, epoch):
    """Delete the snapshots of `model_dir` other than `epoch` (the one tested); returns the bytes
    freed. Each ResNet-18 snapshot with its optimizer state is about 0.1 GB."""
    from main.checkpoint import find_snapshot_epochs, snapshot_path
    freed = 0
    for other in find_snapshot_epochs(model_dir):
        if other != epoch:
            path = snapshot_path(model_dir, other)
            freed += osp.getsize(path)
            os.remove(path)
    return freed


def show(command, argv):
    print('\n$ ' + ' '.join(['python', command] + [shlex.quote(a) for a in argv]), flush=True)


def mean_pose_baseline(data_dir):
    """MPJPE (mm) of predicting the training subjects' mean root-relative pose on the test
    subjects (Human36M protocol 2, evaluation joints)."""
    from data.Human36M.Human36M import Human36M
    from main.config import Config

    cfg = Config(data_dir=data_dir)
    train_db, test_db = Human36M('train', cfg), Human36M('test', cfg)

    def root_relative(db):
        cam = np.stack([e['joint_cam'] for e in db.data])
        return (cam - cam[:, db.root_idx:db.root_idx + 1])[:, db.eval_joint]

    mean_pose = root_relative(train_db).mean(axis=0)
    gt = root_relative(test_db)
    return float(np.linalg.norm(gt - mean_pose[None], axis=2).mean()), len(train_db.data), len(test_db.data)


def generate_data(data_dir, datasets, **options):
    """Write synthetic `datasets` (replacing an earlier synthetic tree) with generator options."""
    from tool.synthetic_data import generate
    argv = ['--out', data_dir, '--datasets', *datasets]
    for key, value in options.items():
        argv += [f'--{key}'] + ([str(v) for v in value] if isinstance(value, (list, tuple))
                                 else [str(value)])
    show('tool/synthetic_data.py', argv)
    generate(data_dir, datasets=list(datasets), **options)


def train(cfg_items, progress=True, seed=0):
    """`main/train.py` in a fresh run (`--overwrite`: a run of the quick start replaces the
    previous one in its own folder). It runs in this process, seeded with `seed` (weights,
    shuffling and the data-loader workers' augmentation), so a run repeats on the same machine."""
    import torch
    from main import train as train_main
    argv = ['--overwrite', '--cfg', *cfg_items] + ([] if progress else ['--no_progress'])
    show('main/train.py', argv)
    torch.manual_seed(seed)
    np.random.seed(seed)
    return train_main.main(argv)


def test(cfg_items, epoch, progress=True):
    from main import test as test_main
    argv = ['--test_epoch', str(epoch), '--cfg', *cfg_items, 'flip_test=True'] + \
        ([] if progress else ['--no_progress'])
    show('main/test.py', argv)
    return test_main.main(argv)


def sample_photo():
    """Path of the portrait photograph matplotlib installs (works offline)."""
    import matplotlib.cbook
    return matplotlib.cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)


def detector_weights_present():
    """Whether the COCO detector weights are in the model folder or torchvision's cache (then
    the demo detects the people itself; offline they cannot be downloaded and the box is
    given)."""
    import torch
    from common.nets.detector import DEFAULT_DETECTOR, coco_weights
    from main.model_store import model_path
    return osp.isfile(model_path('detector')) or osp.isfile(osp.join(
        torch.hub.get_dir(), 'checkpoints', osp.basename(coco_weights(DEFAULT_DETECTOR).url)))


def run_demo(args):
    """Train the 21-joint MuCo PoseNet and a RootNet briefly on synthetic data and run the whole
    chain (detector -> RootNet -> PoseNet) on a real photograph."""
    from demo import demo as demo_main
    out = osp.join(args.out, 'demo_model')
    data_dir = osp.join(out, 'data')
    generate_data(data_dir, ('MuCo', 'MSCOCO', 'MPII'), seed=args.seed, num_images=256)
    epochs = 6
    cfg_items = small_model_cfg(data_dir, out, epochs)
    train(cfg_items + ['trainset_3d=["MuCo"]', 'trainset_2d=["MSCOCO"]'],
          progress=not args.no_progress)
    train(cfg_items + ['network=RootNet', 'trainset_3d=["MuCo"]', 'trainset_2d=["MPII"]',
                       f'end_epoch={epochs}', f'lr_dec_epoch=[{epochs - 2}]'],
          progress=not args.no_progress)
    for model_dir in (osp.join(out, 'model_dump'), osp.join(out, 'rootnet', 'model_dump')):
        keep_only_snapshot(model_dir, epochs - 1)
    argv = ['--input', sample_photo(),
            '--snapshot', osp.join(out, 'model_dump', f'snapshot_{epochs - 1}.pth.tar'),
            '--rootnet', osp.join(out, 'rootnet', 'model_dump', f'snapshot_{epochs - 1}.pth.tar'),
            '--out', osp.join(out, 'demo_output')]
    if not detector_weights_present():
        print("\n(torchvision's COCO detector weights are not in its cache and cannot be "
              "downloaded offline: the person box is given on the command line)")
        argv += ['--bbox', '30', '40', '460', '560']
    show('demo/demo.py', argv)
    result = demo_main.main(argv)
    print(f"\nDemo done: outputs in {osp.join(out, 'demo_output')}. What it shows: the chain "
          "runs end to end on a real photo and writes the JSON, the drawn skeleton and the 3D "
          "view. What it cannot show: a meaningful pose or distance — the networks learnt "
          "a few minutes of synthetic stick figures. Use the official MuCo PoseNet and RootNet "
          "snapshots (README) for real results.")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=DEFAULT_OUT, help='folder for data, snapshots, results')
    parser.add_argument('--epochs', type=int, default=QUICK['epochs'])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no_progress', action='store_true')
    parser.add_argument('--threads', type=int, default=None,
                        help='PyTorch compute threads (default: half the usable cores, at least 1)')
    parser.add_argument('--demo', action='store_true',
                        help='train the MuCo PoseNet and a RootNet briefly and run the whole '
                             'demo chain on a real photo')
    args = parser.parse_args(argv)
    from common.utils.file_io import make_writable_dir
    make_writable_dir(args.out)     # an unwritable --out is one line before any work
    import torch
    threads = args.threads or default_threads()
    torch.set_num_threads(threads)
    print(f'{threads} compute thread(s) (--threads)', flush=True)
    if args.demo:
        return run_demo(args)

    start = time.time()
    data_dir = osp.join(args.out, 'data')
    # Human36M protocol 2: subjects 1 5 6 7 8 train (frames % 5), 9 11 test (frames % 64)
    frames = sorted({f for f in range(QUICK['frames']) if f % 5 == 0 or f % 64 == 0})
    generate_data(data_dir, ('Human36M',), seed=args.seed, h36m_actions=QUICK['actions'],
                  h36m_cameras=2, h36m_frames=frames)
    baseline, n_train, n_test = mean_pose_baseline(data_dir)
    cfg_items = small_model_cfg(data_dir, args.out, args.epochs, lr=QUICK['lr'],
                                lr_dec_epoch=args.epochs - 1)
    train(cfg_items + ['trainset_2d=[]'], progress=not args.no_progress, seed=args.seed)
    metrics = test(cfg_items, args.epochs - 1, progress=not args.no_progress)
    freed = keep_only_snapshot(osp.join(args.out, 'model_dump'), args.epochs - 1)
    ratio = baseline / metrics['error']
    print(f"\nQuick start done in {(time.time() - start) / 60:.1f} min ({n_train} training / "
          f"{n_test} held-out samples, snapshots in {osp.join(args.out, 'model_dump')}):")
    print(f"  trained model MPJPE  {metrics['error']:7.1f} mm  (protocol 2, flip test)")
    print(f"  mean-pose baseline   {baseline:7.1f} mm  (everyone gets the training mean pose)")
    print(f"  baseline / model     {ratio:7.2f}x")
    print(f"  (kept only the tested snapshot; {freed / 1e9:.2f} GB of earlier ones deleted)")
    metrics.update(baseline=baseline, ratio=ratio)
    return metrics


if __name__ == '__main__':
    from common.utils.cli import run_cli
    run_cli(main, sys.argv[1:])
