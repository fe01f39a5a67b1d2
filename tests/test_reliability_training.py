"""Reliability of train.py / test.py runs (issue 19): the divergence guard checks the outputs of
what it saves, one run per folder, failed runs leave the previous run's files, --continue
restores the run's settings, a killed data-loader worker stops the run with one line.
CPU, ResNet-18, 64x64 crops, generated data."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from common.utils.errors import PoseNetError
from common.utils.run_lock import RunLock, read_lock
from main import test as test_main
from main import train as train_main
from main.checkpoint import load_snapshot
from main.config import ROOT_DIR
from main.engine import Trainer
from tool.synthetic_data import generate

SMALL = ['resnet_type=18', 'pretrained_backbone=False', 'input_shape=(64, 64)', 'depth_dim=16',
         'test_batch_size=4', 'num_thread=0']


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    generate(str(root), datasets=['Human36M', 'MPII'], seed=3, img_size=96, num_images=3,
             num_sequences=1, num_frames=2, h36m_actions=1, h36m_cameras=1,
             h36m_frames=(0, 5, 64))
    return str(root)


def run_args(data_dir, out_dir, *extra, batch_size=32):
    """Arguments of a small run; batch 32 holds the whole mixed set (20 samples): one
    iteration per epoch."""
    return ['--no_progress', '--cfg', *SMALL, f'batch_size={batch_size}', f'data_dir={data_dir}',
            f'output_dir={out_dir}', *extra]


def eval_outputs(snapshot, data_dir):
    """Coordinates of the snapshot's PoseNet in eval mode for a few random crops."""
    from common.nets.posenet import get_pose_net
    from main.config import Config
    ckpt = load_snapshot(snapshot)
    cfg = Config(resnet_type=18, input_shape=(64, 64), depth_dim=16)
    model = get_pose_net(cfg, False, len(ckpt['model_settings']['joints_name']))
    model.load_state_dict({k[len('module.'):]: v for k, v in ckpt['network'].items()})
    with torch.no_grad():
        return model.eval()(torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)))


# -- item 1: the divergence guard ------------------------------------------------------------------
def test_exploded_weights_are_not_saved_and_the_named_snapshot_resumes_at_a_lower_lr(data_dir,
                                                                                        tmp_path):
    out = tmp_path / 'out'
    model_dir = out / 'model_dump'
    train_main.main(run_args(data_dir, out, 'end_epoch=1'))
    assert sorted(os.listdir(model_dir)) == ['snapshot_0.pth.tar']
    # lr=1e9: one Adam step makes every weight ~1e9; the loss before the step is finite and the
    # weights stay finite, but every output of the network is NaN/inf
    with pytest.raises(PoseNetError) as e:
        train_main.main(run_args(data_dir, out, 'end_epoch=2', 'lr=1e9') + ['--continue'])
    msg = str(e.value)
    named = str(model_dir / 'snapshot_0.pth.tar')
    assert msg.startswith('the weights exploded during epoch 1 (finite, but the network\'s '
                          'output on the epoch\'s last batch is NaN/inf); training stopped, '
                          'nothing was saved for this epoch')
    assert f'the newest snapshot {named} is finite: resume from it with --continue and a ' \
           'lower lr (--cfg lr=...)' in msg
    assert sorted(os.listdir(model_dir)) == ['snapshot_0.pth.tar']
    assert torch.isfinite(eval_outputs(named, data_dir)).all()
    # the advice works: the named snapshot, resumed at a lower lr, trains on with finite outputs
    trainer = train_main.main(run_args(data_dir, out, 'end_epoch=2', 'lr=1e-3') + ['--continue'])
    assert trainer.start_epoch == 1 and np.isfinite(trainer.last_loss)
    assert torch.isfinite(eval_outputs(str(model_dir / 'snapshot_1.pth.tar'), data_dir)).all()
    log = (out / 'log' / 'train_logs.txt').read_text()
    assert "error: the weights exploded during epoch 1" in log


