"""Command-line plumbing shared by train.py, test.py and demo.py."""
import sys

from common.utils.errors import PoseNetError


def add_common_args(parser):
    """`--gpu` and `--cfg KEY=VALUE ...`, the arguments every driver takes."""
    parser.add_argument('--gpu', type=str, dest='gpu_ids', default=None,
                        help="GPU ids: '0', '0,1' or an inclusive range '0-3'; default: every "
                             "visible GPU, or the CPU when there is none")
    parser.add_argument('--cfg', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config fields, e.g. --cfg resnet_type=18 '
                             '"input_shape=(128, 128)" testset=MuPoTS')
    return parser


def add_run_args(parser):
    """Speed options and progress display of train.py and test.py."""
    parser.add_argument('--amp', choices=['none', 'bf16', 'fp16'], default=None,
                        help='mixed-precision autocast on GPUs (default none = the original numbers)')
    parser.add_argument('--channels_last', action='store_true',
                        help='channels_last memory format (faster convolutions on recent GPUs)')
    parser.add_argument('--no_progress', action='store_true', help='no progress bar')
    return parser


def configure(cfg, args, continue_train=False):
    """Apply `--cfg` overrides, the speed options and `--gpu` to `cfg`; returns it."""
    cfg.apply_overrides(args.cfg)
    if getattr(args, 'amp', None) is not None:
        cfg.update(amp=args.amp)
    if getattr(args, 'channels_last', False):
        cfg.update(channels_last=True)
    return cfg.set_args(args.gpu_ids, continue_train)


def run_cli(main, argv=None):
    """Run `main(argv)`; a PoseNetError becomes one `error: ...` line on stderr and exit code 2."""
    try:
        main(argv)
    except PoseNetError as e:
        print(f'error: {e}', file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        sys.exit(130)
