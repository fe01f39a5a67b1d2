"""Test a PoseNet snapshot on cfg.testset (Human36M, MuPoTS or MSCOCO) and evaluate it.

    python main/test.py --gpu 0-1 --test_epoch 24
    python main/test.py --test_epoch 24 --cfg testset=MuPoTS flip_test=False
    python main/test.py --test_epoch 24 --backend onnx     # CPU: ONNX Runtime, ~2x faster

The model settings (resnet_type, input_shape, depth_dim, ...) come from the snapshot when it
records them (snapshots written by this project); official snapshots use `--cfg`/defaults.
"""
import argparse

from common.utils.cli import add_common_args, add_run_args, run_cli


def parse_args(argv=None):
    from data.registry import describe
    parser = argparse.ArgumentParser(
        description='Test a PoseNet or RootNet snapshot.',
        epilog=describe() + ' The network is PoseNet; --cfg network=RootNet tests RootNet '
                            '(runs under output/rootnet/).')
    add_common_args(parser)
    parser.add_argument('--test_epoch', type=int, required=True,
                        help='epoch of output/model_dump/snapshot_<epoch>.pth.tar')
    add_run_args(parser)
    parser.add_argument('--backend', choices=['torch', 'onnx', 'onnx-int8'], default='torch',
                        help="inference engine: torch (default, the original's numbers) or onnx "
                             "(ONNX Runtime on the CPU; the snapshot is exported once to "
                             "snapshot_<epoch>.onnx next to it; outputs equal within float32 "
                             "rounding); onnx-int8: int8, calibrated on smooth random crops "
                             "(docs/cpu_inference.md)")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the test set through the snapshot and evaluate; returns the metrics dict."""
    from main.config import Config
    from main.engine import Tester

    args = parse_args(argv)
    cfg = Config.from_args(args)

    tester = Tester(cfg, args.test_epoch, backend=args.backend)
    error = None
    try:
        tester.load_snapshot()          # the snapshot's settings -> tester.cfg, a new config
        cfg = tester.cfg
        tester.log_config()
        tester.logger.info(f'Testing snapshot {args.test_epoch} on {cfg.testset} '
                           f'({tester.device}, flip_test={cfg.flip_test}, backend={args.backend})')
        tester.make_batch_generator()
        tester.make_model()
        tester.write_config()
        preds = tester.predict_all(progress=not args.no_progress)
        metrics = tester.evaluate(preds)
        tester.logger.info(f'Results written under {cfg.result_dir}')
    except BaseException as e:          # also Ctrl-C / SIGTERM: into the log, lock released
        error = e
        raise
    finally:
        tester.close(error)
    return metrics

if __name__ == '__main__':
    run_cli(main)
