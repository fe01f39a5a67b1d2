"""Train PoseNet.

    python main/train.py --gpu 0-1                  # two GPUs, DataParallel (batch_size per GPU)
    python main/train.py --gpu 0-1 --continue       # resume after the newest snapshot
    python main/train.py --cfg resnet_type=18 pretrained_backbone=False   # CPU works too
    torchrun --nnodes 2 --nproc_per_node 8 ... main/train.py   # DDP, one GPU per process
"""
import argparse

from common.utils.cli import add_common_args, add_run_args, configure, run_cli


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train PoseNet (3DMPPE).')
    add_common_args(parser)
    parser.add_argument('--continue', dest='continue_train', action='store_true',
                        help='resume from the newest snapshot in output/model_dump')
    add_run_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    """Run training; returns the Trainer (its last epoch's mean loss in `last_loss`)."""
    from common.base import Trainer
    from common.utils import dist
    from main.config import cfg

    args = parse_args(argv)
    configure(cfg, args, args.continue_train)

    trainer = Trainer(cfg)
    try:
        device = (f'{trainer.world_size} processes (DDP), this one on {trainer.device}'
                  if trainer.distributed else str(trainer.device) +
                  (f' x{cfg.num_gpus} (DataParallel)' if cfg.num_gpus > 1 else ''))
        trainer.logger.info(f'Training on {device}')
        trainer.make_batch_generator()
        trainer.make_model()
        trainer.last_loss = trainer.train(progress=not args.no_progress)
    finally:
        dist.cleanup()
        trainer.logger.close()
    return trainer


if __name__ == '__main__':
    run_cli(main)
