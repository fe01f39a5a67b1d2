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
