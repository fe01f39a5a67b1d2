"""MuPoTS-3D evaluation, output: the printed table and the sequence-wise CSV files (the same
names and columns as the kit's MATLAB script writes).
"""
import os.path as osp

import numpy as np

from common.utils.file_io import write_text
from data.MuPoTS.mupots_metrics import JOINT_GROUPS_1BASED, SUBSETS


def csv_prefix(metrics):
    """File name prefix naming mode and coordinates, e.g. `mupots_all_relative`."""
    return f"mupots_{metrics['mode']}_{'relative' if metrics['is_relative'] else 'absolute'}"


def _rows(metrics):
    """`(label, {subset: group_metrics})` rows: the sequences, then 'mean' and 'pooled'."""
    return list(metrics['sequences'].items()) + [('mean', metrics['mean']),
                                                  ('pooled', metrics['pooled'])]


def format_csv(metrics, subset='all'):
    """CSV text: one row per sequence, then the mean over sequences and the pooled total."""
    groups = [g for g, _ in JOINT_GROUPS_1BASED] + ['total']
    header = (['sequence', 'people', 'joints'] + [f'pck_{g}' for g in groups]
              + [f'auc_{g}' for g in groups])
    lines = [','.join(header)]
    for label, row in _rows(metrics):
        m = row[subset]
        vals = [m['pck'][g] for g in groups] + [m['auc'][g] for g in groups]
        lines.append(','.join([label, str(m['num_people']), str(m['num_joints'])]
                              + [f'{v:.4f}' for v in vals]))
    return '\n'.join(lines) + '\n'


def write_csvs(metrics, out_dir):
    """Write `<prefix>_multiperson_3dhp_evaluation_sequencewise[_visible|_occluded].csv`
    atomically into `out_dir`; returns their paths."""
    paths = []
    for subset in SUBSETS:
        suffix = '' if subset == 'all' else f'_{subset}'
        path = osp.join(out_dir, f'{csv_prefix(metrics)}_multiperson_3dhp_evaluation_'
                                 f'sequencewise{suffix}.csv')
        write_text(path, format_csv(metrics, subset))
        paths.append(path)
    return paths


def _fmt(value):
    return '   -  ' if value is None or np.isnan(value) else f'{value:6.2f}'


def format_table(metrics):
    """Human-readable table: per sequence 3DPCK/AUC (all, visible, occluded joints), then the
    joint-group 3DPCK of the mean over sequences and of the pooled total."""
    kind = 'relative' if metrics['is_relative'] else 'absolute'
    mode = 'all annotated' if metrics['mode'] == 'all' else 'only matched'
    lines = [f'MuPoTS-3D evaluation ({kind} 3D, {mode} people): 3DPCK@150mm / AUC in %',
             f"{'sequence':>9} {'people':>6} | {'PCK':>6} {'AUC':>6} | {'PCKvis':>6} "
             f"{'AUCvis':>6} | {'PCKocc':>6} {'AUCocc':>6}"]
    for label, src in _rows(metrics):
        cells = ' | '.join(f"{_fmt(src[s]['pck']['total'])} {_fmt(src[s]['auc']['total'])}"
                           for s in SUBSETS)
        lines.append(f"{label:>9} {src['all']['num_people']:>6} | {cells}")
    groups = [g for g, _ in JOINT_GROUPS_1BASED] + ['total']
    lines.append(f"{'3DPCK':>9} " + ' '.join(f'{g:>9}' for g in groups))
    for label in ('mean', 'pooled'):
        lines.append(f'{label:>9} ' + ' '.join(
            f"   {_fmt(metrics[label]['all']['pck'][g])}" for g in groups))
    if metrics.get('unused_keys'):
        lines.append(f"note: {metrics['unused_keys']} prediction key(s) name no frame of the "
                     "ground truth and were ignored")
    return '\n'.join(lines)
