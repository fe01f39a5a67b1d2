"""Which dataset can be used for what: the one list of dataset classes (docs/SPEC.md §6, §8).

    build_dataset('Human36M', 'train', cfg)   # == Human36M('train', cfg)

`TRAIN_3D` sets give 3D supervision, `TRAIN_2D` sets 2D only (mixed in as the original does);
`TEST` sets have an `evaluate`. Each class lives in `data/<Name>/<Name>.py`.
"""
from common.utils.errors import PoseNetError
from data.Human36M.Human36M import Human36M
from data.MPII.MPII import MPII
from data.MSCOCO.MSCOCO import MSCOCO
from data.MuCo.MuCo import MuCo
from data.MuPoTS.MuPoTS import MuPoTS

DATASETS = {cls.__name__: cls for cls in (Human36M, MuCo, MSCOCO, MPII, MuPoTS)}
TRAIN_3D = ('Human36M', 'MuCo')
TRAIN_2D = ('MSCOCO', 'MPII')
TEST = ('Human36M', 'MuPoTS', 'MSCOCO')
USES = {'train_3d': TRAIN_3D, 'train_2d': TRAIN_2D, 'test': TEST}


def build_dataset(name, use, cfg):
    """The dataset `name` for `use` ('train_3d', 'train_2d' or 'test'), built from `cfg`."""
    choices = USES[use]
    if name not in choices:
        what = {'train_3d': 'a 3D training set (trainset_3d)',
                'train_2d': 'a 2D training set (trainset_2d)', 'test': 'a test set (testset)'}[use]
        raise PoseNetError(f"dataset '{name}' cannot be used as {what}; choose from "
                           f"{', '.join(choices)}")
    return DATASETS[name]('test' if use == 'test' else 'train', cfg)


def check_names(cfg):
    """Refuse, before anything runs, a `testset`, `trainset_3d` or `trainset_2d` of `cfg` that
    names no dataset for that use (every driver checks every `--cfg` value, also those it does
    not use)."""
    for field, use, names in (('testset', 'test', [cfg.testset]),
                              ('trainset_3d', 'train_3d', cfg.trainset_3d),
                              ('trainset_2d', 'train_2d', cfg.trainset_2d)):
        for name in names:
            if name not in USES[use]:
                raise PoseNetError(f"config key '{field}': '{name}' is not one of "
                                   f"{', '.join(USES[use])}")


def describe():
    """For `--help`: the dataset names per use."""
    return (f"datasets: trainset_3d from {', '.join(TRAIN_3D)}; trainset_2d from "
            f"{', '.join(TRAIN_2D)}; testset from {', '.join(TEST)}.")
