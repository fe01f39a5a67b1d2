"""Learning check: does the pipeline learn? (prints figures; not a test)

    python tool/learning_check.py            # <= 10 minutes on 2 CPU cores

Trains ResNet-18 from random initialisation on synthetic Human3.6M-format data (small input,
CPU), then prints the MPJPE (protocol 2: root-relative, held-out subjects 9 and 11, flip test)
of the trained model next to the MPJPE of the mean-pose baseline, which predicts the training
set's mean root-relative pose for everyone. A working pipeline beats the baseline by at least 2x.
"""
import argparse
import os.path as osp
import sys
import time

from main.config import ROOT_DIR
from tool.quick_start import generate_data, mean_pose_baseline, small_model_cfg, test, train

DEFAULT_OUT = osp.join(ROOT_DIR, 'output', 'learning_check')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=DEFAULT_OUT)
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--input_size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--actions', type=int, default=6, help='Human36M actions per subject')
    parser.add_argument('--frames', type=int, default=400,
                        help='frame indices 0..N-1 of every sequence (training keeps %% 5, '
                             'testing %% 64)')
    parser.add_argument('--batch_size', type=int, default=16)
    parser.add_argument('--lr', type=float, default=0.001)
    parser.add_argument('--depth_dim', type=int, default=32)
    parser.add_argument('--no_progress', action='store_true')
    args = parser.parse_args(argv)

    start = time.time()
    data_dir = osp.join(args.out, 'data')
    # only the frames the loader keeps: % 5 (training subjects) and % 64 (test subjects)
    frames = sorted({f for f in range(args.frames) if f % 5 == 0 or f % 64 == 0})
    generate_data(data_dir, ('Human36M',), seed=args.seed, h36m_actions=args.actions,
                  h36m_cameras=2, h36m_frames=frames)
    baseline, n_train, n_test = mean_pose_baseline(data_dir)
    cfg_items = small_model_cfg(data_dir, args.out, args.epochs, input_size=args.input_size,
                                batch_size=args.batch_size, lr=args.lr,
                                depth_dim=args.depth_dim)
    train(cfg_items + ['trainset_2d=[]'], progress=not args.no_progress, seed=args.seed)
    metrics = test(cfg_items, args.epochs - 1, progress=not args.no_progress)
    minutes = (time.time() - start) / 60
    ratio = baseline / metrics['error']
    print(f'\nLearning check ({n_train} training / {n_test} test samples, ResNet-18, '
          f'{args.input_size}x{args.input_size} input, {args.epochs} epochs, {minutes:.1f} min):')
    print(f'  trained model MPJPE  {metrics["error"]:7.1f} mm')
    print(f'  mean-pose baseline   {baseline:7.1f} mm')
    print(f'  baseline / model     {ratio:7.2f}x  ({"PASS" if ratio >= 2 else "FAIL"}: >= 2x expected)')
    return {'model_mpjpe': metrics['error'], 'baseline_mpjpe': baseline, 'ratio': ratio,
            'minutes': minutes}


if __name__ == '__main__':
    from common.utils.cli import run_cli
    run_cli(main, sys.argv[1:])
