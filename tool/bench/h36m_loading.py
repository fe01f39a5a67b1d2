"""`--h36m_loading`: time and peak memory of loading the Human3.6M training set from generated
annotation trees, the original's way against ours (first and second start), each in a
fresh process.
"""
import os.path as osp
import sys
import tempfile


LOAD_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from tool.h36m_annotation_tree import measure_load
print(json.dumps(measure_load(*sys.argv[2:])))
"""


def bench_h36m_loading(full=False, keep_dir=None, frames=(70, 280)):
    """Time and peak memory of loading the Human3.6M training set (protocol 2) of generated
    annotation-only trees with `frames` frames per sequence (1,400: the real size; `full` adds
    it): the original's way and ours (first start, second start from the cache), each in a
    fresh process. Trees are kept in `keep_dir` when given. Prints a table; returns its rows."""
    import json
    import shutil
    import subprocess
    from data.Human36M.Human36M import PROTOCOL_SUBJECTS
    from tool.h36m_annotation_tree import write_tree

    def measure(data_dir, how):
        root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))   # the repository
        out = subprocess.run([sys.executable, '-c', LOAD_SCRIPT, root, data_dir, how],
                             check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for num in list(frames) + ([1400] if full else []):
            data_dir = osp.join(keep_dir or tmp, f'h36m_{num}')
            if not osp.isdir(osp.join(data_dir, 'Human36M')):
                write_tree(data_dir, frames=num)
            shutil.rmtree(osp.join(data_dir, 'Human36M', 'cache'), ignore_errors=True)
            label = 'full' if num == 1400 else (f'1/{1400 // num}' if 1400 % num == 0 else
                                                f'{num} fr')
            parsed = len(PROTOCOL_SUBJECTS[2]['train']) * 15 * 2 * 4 * num
            rows.append((label, parsed) + tuple(measure(data_dir, how)
                                                 for how in ('original', 'ours', 'ours')))
    print("Human36M('train') protocol 2 of generated annotations; each in a fresh process; "
          "MiB = peak RSS above the RSS before loading")
    print(f'  {"size":<5} {"parsed":>8} {"entries":>8} {"original s":>10} {"MiB":>6} '
          f'{"ours s":>7} {"MiB":>6} {"2nd start s":>11} {"MiB":>6} {"faster":>6} '
          f'{"lighter":>7}')
    for label, parsed, orig, first, second in rows:
        print(f'  {label:<5} {parsed:>8} {first["entries"]:>8} {orig["seconds"]:>10.2f} '
              f'{orig["peak_mib"]:>6.0f} {first["seconds"]:>7.2f} {first["peak_mib"]:>6.0f} '
              f'{second["seconds"]:>11.3f} {second["peak_mib"]:>6.0f} '
              f'{orig["seconds"] / first["seconds"]:>5.1f}x '
              f'{orig["peak_mib"] / max(first["peak_mib"], 1e-3):>6.1f}x')
    return rows


def run(args):
    """`tool/benchmark.py --h36m_loading`."""
    return bench_h36m_loading(args.full, args.h36m_dir)
