"""Train PoseNet.

    python main/train.py --gpu 0-1                  # two GPUs, DataParallel (batch_size per GPU)
    python main/train.py --gpu 0-1 --continue       # resume after the newest snapshot
    python main/train.py --overwrite                # start over, deleting the old snapshots
    python main/train.py --cfg resnet_type=18 pretrained_backbone=False   # CPU works too
    torchrun --nnodes 2 --nproc_per_node 8 ... main/train.py   # DDP, one GPU per process
"""
import argparse

from common.utils.cli import add_common_args, add_run_args, run_cli


def parse_args(argv=None):
    from data.registry import describe
    parser = argparse.ArgumentParser(
        description='Train PoseNet or RootNet (3DMPPE).',
        epilog=describe() + ' The network is PoseNet; --cfg network=RootNet trains RootNet '
                            '(runs under output/rootnet/).')
    add_common_args(parser)
    resume = parser.add_mutually_exclusive_group()
    resume.add_argument('--continue', dest='continue_train', action='store_true',
                        help='resume from the newest snapshot in output/model_dump (its model '
                             'settings are used)')
    resume.add_argument('--overwrite', action='store_true',
                        help='start over although the model folder holds snapshots of an '
                             'earlier run (they are deleted)')
    add_run_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    """Run training; returns the Trainer (its last epoch's mean loss in `last_loss`)."""
    from common.utils import dist
    from main.config import Config
    from main.engine import Trainer

    args = parse_args(argv)
    cfg = Config.from_args(args, args.continue_train)

    trainer = Trainer(cfg)
    error = None
    try:
        device = (f'{trainer.world_size} processes (DDP), this one on {trainer.device}'
                  if trainer.distributed else str(trainer.device) +
                  (f' x{cfg.num_gpus} (DataParallel)' if cfg.num_gpus > 1 else ''))
        trainer.logger.info(f'Training on {device}')
        trainer.last_loss = None
        if not trainer.prepare_run(overwrite=args.overwrite):
            return trainer              # --continue of a complete run: nothing to do
        # --continue: trainer.cfg is the snapshot's model and run settings (a new config)
        trainer.log_config()
        trainer.make_batch_generator()
        trainer.make_model()
        trainer.write_config()
        trainer.last_loss = trainer.train(progress=not args.no_progress)
    except BaseException as e:          # also Ctrl-C / SIGTERM: into the log, lock released
        error = e
        raise
    finally:
        dist.cleanup()
        trainer.close(error)
    return trainer

if __name__ == '__main__':
    run_cli(main, interrupt_hint='resume with --continue')
