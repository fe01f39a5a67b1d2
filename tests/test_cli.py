"""Command-line behaviour shared by the drivers: one `error:` line, clean stop on SIGTERM/SIGINT,
and the timer behind the training log's speed display."""
import os
import signal
import subprocess
import sys

import pytest

from common.timer import Timer
from common.utils.cli import error_message, run_cli
from common.utils.errors import PoseNetError
from main.config import ROOT_DIR, ConfigError

ENV = dict(os.environ, PYTHONPATH=ROOT_DIR)

SLOW_WRITER = """
import sys, time
from common.utils.cli import run_cli
from common.utils.file_io import atomic_path

def main(argv):
    with atomic_path(argv[0]) as tmp:
        open(tmp, 'wb').write(b'0' * 100000)
        print(tmp, flush=True)
        time.sleep(600)

run_cli(main, sys.argv[1:], interrupt_hint=sys.argv[2] if len(sys.argv) > 2 else None)
"""


@pytest.mark.parametrize('sig,code,line', [
    (signal.SIGTERM, 143, 'interrupted (SIGTERM)'),
    (signal.SIGINT, 130, 'interrupted (SIGINT)'),
])
def test_signal_during_atomic_write_stops_cleanly(tmp_path, sig, code, line):
    target = tmp_path / 'snapshot_3.pth.tar'
    proc = subprocess.Popen([sys.executable, '-c', SLOW_WRITER, str(target)], cwd=ROOT_DIR,
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tmp = proc.stdout.readline().strip()  # inside the atomic write now
    assert os.path.getsize(tmp) == 100000
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert err == line + '\n'
    assert os.listdir(tmp_path) == []  # temporary file removed, target never written


def test_interrupt_hint_is_appended(tmp_path):
    proc = subprocess.Popen([sys.executable, '-c', SLOW_WRITER, str(tmp_path / 'a'),
                             'resume with --continue'], cwd=ROOT_DIR, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (143, 'interrupted (SIGTERM); resume with --continue\n')


WORKER_ERROR = """
import sys
import torch
from common.utils.cli import run_cli
from common.utils.errors import PoseNetError

class Images(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise PoseNetError('cannot read image x.jpg: not a JPEG file: error: bad header')
        return torch.zeros(2)

def main(argv):
    for batch in torch.utils.data.DataLoader(Images(), batch_size=1, num_workers=int(argv[0])):
        pass

run_cli(main, sys.argv[1:])
"""


@pytest.mark.parametrize('workers', [0, 1])
def test_dataloader_worker_error_is_one_line(workers):
    res = subprocess.run([sys.executable, '-c', WORKER_ERROR, str(workers)], cwd=ROOT_DIR,
                         env=ENV, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2
    assert res.stderr == 'error: cannot read image x.jpg: not a JPEG file: error: bad header\n'


@pytest.mark.parametrize('exc_type,message', [
    (PoseNetError, 'cannot read image a.jpg'),
    (ConfigError, "config key 'lr' must be a number > 0\nsecond line: PoseNetError: x"),
])
def test_error_message_unwraps_torch_reraise(exc_type, message):
    from torch._utils import ExceptionWrapper
    try:
        try:
            raise KeyError('first')
        except KeyError:
            raise exc_type(message)  # chained: the traceback shows both exceptions
    except PoseNetError:
        wrapper = ExceptionWrapper(where='in DataLoader worker process 3')
    with pytest.raises(exc_type) as e:
        wrapper.reraise()
    assert str(e.value).startswith(f'Caught {exc_type.__name__} in DataLoader worker process 3')
    assert error_message(e.value) == message
    assert error_message(PoseNetError('Caught nothing: plain message')) == 'Caught nothing: plain message'


def test_run_cli_error_line_exit_code_and_signal_handler_restored(capsys):
    before = signal.getsignal(signal.SIGTERM)

    def main(argv):
        assert signal.getsignal(signal.SIGTERM) is not before
        raise ConfigError(f'bad {argv[0]}')

    with pytest.raises(SystemExit) as e:
        run_cli(main, ['value'])
    assert e.value.code == 2
    assert capsys.readouterr().err == 'error: bad value\n'
    assert signal.getsignal(signal.SIGTERM) is before


class FakeClock:
    def __init__(self):
        self.now = 100.

    def __call__(self):
        return self.now


def test_timer_recent_time_follows_the_current_speed(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr('time.perf_counter', clock)
    timer = Timer(window=4)
    assert timer.recent_time == 0.
    intervals = [10., 1., 1., 1., 1., 1., 1., 1., 1., 1., 1., 1., 0.5, 0.5, 5., 5., 5., 5.]
    averages = []
    for i, dt in enumerate(intervals):
        timer.tic()
        clock.now += dt
        timer.toc()
        assert timer.diff == dt
        averages.append(timer.average_time)
        if i == 2:
            assert timer.recent_time == pytest.approx((10 + 1 + 1) / 3)
        if i == 12:
            assert timer.recent_time == pytest.approx((1 + 1 + 1 + 0.5) / 4)
    # the last 4 intervals took 5 s each: recent speed 5 s/itr
    assert timer.recent_time == pytest.approx(5.)
    # the running average (first 10 intervals left out) still shows the past: 8 intervals
    assert timer.calls == 8
    assert timer.average_time == pytest.approx((1 + 1 + 0.5 + 0.5 + 5 * 4) / 8)
    assert averages[0] == 10.  # during warm-up: the first interval
    assert Timer().recent.maxlen == 20
