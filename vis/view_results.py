"""Python viewer of exported results, for users without MATLAB (what `draw_3Dpose_*.m` do).

For each image of `preds_2d_kpt_<dataset>.mat` / `preds_3d_kpt_<dataset>.mat` (docs/SPEC.md §7:
one variable per image key, `(persons, 17, 2)` pixels and `(persons, 17, 3)` camera mm, the 17
MuPoTS joints), writes `<out_dir>/<key>.png`: the photo with everyone's 2D skeleton beside a 3D
view of everyone in camera space (mm, up is up), people numbered alike in both panels.

    python vis/view_results.py --dataset mupots [--result_dir output/result]
        [--img_dir data/MuPoTS/data/MultiPersonTestSet] [--out_dir output/vis/mupots]
        [--max_images N] [--show]
"""
import argparse
import os.path as osp

import cv2
from tqdm import tqdm

from common.utils.cli import run_cli
from common.utils.errors import PoseNetError
from common.utils.vis import vis_2d_and_3d
from data.joint_sets import MUPOTS_JOINTS, MUPOTS_SKELETON
from data.MuPoTS.mupots_predictions import pair_predictions, read_pred_mat
from data.result_files import pred_mat_name
from main.config import Config
from vis.name_list import key_to_image_path

# The exported joint set (docs/SPEC.md §6-7): the 17 MuPoTS joints and their skeleton (0-based).
EXPORT_JOINTS_NAME = MUPOTS_JOINTS
EXPORT_SKELETON = MUPOTS_SKELETON


def default_img_dir(dataset, data_dir):
    """Image root of a dataset under `data_dir` (the config's)."""
    if dataset == 'mupots':
        return osp.join(data_dir, 'MuPoTS', 'data', 'MultiPersonTestSet')
    return osp.join(data_dir, 'MSCOCO', 'images', 'val2017')


def read_image(path):
    """BGR image, or a `PoseNetError` naming the file."""
    img = cv2.imread(path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if img is None:
        raise PoseNetError(f"image {path} cannot be read (damaged or not an image); replace it")
    return img


def view_results(dataset, result_dir, img_dir, out_dir, max_images=None, show=False,
                 progress=True):
    """Write one figure per image key of an exported result; returns the written PNG paths.

    dataset: 'mupots' or 'coco'; result_dir: folder with the two `.mat` files; img_dir: image
    root (MuPoTS: `MultiPersonTestSet`, COCO: `val2017`); out_dir: where `<key>.png` go;
    max_images: at most this many images (file order); show: also open each figure (blocking);
    progress: show a progress bar on stderr.
    """
    if dataset not in ('mupots', 'coco'):
        raise PoseNetError(f"--dataset {dataset!r}: expected 'mupots' or 'coco'")
    path_2d = osp.join(result_dir, pred_mat_name('2d', dataset))
    path_3d = osp.join(result_dir, pred_mat_name('3d', dataset))
    # the exported files' one reader and pair checks (shapes, finite values, same keys/people)
    preds = pair_predictions(read_pred_mat(path_2d, 2, 'result file'),
                             read_pred_mat(path_3d, 3, 'result file'), path_2d, path_3d)
    keys = list(preds)
    if max_images is not None:
        keys = keys[:max(0, max_images)]
    img_paths = [key_to_image_path(dataset, key, img_dir) for key in keys]
    for path in img_paths:   # every image present before anything is drawn
        if not osp.isfile(path):
            raise PoseNetError(f"image {path} not found: pass the dataset's image folder with "
                               "--img_dir")
    written = []
    for key, img_path in tqdm(list(zip(keys, img_paths)), desc='drawing', unit='image',
                              disable=not progress):
        img = read_image(img_path)
        out_path = osp.join(out_dir, key + '.png')
        kpts_2d, kpts_3d = preds[key]
        people = kpts_2d.shape[0]
        vis_2d_and_3d(img, kpts_2d, kpts_3d, EXPORT_SKELETON, filename=out_path,
                      title=f"{key}: {people} {'person' if people == 1 else 'people'}", show=show)
        written.append(out_path)
    return written


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw exported PoseNet results (.mat): each photo with its 2D skeletons '
                    'beside the 3D poses, saved as PNG files.')
    parser.add_argument('--dataset', choices=('mupots', 'coco'), default='mupots')
    parser.add_argument('--result_dir', default=None,
                        help='folder with preds_{2d,3d}_kpt_<dataset>.mat '
                             '(default: cfg.result_dir)')
    parser.add_argument('--img_dir', default=None,
                        help='image root (default: data/MuPoTS/data/MultiPersonTestSet or '
                             'data/MSCOCO/images/val2017)')
    parser.add_argument('--out_dir', default=None,
                        help='where the PNG files go (default: <cfg.vis_dir>/<dataset>)')
    parser.add_argument('--max_images', type=int, default=None,
                        help='draw at most this many images (default: all)')
    parser.add_argument('--show', action='store_true',
                        help='also open each figure in a window (needs a display)')
    return parser.parse_args(argv)


def _main(argv):
    args = parse_args(argv)
    cfg = Config()      # the default folders (and the environment's)
    out_dir = args.out_dir or osp.join(cfg.vis_dir, args.dataset)
    written = view_results(args.dataset, args.result_dir or cfg.result_dir,
                           args.img_dir or default_img_dir(args.dataset, cfg.data_dir), out_dir,
                           max_images=args.max_images, show=args.show)
    print(f'wrote {len(written)} figure(s) to {out_dir}')


def main(argv=None):
    """Command-line entry; a user-facing error exits with status 2 after one `error:` line."""
    run_cli(_main, argv)


if __name__ == '__main__':
    main()
