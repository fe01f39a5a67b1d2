"""Fetch the pretrained models ahead of time (docs/models.md, docs/SPEC.md §16).

    python tool/fetch_models.py                        # all models into the cache folder
    python tool/fetch_models.py posenet rootnet --out /shared/models   # then copy DIR over
    python tool/fetch_models.py --mirror https://models.my-lab.org/3dmppe   # URL/FILE
    python tool/fetch_models.py --list                 # NAME FILE SOURCE, one line per model

The cache folder is `--out`, else `$POSENET_MODEL_DIR`, else `~/.cache/posenet-3dmppe`; the
demo finds the files there (`--model_dir DIR` for another folder). `$POSENET_MODEL_MIRROR` sets
the mirror like `--mirror`. A file already there is kept; a fetched file is checked before it is
put in place (a file that fails is removed and the error says why).
"""
import argparse
import os.path as osp
import sys

from common.utils.cli import run_cli
from common.utils.errors import PoseNetError
from main import model_store


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.splitlines()[1:6]))
    parser.add_argument('names', nargs='*', metavar='NAME',
                        help=f"models to fetch (default: all): {', '.join(model_store.MODELS)}")
    parser.add_argument('--out', default=None, metavar='DIR',
                        help=f'folder to put them in (default: ${model_store.CACHE_ENV}, else '
                             f'{model_store.DEFAULT_CACHE})')
    parser.add_argument('--mirror', default=None, metavar='URL',
                        help='fetch each file from URL/FILE instead of its source (default: '
                             f'${model_store.MIRROR_ENV})')
    parser.add_argument('--list', action='store_true', help='print NAME FILE SOURCE per model')
    parser.add_argument('--no_progress', action='store_true', help='no progress bar')
    return parser.parse_args(argv)


def list_lines(mirror=None):
    """`NAME FILE SOURCE` of every model (the first address it is fetched from)."""
    return [f'{e.name} {e.file} {model_store.entry_sources(e, mirror)[0]}'
            for e in model_store.MODELS.values()]


def main(argv=None):
    """Fetch the models; returns `{name: path}` (or the `--list` lines)."""
    args = parse_args(argv)
    if args.list:
        lines = list_lines(args.mirror)
        print('\n'.join(lines))
        return lines
    names = args.names or list(model_store.MODELS)
    for name in names:
        model_store.get_entry(name)         # an unknown name before any download
    folder = model_store.model_dir(args.out)
    paths, failed = {}, []
    for name in names:
        path = model_store.model_path(name, folder)
        there = osp.isfile(path)
        try:
            paths[name] = model_store.fetch_model(name, folder, args.mirror,
                                                  progress=not args.no_progress)
        except PoseNetError as e:
            print(f'error: {e}', file=sys.stderr)
            failed.append(name)
            continue
        print(f"{name}: {path} ({'already there' if there else 'fetched and checked'})")
    if failed:
        raise PoseNetError(f"{len(failed)} of {len(names)} model(s) not fetched "
                           f"({', '.join(failed)}); see the lines above")
    return paths


if __name__ == '__main__':
    run_cli(main)
