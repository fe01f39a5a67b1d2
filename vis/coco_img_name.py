"""Write the COCO image-name list read by the MATLAB scripts (`draw_3Dpose_coco.m`).

One line per image of the annotation file, in its order: `coco_<stem>`, the key under which
`preds_2d_kpt_coco.mat` / `preds_3d_kpt_coco.mat` store that image's people (made by the same
`coco_key` the exporter uses).

    python vis/coco_img_name.py [--ann data/MSCOCO/annotations/person_keypoints_val2017.json]
                                [--out vis/coco_img_name.txt]
"""
import os.path as osp

from common.utils.cli import run_cli
from main.config import Config
from data.result_files import coco_key
from vis.name_list import VIS_DIR, name_list_cli

DEFAULT_OUT = osp.join(VIS_DIR, 'coco_img_name.txt')


def default_ann():
    """`<data_dir>/MSCOCO/annotations/person_keypoints_val2017.json`."""
    return osp.join(Config().data_dir, 'MSCOCO', 'annotations', 'person_keypoints_val2017.json')


def main(argv=None):
    """Command-line entry; a user-facing error exits with status 2 after one `error:` line."""
    run_cli(lambda a: name_list_cli(
        a, 'Write the COCO image-name list (coco_<stem> per line) for the MATLAB scripts.',
        default_ann(), DEFAULT_OUT, coco_key), argv)


if __name__ == '__main__':
    main()
