"""Quick start: synthetic data -> train a small model on the CPU -> flip test -> MPJPE.

    python tool/quick_start.py                 # a few minutes on 2 CPU cores

Needs no dataset, no download and no GPU: it writes a small synthetic Human36M + MPII set in
the published file formats under `output/quick_start/data`, trains ResNet-18 from random
initialisation on 64x64 crops, tests the last snapshot on the held-out subjects (protocol 2,
with flip test) and prints the MPJPE. Every step is the project's ordinary command; the
equivalent command lines are printed as they run.
"""
import argparse
import os.path as osp
import shlex
import sys

from main.config import ROOT_DIR

DEFAULT_OUT = osp.join(ROOT_DIR, 'output', 'quick_start')


def small_model_cfg(data_dir, output_dir, epochs, input_size=64, batch_size=16, num_thread=2):
    """`--cfg` items of the small CPU model (ResNet-18, random init, no 2D set)."""
    return [
        'resnet_type=18', 'pretrained_backbone=False',
        f'input_shape=({input_size}, {input_size})', 'depth_dim=32',
        f'batch_size={batch_size}', f'test_batch_size={batch_size}', f'num_thread={num_thread}',
        f'end_epoch={epochs}', f'lr_dec_epoch=[{max(1, epochs - 2)}]', 'lr=0.002',
        f'data_dir={data_dir}', f'output_dir={output_dir}',
    ]


def show(command, argv):
    print('\n$ ' + ' '.join(['python', command] + [shlex.quote(a) for a in argv]), flush=True)


def generate_data(data_dir, seed, h36m_frames, datasets=('Human36M', 'MPII'), img_size=256,
                  h36m_actions=4, h36m_cameras=2, num_images=64):
    from tool.synthetic_data import generate
    argv = ['--out', data_dir, '--datasets', *datasets, '--seed', str(seed),
            '--img_size', str(img_size), '--h36m_actions', str(h36m_actions),
            '--h36m_cameras', str(h36m_cameras), '--num_images', str(num_images),
            '--h36m_frames', *map(str, h36m_frames)]
    show('tool/synthetic_data.py', argv)
    generate(data_dir, datasets=list(datasets), seed=seed, img_size=img_size,
             h36m_actions=h36m_actions, h36m_cameras=h36m_cameras, num_images=num_images,
             h36m_frames=h36m_frames, overwrite=True)


def train(cfg_items, progress=True):
    from main import train as train_main
    argv = ['--cfg', *cfg_items] + ([] if progress else ['--no_progress'])
    show('main/train.py', argv)
    return train_main.main(argv)


def test(cfg_items, epoch, progress=True):
    from main import test as test_main
    argv = ['--test_epoch', str(epoch), '--cfg', *cfg_items, 'flip_test=True'] + \
        ([] if progress else ['--no_progress'])
    show('main/test.py', argv)
    return test_main.main(argv)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=DEFAULT_OUT, help='folder for data, snapshots, results')
    parser.add_argument('--epochs', type=int, default=6)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no_progress', action='store_true')
    args = parser.parse_args(argv)

    data_dir = osp.join(args.out, 'data')
    # Human36M protocol 2: subjects 1 5 6 7 8 train (frames % 5), 9 11 test (frames % 64)
    generate_data(data_dir, args.seed, h36m_frames=list(range(0, 100, 5)) + [128, 192])
    cfg_items = small_model_cfg(data_dir, args.out, args.epochs)
    train(cfg_items + ['trainset_2d=["MPII"]'], progress=not args.no_progress)
    metrics = test(cfg_items, args.epochs - 1, progress=not args.no_progress)
    print(f"\nQuick start done: MPJPE {metrics['error']:.1f} mm on the synthetic held-out "
          f"subjects (protocol 2, flip test), snapshots in {osp.join(args.out, 'model_dump')}")
    return metrics


if __name__ == '__main__':
    from common.utils.cli import run_cli
    run_cli(main, sys.argv[1:])