# -- item 2: one run per folder --------------------------------------------------------------------
@pytest.fixture
def live_pid():
    """The pid of a live process that is not this one (the other run holding a lock)."""
    proc = subprocess.Popen(['sleep', '120'])
    yield proc.pid
    proc.kill()
    proc.wait()


def dead_pid():
    proc = subprocess.Popen(['true'])
    proc.wait()
    return proc.pid


def write_lock(path, pid, host=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump({'pid': pid, 'host': host or socket.gethostname(),
                   'started': '2026-01-01 10:00:00'}, f)


@pytest.mark.parametrize('resume', [False, True])
def test_a_second_training_into_a_folder_in_use_is_refused(data_dir, tmp_path, live_pid, resume):
    out = tmp_path / 'out'
    lock = out / 'model_dump' / 'train.lock'
    write_lock(lock, live_pid)
    before = lock.read_text()
    with pytest.raises(PoseNetError) as e:
        train_main.main(run_args(data_dir, out, 'end_epoch=1') + (['--continue'] if resume
                                                                  else []))
    assert str(e.value) == (
        f"{out / 'model_dump'} is in use by another training run (pid {live_pid} on host "
        f"{socket.gethostname()}, started 2026-01-01 10:00:00; lock file {lock}): wait for it "
        "to end or stop it; or train into another folder with --cfg output_dir=...")
    assert lock.read_text() == before                   # the holder's lock stays
    assert os.listdir(out / 'model_dump') == ['train.lock']
    assert os.listdir(out) == ['model_dump']        # nothing written into the holder's log


def test_a_lock_on_another_host_is_never_taken(tmp_path):
    path = str(tmp_path / 'train.lock')
    write_lock(path, dead_pid(), host='other-machine')
    with pytest.raises(PoseNetError, match='pid .* on host other-machine'):
        RunLock(path, 'training run').acquire()


def test_a_stale_lock_of_a_killed_run_is_taken_over_with_a_note(data_dir, tmp_path):
    out = tmp_path / 'out'
    lock = out / 'model_dump' / 'train.lock'
    gone = dead_pid()
    write_lock(lock, gone)
    train_main.main(run_args(data_dir, out, 'end_epoch=1'))
    log = (out / 'log' / 'train_logs.txt').read_text()
    assert f'Took over the lock {lock} of a training run that is gone (pid {gone} on ' \
           f'{socket.gethostname()}, started 2026-01-01 10:00:00)' in log
    assert sorted(os.listdir(out / 'model_dump')) == ['snapshot_0.pth.tar']    # released


def test_lock_holds_pid_and_host_while_held_and_is_removed_after(tmp_path):
    path = str(tmp_path / 'sub' / 'train.lock')
    lock = RunLock(path, 'training run')
    assert lock.acquire() is None
    holder = read_lock(path)
    assert holder['pid'] == os.getpid() and holder['host'] == socket.gethostname()
    # a second process is refused while this one holds it
    code = ('import sys; from common.utils.run_lock import RunLock\n'
            'from common.utils.errors import PoseNetError\n'
            f'try: RunLock({path!r}, "training run").acquire()\n'
            'except PoseNetError as e: print(e); sys.exit(3)\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT_DIR), timeout=60)
    assert proc.returncode == 3 and f'pid {os.getpid()} on host' in proc.stdout
    lock.release()
    assert not os.path.exists(path)


def test_two_test_runs_writing_the_same_results_are_refused(data_dir, tmp_path, live_pid):
    out = tmp_path / 'out'
    train_main.main(run_args(data_dir, out, 'end_epoch=1', 'trainset_2d=[]'))
    lock = out / 'result' / 'test.lock'
    write_lock(lock, live_pid)
    with pytest.raises(PoseNetError, match=r"result is in use by another test run \(pid "
                                           f"{live_pid} on host"):
        test_main.main(['--test_epoch', '0'] + run_args(data_dir, out))
    assert os.listdir(out / 'result') == ['test.lock']
    os.remove(lock)
    test_main.main(['--test_epoch', '0'] + run_args(data_dir, out))
    assert 'test.lock' not in os.listdir(out / 'result')


# -- item 5: failed runs, --continue, --cfg names --------------------------------------------------
def test_a_failed_run_leaves_the_previous_runs_files_and_logs_its_error(data_dir, tmp_path):
    out = tmp_path / 'out'
    train_main.main(run_args(data_dir, out, 'end_epoch=1', 'trainset_2d=[]'))
    config = (out / 'log' / 'train_config.json').read_bytes()
    snapshot = (out / 'model_dump' / 'snapshot_0.pth.tar').read_bytes()
    missing = tmp_path / 'no_data'
    with pytest.raises(PoseNetError, match='Human36M dataset folder not found'):
        train_main.main(run_args(str(missing), out, 'end_epoch=1') + ['--overwrite'])
    assert (out / 'log' / 'train_config.json').read_bytes() == config
    assert (out / 'model_dump' / 'snapshot_0.pth.tar').read_bytes() == snapshot
    assert sorted(os.listdir(out / 'model_dump')) == ['snapshot_0.pth.tar']
    log = (out / 'log' / 'train_logs.txt').read_text().splitlines()
    assert log[-1].endswith(f'error: Human36M dataset folder not found: {missing / "Human36M"}. '
                            'Put the dataset under the data root ' + f'({missing}; --cfg '
                            'data_dir=... or POSENET_DATA_DIR) as described in docs/datasets.md '
                            "(or generate a synthetic one with `python "
                            "tool/synthetic_data.py --out <data_dir>`)")
    assert any(f"data_dir = '{missing}'" in line for line in log)   # its own config
    # a fresh folder: only the log folder (with the error) stays, no empty folders
    fresh = tmp_path / 'fresh'
    with pytest.raises(PoseNetError, match='dataset folder not found'):
        train_main.main(run_args(str(missing), fresh, 'end_epoch=1'))
    assert os.listdir(fresh) == ['log']
    assert os.listdir(fresh / 'log') == ['train_logs.txt']


def test_continue_restores_the_runs_settings_and_says_when_there_is_nothing_to_do(
        data_dir, tmp_path, capsys):
    out = tmp_path / 'out'
    train_main.main(run_args(data_dir, out, 'end_epoch=1', 'trainset_2d=[]', 'lr=0.002',
                             'lr_dec_epoch=[5]'))
    assert load_snapshot(str(out / 'model_dump' / 'snapshot_0.pth.tar'))['run_settings'] == {
        'trainset_3d': ['Human36M'], 'trainset_2d': [], 'lr': 0.002, 'lr_dec_epoch': [5],
        'lr_dec_factor': 10, 'end_epoch': 1, 'batch_size': 32}
    capsys.readouterr()
    trainer = train_main.main(run_args(data_dir, out) + ['--continue'])
    assert trainer.last_loss is None and trainer.start_epoch == 1
    printed = capsys.readouterr().out
    # batch_size is given again (run_args): not restored
    assert "--continue: the run's settings restored from the snapshot: trainset_3d=['Human36M'"\
           "], trainset_2d=[], lr=0.002, lr_dec_epoch=[5], lr_dec_factor=10, end_epoch=1\n" \
        in printed
    assert f"--continue: nothing to do, {out / 'model_dump' / 'snapshot_0.pth.tar'} is the " \
           "last epoch of the run (end_epoch=1); raise end_epoch (--cfg end_epoch=2) to " \
           "train on" in printed
    # a --cfg value wins over the restored one; MPII stays out (restored trainset_2d=[])
    trainer = train_main.main(run_args(data_dir, out, 'end_epoch=2') + ['--continue'])
    assert trainer.cfg.trainset_2d == [] and trainer.cfg.lr == 0.002
    assert len(trainer.trainset) == 10 and trainer.get_lr() == 0.002


@pytest.mark.parametrize('key,value,allowed', [
    ('testset', 'Foo', 'Human36M, MuPoTS, MSCOCO'),
    ('trainset_3d', '["MPII"]', 'Human36M, MuCo'),
    ('trainset_2d', '["Foo"]', 'MSCOCO, MPII')])
def test_every_dataset_name_is_checked_before_anything_runs(tmp_path, key, value, allowed):
    out = tmp_path / 'out'
    name = value.strip('[]"')
    with pytest.raises(PoseNetError, match=fr"config key '{key}': '{name}' is not one of "
                                           fr"{allowed}$"):
        train_main.main(run_args(str(tmp_path), out, f'{key}={value}'))
    assert not out.exists()


def test_an_output_folder_that_cannot_be_written_is_one_line_before_any_work(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(PoseNetError) as e:
        train_main.main(run_args(str(tmp_path), blocker / 'out'))
    assert str(e.value).startswith(f"cannot write {blocker / 'out' / 'log'}: {blocker} is a "
                                   "file, not a folder (")
    assert str(e.value).endswith(' free)')


# -- item 6: a killed data-loader worker -----------------------------------------------------------
def children(pid):
    """Pids of the direct children of process `pid` (from /proc)."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def test_a_killed_loader_worker_stops_the_run_with_one_line_and_a_resumable_snapshot(data_dir,
                                                                                      tmp_path):
    out = tmp_path / 'out'
    args = run_args(data_dir, out, 'end_epoch=2', 'num_thread=2', batch_size=1)
    env = dict(os.environ, PYTHONPATH=ROOT_DIR)
    proc = subprocess.Popen([sys.executable, 'main/train.py'] + args, cwd=ROOT_DIR, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    snapshot = out / 'model_dump' / 'snapshot_0.pth.tar'
    log = out / 'log' / 'train_logs.txt'
    deadline = time.time() + 240
    killed = None
    while time.time() < deadline and proc.poll() is None and killed is None:
        # mid-epoch 1: snapshot 0 written and a few iterations of epoch 1 logged
        if snapshot.exists() and log.exists() and 'Epoch 1/2 itr 2/' in log.read_text():
            workers = children(proc.pid)
            if workers:
                killed = workers[0]
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    try:
        _, err = proc.communicate(timeout=120)      # never a hang
    finally:
        proc.kill()
    assert killed is not None, 'the run ended before a worker could be killed'
    assert proc.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f'error: a data-loading worker process died during epoch 1 '
                               f'(DataLoader worker (pid {killed}) is killed by signal')
    assert lines[0].endswith(f'training stopped, nothing was saved for this epoch (resume from '
                             f'the newest snapshot {snapshot} with --continue; fewer workers, '
                             '--cfg num_thread=..., need less memory)')
    assert sorted(os.listdir(out / 'model_dump')) == ['snapshot_0.pth.tar']
    trainer = train_main.main(run_args(data_dir, out, 'end_epoch=2', batch_size=8) +
                              ['--continue'])
    assert trainer.start_epoch == 1 and np.isfinite(trainer.last_loss)


def test_trainer_objects_of_this_process_do_not_lock_each_other_out(data_dir, tmp_path):
    """A Trainer that was never closed (Python API) leaves its lock; this process may train
    into that folder again."""
    from main.config import Config
    out = tmp_path / 'out'
    cfg = Config().with_overrides(SMALL + [f'data_dir={data_dir}', f'output_dir={out}'])
    cfg = cfg.with_devices(None)
    Trainer(cfg).prepare_run()
    assert read_lock(str(out / 'model_dump' / 'train.lock'))['pid'] == os.getpid()
    Trainer(cfg).prepare_run()


def test_quick_start_out_that_cannot_be_written_is_one_line_before_any_work(tmp_path):
    from tool import quick_start
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(PoseNetError, match=fr'^cannot write {blocker}/out: {blocker} is a file, '
                                           r'not a folder \(.* free\)$'):
        quick_start.main(['--out', str(blocker / 'out'), '--no_progress'])
