"""Command-line plumbing shared by train.py, test.py and demo.py."""
import re
import signal
import sys
import warnings

from common.utils.errors import PoseNetError, PoseNetWarning


def add_common_args(parser):
    """`--gpu` and `--cfg KEY=VALUE ...`, the arguments every driver takes.

    `--cfg` may be given several times; the groups are merged in order (a later KEY wins).
    """
    parser.add_argument('--gpu', type=str, dest='gpu_ids', default=None,
                        help="GPU ids: '0', '0,1' or an inclusive range '0-3'; default: every "
                             "visible GPU, or the CPU when there is none")
    parser.add_argument('--cfg', nargs='+', action='extend', default=[], metavar='KEY=VALUE',
                        help='override config fields, e.g. --cfg resnet_type=18 '
                             '"input_shape=(128, 128)" testset=MuPoTS (may be repeated; '
                             'a later KEY wins)')
    return parser


def add_run_args(parser):
    """Speed options and progress display of train.py and test.py."""
    parser.add_argument('--amp', choices=['none', 'bf16', 'fp16'], default=None,
                        help='mixed-precision autocast on GPUs (default none = the original '
                             'numbers)')
    parser.add_argument('--channels_last', action='store_true',
                        help='channels_last memory format (faster convolutions on recent GPUs)')
    parser.add_argument('--no_progress', action='store_true', help='no progress bar')
    return parser


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process gets SIGTERM (inside `run_cli`).

    A KeyboardInterrupt, so every `finally` and context manager (e.g. `atomic_path`, which
    removes its temporary file) runs exactly as for Ctrl-C.
    """


def _raise_terminated(signum, frame):
    raise Terminated()


def error_message(error):
    """The user-facing text of a PoseNetError.

    A PoseNetError raised in a DataLoader worker process comes back re-raised by torch with
    the message 'Caught PoseNetError in DataLoader worker process 0.\\nOriginal Traceback ...';
    this returns the original message (the text after the traceback's last
    '<module.>PoseNetError: ' line).
    """
    text = str(error)
    if not (text.startswith('Caught ') and '\nOriginal Traceback' in text):
        return text
    name = re.escape(type(error).__name__)
    tails = list(re.finditer(rf'^(?:[\w.]+\.)?{name}: ', text, re.MULTILINE))
    if tails:
        return text[tails[-1].end():].strip()
    return text.strip().splitlines()[-1]


def run_cli(main, argv=None, interrupt_hint=None):
    """Run `main(argv)` as a command-line program.

    A PoseNetError becomes one `error: ...` line on stderr and exit code 2 (also when raised in
    a DataLoader worker). Ctrl-C (SIGINT) and SIGTERM stop the run through KeyboardInterrupt
    (`Terminated` for SIGTERM), so cleanup code runs; the program prints `interrupted (SIGINT)`
    or `interrupted (SIGTERM)` (followed by `; <interrupt_hint>` when given, e.g.
    'resume with --continue') and exits with 130 or 143 (128 + signal number). A
    PoseNetWarning is printed as one `warning: ...` line on stderr.
    """
    installed = False
    show_warning = warnings.showwarning

    def one_line(message, category, *args, **kwargs):
        if issubclass(category, PoseNetWarning):
            print(f'warning: {message}', file=sys.stderr)
        else:
            show_warning(message, category, *args, **kwargs)
    warnings.showwarning = one_line
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
        installed = True
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        main(argv)
    except PoseNetError as e:
        print(f'error: {error_message(e)}', file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as e:
        name, code = ('SIGTERM', 143) if isinstance(e, Terminated) else ('SIGINT', 130)
        hint = f'; {interrupt_hint}' if interrupt_hint else ''
        print(f'interrupted ({name}){hint}', file=sys.stderr)
        sys.exit(code)
    finally:
        warnings.showwarning = show_warning
        if installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
