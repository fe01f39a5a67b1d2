"""Console commands installed with the project (`pip install -e .`, pyproject.toml
`[project.scripts]`).

`posenet-demo ARGS` is `python demo/demo.py ARGS`, and so on: each command runs its script's
`__main__` block through `runpy` with `sys.argv[0]` set to the script, so options, help text,
output and exit status are the same. The `python <folder>/<file>.py` form stays the primary one.
"""
import runpy

# command -> module of the script it runs
SCRIPTS = {
    'posenet-demo': 'demo.demo',
    'posenet-train': 'main.train',
    'posenet-test': 'main.test',
    'posenet-fetch-models': 'tool.fetch_models',
    'posenet-export-onnx': 'tool.export_onnx',
    'posenet-quick-start': 'tool.quick_start',
    'posenet-synthetic-data': 'tool.synthetic_data',
    'posenet-benchmark': 'tool.benchmark',
    'posenet-view-results': 'vis.view_results',
}


def run_script(module):
    """Run `module` as `python <its file>` would (its `__main__` block, `sys.argv[0]` its file)."""
    runpy.run_module(module, run_name='__main__', alter_sys=True)


def demo():
    run_script(SCRIPTS['posenet-demo'])


def train():
    run_script(SCRIPTS['posenet-train'])


def test():
    run_script(SCRIPTS['posenet-test'])


def fetch_models():
    run_script(SCRIPTS['posenet-fetch-models'])


def export_onnx():
    run_script(SCRIPTS['posenet-export-onnx'])


def quick_start():
    run_script(SCRIPTS['posenet-quick-start'])


def synthetic_data():
    run_script(SCRIPTS['posenet-synthetic-data'])


def benchmark():
    run_script(SCRIPTS['posenet-benchmark'])


def view_results():
    run_script(SCRIPTS['posenet-view-results'])
