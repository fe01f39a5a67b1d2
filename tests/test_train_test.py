"""End-to-end cycles of main/train.py and main/test.py on generated data (CPU, ResNet-18, 64 px)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
import torch

from common.nets.posenet import get_pose_net, soft_argmax
from common.utils.errors import PoseNetError
from main import test as test_main
from main import train as train_main
from main.checkpoint import load_snapshot, save_snapshot, snapshot_path
from main.config import ROOT_DIR, Config
from main.engine import Tester as PoseTester
from main.engine import Trainer, lr_at_epoch
from main.predictor import PoseNetPredictor
from tool.synthetic_data import generate

SMALL = ['resnet_type=18', 'pretrained_backbone=False', 'input_shape=(64, 64)', 'depth_dim=16',
         'batch_size=4', 'test_batch_size=4', 'num_thread=0']


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    generate(str(root), datasets=['Human36M', 'MPII', 'MuCo', 'MuPoTS', 'MSCOCO'], seed=3,
             img_size=96, num_images=3, num_sequences=1, num_frames=2, h36m_actions=1,
             h36m_cameras=1, h36m_frames=(0, 5, 64))
    return str(root)


def run_args(data_dir, out_dir, *extra):
    return ['--no_progress', '--cfg', *SMALL, f'data_dir={data_dir}', f'output_dir={out_dir}',
            *extra]


def test_lr_schedule_matches_original():
    lrs = [lr_at_epoch(e, 1e-3, [17, 21], 10) for e in (0, 16, 17, 20, 21, 24)]
    np.testing.assert_allclose(lrs, [1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5])


def test_train_two_epochs_then_continue(data_dir, tmp_path):
    out = tmp_path / 'out'
    trainer = train_main.main(run_args(data_dir, out, 'end_epoch=2', 'lr_dec_epoch=[2]'))
    assert np.isfinite(trainer.last_loss)
    # 10 Human36M training samples (5 subjects x 2 kept frames) vs 3 MPII images: the mix
    # makes both groups equally long, 2 x 10 samples, batches of 4
    assert len(trainer.trainset) == 20 and trainer.itr_per_epoch == 5
    model_dir = out / 'model_dump'
    assert sorted(os.listdir(model_dir)) == ['snapshot_0.pth.tar', 'snapshot_1.pth.tar']
    ckpt = torch.load(model_dir / 'snapshot_1.pth.tar', weights_only=True)
    assert set(ckpt) == {'epoch', 'network', 'optimizer', 'model_settings', 'run_settings'}
    assert ckpt['epoch'] == 1
    settings = ckpt['model_settings']
    assert settings['network'] == 'PoseNet' and settings['resnet_type'] == 18
    assert settings['input_shape'] == [64, 64] and settings['output_shape'] == [16, 16]
    assert settings['depth_dim'] == 16 and settings['bbox_3d_shape'] == [2000, 2000, 2000]
    assert settings['joints_name'][0] == 'Pelvis' and len(settings['joints_name']) == 18
    assert settings['flip_pairs'][0] == [1, 4]
    assert all(k.startswith('module.') for k in ckpt['network'])
    assert 'module.head.final_layer.weight' in ckpt['network']
    assert ckpt['network']['module.head.final_layer.weight'].shape[0] == 18 * 16
    log = (out / 'log' / 'train_logs.txt').read_text()
    assert 'Epoch 1/2 itr 4/5: lr: 0.001 speed:' in log and 'loss_coord:' in log

    # --continue: model and optimizer come back from snapshot 1, epoch 2 runs at lr / 10
    cfg = Config().with_overrides(SMALL + [f'data_dir={data_dir}', f'output_dir={out}',
                                           'end_epoch=3', 'lr_dec_epoch=[2]'])
    cfg = cfg.with_devices(None, continue_train=True)
    resumed = Trainer(cfg)
    resumed.prepare_run()
    resumed.make_batch_generator()
    resumed.make_model()
    assert resumed.start_epoch == 2
    for k, v in resumed.model.state_dict().items():
        assert torch.equal(v, ckpt['network']['module.' + k]), k
    assert resumed.optimizer.state_dict()['state'][0]['step'] == 2 * 5
    resumed.train(progress=False)
    resumed.logger.close()
    assert resumed.get_lr() == pytest.approx(1e-4)
    assert (model_dir / 'snapshot_2.pth.tar').is_file()
    assert 'Epoch 2/3 itr 0/5: lr: 0.0001' in (out / 'log' / 'train_logs.txt').read_text()


def test_continue_without_snapshots_is_clear_error(data_dir, tmp_path):
    with pytest.raises(PoseNetError, match='--continue: no snapshot_<epoch>.pth.tar in'):
        train_main.main(run_args(data_dir, tmp_path / 'out', 'end_epoch=1') + ['--continue'])


def test_nan_loss_stops_with_iteration_and_keeps_last_snapshot(data_dir, tmp_path, monkeypatch):
    original = Trainer.train_step
    calls = {'n': 0}

    def train_step(self, *batch):
        calls['n'] += 1
        loss = original(self, *batch)
        return loss * float('nan') if calls['n'] == 5 + 4 else loss  # epoch 1, iteration 3

    monkeypatch.setattr(Trainer, 'train_step', train_step)
    out = tmp_path / 'out'
    with pytest.raises(PoseNetError) as e:
        train_main.main(run_args(data_dir, out, 'end_epoch=3'))
    msg = str(e.value)
    assert 'loss became nan at epoch 1 iteration 3' in msg
    assert str(out / 'model_dump' / 'snapshot_0.pth.tar') in msg
    assert sorted(os.listdir(out / 'model_dump')) == ['snapshot_0.pth.tar']


def random_snapshot(out_dir, epoch, joint_num):
    config = Config().with_overrides(SMALL)
    torch.manual_seed(0)
    model = get_pose_net(config, True, joint_num)
    return save_snapshot(snapshot_path(str(out_dir / 'model_dump'), epoch), epoch, model)


def test_test_human36m_writes_results(data_dir, tmp_path):
    out = tmp_path / 'out'
    random_snapshot(out, 4, 18)
    metrics = test_main.main(['--test_epoch', '4'] + run_args(data_dir, out))
    assert metrics['protocol'] == 2 and np.isfinite(metrics['error']) and metrics['error'] > 0
    assert (out / 'result' / 'bbox_root_pose_human36m_output.json').is_file()
    assert set(metrics['per_action']) <= {'Directions', 'Discussion', 'Eating', 'Greeting', 'Phoning', 'Posing', 'Purchases', 'Sitting', 'SittingDown', 'Smoking', 'Photo', 'Waiting', 'Walking', 'WalkDog', 'WalkTogether'}


@pytest.mark.parametrize('testset,prefix', [('MuPoTS', 'mupots'), ('MSCOCO', 'coco')])
def test_test_multiperson_sets_export_mat(data_dir, tmp_path, testset, prefix):
    out = tmp_path / 'out'
    random_snapshot(out, 0, 21)  # MuCo-trained models have 21 joints
    metrics = test_main.main(['--test_epoch', '0'] + run_args(data_dir, out, f'testset={testset}'))
    for kind, dim in (('2d', 2), ('3d', 3)):
        mat = scipy.io.loadmat(out / 'result' / f'preds_{kind}_kpt_{prefix}.mat')
        keys = [k for k in mat if not k.startswith('__')]
        assert keys and all(k.startswith('TS1_img_' if prefix == 'mupots' else 'coco_')
                            for k in keys)
        for k in keys:
            assert mat[k].shape[1:] == (17, dim)
    if testset == 'MuPoTS':  # the generated tree carries the kit's annot.mat: 3DPCK runs too
        pck = metrics['3dpck']
        assert set(pck) == {'all_relative', 'matched_relative', 'all_absolute', 'matched_absolute'}
        assert 0 <= pck['all_relative']['pck'] <= pck['matched_relative']['pck'] <= 100
        assert list((out / 'result').glob('*multiperson_3dhp_evaluation_sequencewise.csv'))
        # the Python viewer draws this generated export: one PNG per exported image
        from vis import view_results
        view_results.main(['--dataset', 'mupots', '--result_dir', str(out / 'result'),
                           '--img_dir', os.path.join(data_dir, 'MuPoTS', 'data',
                                                     'MultiPersonTestSet'),
                           '--out_dir', str(out / 'vis')])
        keys = [k for k in scipy.io.loadmat(out / 'result' / 'preds_3d_kpt_mupots.mat')
                if not k.startswith('__')]
        assert sorted(os.listdir(out / 'vis')) == sorted(k + '.png' for k in keys)


class MirrorEquivariantNet(torch.nn.Module):
    """Predicts joints from the image itself, so that mirroring the input mirrors the output:
    joint j's heatmap is the (pooled) image weighted by a horizontal profile, and the two joints
    of a flip pair use mirrored profiles. Flip test must then reproduce the plain prediction."""

    def __init__(self, joint_num, flip_pairs, out_w, depth_dim):
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        profile = torch.rand(joint_num, out_w, generator=gen) + 0.5
        for a, b in flip_pairs:
            profile[b] = profile[a].flip(0)
        paired = {i for p in flip_pairs for i in p}
        for j in set(range(joint_num)) - paired:
            profile[j] = (profile[j] + profile[j].flip(0)) / 2
        self.register_buffer('profile', profile)
        self.depth = torch.linspace(-1, 1, depth_dim)
        self.joint_num = joint_num

    def forward(self, img):
        heat = torch.nn.functional.avg_pool2d(img.mean(1, keepdim=True), 4)[:, 0]  # (B, H, W)
        logits = heat[:, None] * self.profile[None, :, None, :]                  # (B, J, H, W)
        vol = logits[:, :, None] * self.depth[None, None, :, None, None]          # (B, J, D, H, W)
        return soft_argmax(vol, self.joint_num)


@pytest.mark.parametrize('symmetric', [True, False])
def test_flip_test_equals_plain_for_mirror_equivariant_model(data_dir, tmp_path, symmetric):
    cfg = Config().with_overrides(SMALL + [f'data_dir={data_dir}', f'output_dir={tmp_path}'])
    cfg = cfg.with_devices(None)
    tester = PoseTester(cfg, 0)
    tester.make_batch_generator()
    net = MirrorEquivariantNet(tester.joint_num, tester.flip_pairs, cfg.output_shape[1],
                               cfg.depth_dim)
    img = torch.randn(3, 3, 64, 64)
    if symmetric:
        img = (img + img.flip(3)) / 2
    tester.batch_generator = [img]
    tester.predictor = PoseNetPredictor(net, cfg, None)
    plain = tester.predict_all(progress=False)
    tester.predictor = PoseNetPredictor(net, cfg, tester.flip_pairs)
    flipped = tester.predict_all(progress=False)
    assert plain.shape == (3, 18, 3)
    assert not np.allclose(plain[:, 1], plain[:, 4])  # the pair really differs
    np.testing.assert_allclose(flipped, plain, atol=1e-4)
    tester.logger.close()


def run_cli(script, args, env=None):
    return subprocess.run([sys.executable, os.path.join(ROOT_DIR, script)] + args,
                          capture_output=True, text=True, cwd=ROOT_DIR,
                          env=dict(os.environ, **(env or {})), timeout=300)


def test_cli_missing_snapshot_and_dataset_are_one_line_errors(data_dir, tmp_path):
    res = run_cli('main/test.py', ['--test_epoch', '24'] + run_args(data_dir, tmp_path / 'o'))
    assert res.returncode == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: snapshot for --test_epoch 24 not found')
    assert 'snapshot_24.pth.tar' in err[0] and 'Traceback' not in res.stderr

    res = run_cli('main/train.py', run_args(tmp_path / 'empty', tmp_path / 'o', 'end_epoch=1'))
    assert res.returncode == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and 'Human36M' in err[0] and 'docs/datasets.md' in err[0], res.stderr


def test_cli_runs_from_inside_main_folder(data_dir, tmp_path):
    random_snapshot(tmp_path / 'o', 1, 18)
    res = subprocess.run([sys.executable, 'test.py', '--test_epoch', '1', '--cfg', *SMALL,
                          f'data_dir={data_dir}', f'output_dir={tmp_path / "o"}',
                          'flip_test=False'],
                         cwd=os.path.join(ROOT_DIR, 'main'), capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert 'MPJPE' in res.stdout


def test_torchrun_two_processes_cpu(data_dir, tmp_path):
    out = tmp_path / 'out'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
           os.path.join(ROOT_DIR, 'main', 'train.py')] + run_args(data_dir, out, 'end_epoch=1')
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT_DIR, timeout=300,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    # 20 mixed samples split over 2 ranks, batches of 4: 3 iterations each
    assert 'rank 0/2: epoch 0 done, 3 iterations on cpu' in res.stdout
    assert 'rank 1/2: epoch 0 done, 3 iterations on cpu' in res.stdout
    assert os.listdir(out / 'model_dump') == ['snapshot_0.pth.tar']
    assert res.stdout.count('Write snapshot into') == 1
    ckpt = load_snapshot(str(out / 'model_dump' / 'snapshot_0.pth.tar'))
    assert all(k.startswith('module.') and not k.startswith('module.module.')
               for k in ckpt['network'])
    model = get_pose_net(Config().with_overrides(SMALL), False, 18)
    from main.checkpoint import load_network
    load_network(model, ckpt['network'])  # loads in a single-process model


# -- settings travel with the snapshot ------------------------------------------------------------
def test_snapshot_settings_are_used_by_test_and_contradictions_refused(data_dir, tmp_path):
    out = tmp_path / 'out'
    train_main.main(run_args(data_dir, out, 'end_epoch=1', 'depth_dim=8', "trainset_2d=[]"))
    log_dir = out / 'log'
    assert '"depth_dim": 8' in (log_dir / 'train_config.json').read_text()
    assert 'Configuration:' in (log_dir / 'train_logs.txt').read_text()
    # the same numbers with and without repeating the training --cfg
    repeated = test_main.main(['--test_epoch', '0'] + run_args(data_dir, out, 'depth_dim=8'))
    plain = test_main.main(['--test_epoch', '0', '--no_progress', '--cfg', 'num_thread=0',
                            f'data_dir={data_dir}', f'output_dir={out}'])
    assert plain['error'] == repeated['error'] and np.isfinite(plain['error'])
    assert '"input_shape": [\n  64,\n  64\n ]' in (log_dir / 'test_config.json').read_text()
    # two runs in one process: nothing of the first run's settings reaches the second
    test_main.main(['--test_epoch', '0'] + run_args(data_dir, out, 'depth_dim=8',
                                                    'flip_test=False', 'test_batch_size=2'))
    first = json.loads((log_dir / 'test_config.json').read_text())
    test_main.main(['--test_epoch', '0', '--no_progress', '--cfg', 'num_thread=0',
                    f'data_dir={data_dir}', f'output_dir={out}'])
    second = json.loads((log_dir / 'test_config.json').read_text())
    assert (first['flip_test'], first['test_batch_size']) == (False, 2)
    assert (second['flip_test'], second['test_batch_size'], second['resnet_type']) == (True, 32,
                                                                                      18)
    with pytest.raises(PoseNetError, match="'depth_dim' was given as 32 but the model in "
                                           r".*snapshot_0\.pth\.tar has depth_dim=8"):
        test_main.main(['--test_epoch', '0'] + run_args(data_dir, out, 'depth_dim=32'))
    with pytest.raises(PoseNetError, match=r"'input_shape' was given as \(128, 128\)"):
        test_main.main(['--test_epoch', '0'] + run_args(data_dir, out, 'depth_dim=8',
                                                        'input_shape=(128, 128)'))
    # a Human36M (18-joint) model cannot be tested on MuPoTS (MuCo's 21 joints)
    with pytest.raises(PoseNetError, match='trained on 18 joints, but testset MuPoTS needs a '
                                           '21-joint model'):
        test_main.main(['--test_epoch', '0'] + run_args(data_dir, out, 'depth_dim=8',
                                                        'testset=MuPoTS'))


# -- runs are never mixed or lost -----------------------------------------------------------------
def test_a_new_run_refuses_to_overwrite_snapshots_unless_told(data_dir, tmp_path):
    out = tmp_path / 'out'
    model_dir = out / 'model_dump'
    random_snapshot(out, 0, 18)
    random_snapshot(out, 1, 18)
    stale = model_dir / '.snapshot_2.pth.tar.ab12cd34.tmp'      # a killed save's leftover
    stale.write_bytes(b'partial')
    with pytest.raises(PoseNetError, match=r'already holds the snapshots of another run \(epochs '
                                           r'0, 1\); resume it with --continue, start over with '
                                           '--overwrite'):
        train_main.main(run_args(data_dir, out, 'end_epoch=1', 'trainset_2d=[]'))
    assert not stale.exists()
    assert sorted(os.listdir(model_dir)) == ['snapshot_0.pth.tar', 'snapshot_1.pth.tar']
    train_main.main(run_args(data_dir, out, 'end_epoch=1', 'trainset_2d=[]') + ['--overwrite'])
    assert sorted(os.listdir(model_dir)) == ['snapshot_0.pth.tar']
    assert 'model_settings' in torch.load(model_dir / 'snapshot_0.pth.tar', weights_only=True)


def test_nan_weights_after_the_last_step_are_never_saved(data_dir, tmp_path, monkeypatch):
    original = Trainer.train_step

    def train_step(self, *batch):
        loss = original(self, *batch)
        if self.optimizer.state_dict()['state'][0]['step'] == 5 * 2:   # epoch 1, last step
            with torch.no_grad():
                next(self.model.parameters()).fill_(float('nan'))
        return loss

    monkeypatch.setattr(Trainer, 'train_step', train_step)
    out = tmp_path / 'out'
    with pytest.raises(PoseNetError) as e:
        train_main.main(run_args(data_dir, out, 'end_epoch=3'))
    msg = str(e.value)
    assert 'the weights became NaN/inf during epoch 1' in msg
    assert f"{out / 'model_dump' / 'snapshot_0.pth.tar'} is finite: resume from it with " \
           "--continue and a lower lr" in msg
    assert sorted(os.listdir(out / 'model_dump')) == ['snapshot_0.pth.tar']


def test_test_refuses_non_finite_predictions(data_dir, tmp_path):
    out = tmp_path / 'out'
    path = random_snapshot(out, 2, 18)
    ckpt = torch.load(path, weights_only=True)
    ckpt['network']['module.head.final_layer.bias'][:] = float('nan')
    torch.save(ckpt, path)
    with pytest.raises(PoseNetError, match='predictions hold NaN or inf values'):
        test_main.main(['--test_epoch', '2'] + run_args(data_dir, out))


# -- RootNet ----------------------------------------------------------------------------------------
def test_rootnet_trains_tests_and_feeds_posenet_through_its_bbox_root_file(data_dir, tmp_path):
    out = tmp_path / 'out'
    root_args = ['network=RootNet', "trainset_3d=['MuCo']", "trainset_2d=['MPII']"]
    trainer = train_main.main(run_args(data_dir, out, 'end_epoch=1', *root_args))
    assert np.isfinite(trainer.last_loss)
    ckpt = torch.load(out / 'rootnet' / 'model_dump' / 'snapshot_0.pth.tar', weights_only=True)
    assert ckpt['model_settings']['network'] == 'RootNet' and ckpt['model_settings']['resnet_type'] == 18
    assert {k.split('.')[1] for k in ckpt['network']} == {'backbone', 'root'}
    h36m = test_main.main(['--test_epoch', '0'] + run_args(data_dir, out, 'network=RootNet'))
    assert h36m['metric'] == 'MRPE' and np.isfinite(h36m['error'])
    assert set(h36m) >= {'x', 'y', 'z', 'per_action'}
    mupots = test_main.main(['--test_epoch', '0'] + run_args(data_dir, out, 'network=RootNet',
                                                             'testset=MuPoTS'))
    assert 0 <= mupots['ap_root'] <= mupots['ap_root_complete'] <= 1
    path = out / 'rootnet' / 'result' / 'bbox_root_mupots_output.json'
    assert mupots['result_path'] == str(path)
    records = json.load(open(path))
    # PoseNet testing reads RootNet's file as it is
    random_snapshot(out, 0, 21)
    metrics = test_main.main(['--test_epoch', '0'] + run_args(
        data_dir, out, 'testset=MuPoTS', 'use_gt_info=False', f'bbox_root_file={path}'))
    assert metrics['num_samples'] == len(records)
    # a PoseNet snapshot where RootNet is expected: one line saying what each holds
    with pytest.raises(PoseNetError, match=r'does not fit this model: it holds ResNet-18, 336 '
                                           r'output maps .*, the model is ResNet-18, a RootNet'):
        test_main.main(['--test_epoch', '0'] + run_args(data_dir, out, 'network=RootNet',
                                                        f"model_dir={out / 'model_dump'}"))
