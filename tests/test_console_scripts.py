"""pyproject.toml console commands: each one runs its script exactly as `python <file>` does.

The `python <file>` form is run in-process with `runpy.run_path` (what the interpreter does
with a script path); one command also runs in a fresh interpreter as its installed wrapper
calls it.
"""
import os
import runpy
import subprocess
import sys
import tomllib

import pytest

from main import console_scripts

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def project_scripts():
    with open(os.path.join(REPO, 'pyproject.toml'), 'rb') as f:
        return tomllib.load(f)['project']['scripts']


def script_file(command):
    return os.path.join(REPO, console_scripts.SCRIPTS[command].replace('.', '/') + '.py')


def test_every_command_points_at_its_script():
    scripts = project_scripts()
    assert set(scripts) == set(console_scripts.SCRIPTS)
    assert {'posenet-demo', 'posenet-train', 'posenet-test', 'posenet-fetch-models'} <= set(scripts)
    for command, target in scripts.items():
        module, func = target.split(':')
        assert module == 'main.console_scripts'
        assert callable(getattr(console_scripts, func))
        assert func == command[len('posenet-'):].replace('-', '_')
        assert os.path.isfile(script_file(command)), command


def run(capsys, monkeypatch, argv, call):
    """`(exit status, stdout, stderr)` of `call()` with `sys.argv = argv`."""
    monkeypatch.setattr(sys, 'argv', list(argv))
    try:
        call()
        status = 0
    except SystemExit as e:
        status = e.code
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize('command,args', [
    ('posenet-demo', ['--help']), ('posenet-train', ['--help']), ('posenet-test', ['--help']),
    ('posenet-fetch-models', ['--list']), ('posenet-export-onnx', ['--help']),
    ('posenet-demo', ['--input', 'no/such/photo.jpg'])])
def test_command_is_identical_to_the_script(command, args, capsys, monkeypatch):
    func = getattr(console_scripts, project_scripts()[command].split(':')[1])
    script = script_file(command)
    # as in a fresh interpreter: the script's module not imported yet (runpy warns otherwise)
    monkeypatch.delitem(sys.modules, console_scripts.SCRIPTS[command], raising=False)
    as_command = run(capsys, monkeypatch, [command] + args, func)
    as_script = run(capsys, monkeypatch, [script] + args,
                    lambda: runpy.run_path(script, run_name='__main__'))
    assert as_command == as_script
    status, out, err = as_command
    if args == ['--help']:
        assert status == 0 and out.startswith(f'usage: {os.path.basename(script)} ')
    elif args == ['--list']:
        assert status == 0 and out.splitlines()[0].startswith('posenet posenet_muco_snapshot_24')
    else:
        assert status == 2 and err == 'error: input not found: no/such/photo.jpg\n'


def test_installed_wrapper_form_in_a_fresh_interpreter():
    # what pip's generated `posenet-fetch-models` executable does: import the function, call it
    code = ("import sys; sys.argv = ['posenet-fetch-models', 'bogus']; "
            "from main.console_scripts import fetch_models; sys.exit(fetch_models())")
    res = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True,
                         timeout=300, env={**os.environ, 'PYTHONPATH': REPO})
    assert res.returncode == 2
    assert res.stderr.startswith("error: unknown model 'bogus'")
