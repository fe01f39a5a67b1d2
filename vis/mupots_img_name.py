"""Write the MuPoTS-3D image-name list read by the MATLAB scripts (`draw_3Dpose_mupots.m`).

One line per image of the annotation file, in its order: `<TS number> <frame number>`
(`TS1/img_000042.jpg` -> `1 42`); the MATLAB scripts turn it back into the result key
`TS1_img_000042` and the image path `TS1/img_000042.jpg`.

    python vis/mupots_img_name.py [--ann data/MuPoTS/data/MuPoTS-3D.json]
                                  [--out vis/mupots_img_name.txt]
"""
import os.path as osp

from common.utils.cli import run_cli
from main.config import Config
from vis.name_list import VIS_DIR, mupots_ts_frame, name_list_cli

DEFAULT_OUT = osp.join(VIS_DIR, 'mupots_img_name.txt')


def default_ann():
    """`<data_dir>/MuPoTS/data/MuPoTS-3D.json`."""
    return osp.join(Config().data_dir, 'MuPoTS', 'data', 'MuPoTS-3D.json')


def mupots_line(file_name):
    """`'TS1/img_000042.jpg'` -> `'1 42'`."""
    return '%d %d' % mupots_ts_frame(file_name)


def main(argv=None):
    """Command-line entry; a user-facing error exits with status 2 after one `error:` line."""
    run_cli(lambda a: name_list_cli(
        a, 'Write the MuPoTS-3D image-name list ("<TS number> <frame number>" per line) for '
           'the MATLAB scripts.', default_ann(), DEFAULT_OUT, mupots_line), argv)


if __name__ == '__main__':
    main()
