"""Shared parts of the image-name helpers (`coco_img_name.py`, `mupots_img_name.py`) and of the
Python viewer: reading an annotation file's image list and the result keys of docs/SPEC.md §7.
"""
import json
import os.path as osp
import re

from common.utils.errors import PoseNetError
from common.utils.file_io import write_text
from data.result_files import coco_key_stem, parse_mupots_key

VIS_DIR = osp.dirname(osp.abspath(__file__))

_MUPOTS_FILE = re.compile(r'^TS(\d+)/img_(\d+)\.[A-Za-z]+$')


def load_annotation_images(path):
    """The `images` list of a COCO-style annotation JSON, in file order."""
    if not osp.isfile(path):
        raise PoseNetError(f"annotation file {path} not found: download the dataset's "
                           "annotations there or pass its path with --ann")
    try:
        with open(path) as f:
            images = json.load(f)['images']
    except (ValueError, KeyError, TypeError) as e:
        raise PoseNetError(f"annotation file {path} is not a COCO-style JSON with an 'images' "
                           f"list ({e.__class__.__name__}: {e}); check the file or re-download "
                           "it") from None
    if not isinstance(images, list) or any('file_name' not in im for im in images):
        raise PoseNetError(f"annotation file {path}: every entry of 'images' needs a "
                           "'file_name'; check the file or re-download it")
    return images


def mupots_ts_frame(file_name):
    """`'TS1/img_000000.jpg'` -> `(1, 0)`: sequence number and frame number."""
    match = _MUPOTS_FILE.match(file_name.replace('\\', '/'))
    if match is None:
        raise PoseNetError(f"image file_name {file_name!r} is not of the MuPoTS-3D form "
                           "'TS<number>/img_<frame>.jpg'; is this MuPoTS-3D.json?")
    return int(match.group(1)), int(match.group(2))


def key_to_image_path(dataset, key, img_dir):
    """Image file of a result key: MuPoTS `TS1_img_000000` -> `<img_dir>/TS1/img_000000.jpg`;
    COCO `coco_000000000139` -> `<img_dir>/000000000139.jpg`."""
    try:
        if dataset == 'mupots':
            seq, frame = parse_mupots_key(key)
            return osp.join(img_dir, f'TS{seq}', f'img_{frame:06d}.jpg')
        return osp.join(img_dir, coco_key_stem(key) + '.jpg')
    except PoseNetError as e:
        other = 'coco' if dataset == 'mupots' else 'mupots'
        raise PoseNetError(f"{e}; is this a {dataset} result (--dataset {other} "
                           "otherwise)?") from None


def write_name_list(path, lines):
    """Write one name per line (atomic) and return `path`."""
    write_text(path, ''.join(line + '\n' for line in lines))
    return path


def name_list_cli(argv, description, default_ann, default_out, line_of_image):
    """Command line shared by the two name helpers: `--ann PATH --out PATH`.

    `line_of_image(file_name)` gives the line for one image; lines follow the image order of the
    annotation file (the order in which the result exporter writes its keys).
    """
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--ann', default=default_ann,
                        help=f'annotation JSON (default: {default_ann})')
    parser.add_argument('--out', default=default_out,
                        help=f'name list to write (default: {default_out})')
    args = parser.parse_args(argv)
    try:
        lines = [line_of_image(im['file_name']) for im in load_annotation_images(args.ann)]
    except PoseNetError as e:
        if str(e).startswith('annotation file '):
            raise
        raise PoseNetError(f'annotation file {args.ann}: {e}') from None
    write_name_list(args.out, lines)
    print(f'wrote {len(lines)} image names to {args.out}')
