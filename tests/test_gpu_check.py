"""`tool/benchmark.py --gpu_check` (tool/bench/gpu_check.py): its commands, checks and peak table
on the CPU, its CPU form run for real; and the GPU-marked tests of the CUDA paths (device
placement, AMP, channels_last) that the check runs on a GPU."""
import copy
import json
import shlex

import numpy as np
import pytest
import torch

from common.nets.posenet import get_pose_net
from common.nets.rootnet import get_root_net
from main.config import Config
from main.predictor import autocast_context
from tool import benchmark
from tool.bench import gpu_check

STEP_NAMES = ['prepare', 'GPU-marked tests', 'train fp32', 'train bf16 AMP', 'train fp16 AMP',
              'train channels_last', 'train GPU data path', 'torchrun 1 process NCCL',
              'test driver', 'demo, detector', 'demo, boxes + RootNet', 'throughput']


def dry_run(monkeypatch, capsys, gpus, *options):
    """The dry run's steps as `{name: argv}` with `gpus` visible GPUs."""
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: gpus)
    with pytest.raises(SystemExit) as e:
        benchmark.main(['--gpu_check', '--dry_run', *options])
    assert e.value.code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    names = [line[2:line.index(' (timeout')] for line in lines[0::2]]
    assert all(line.startswith('# ') for line in lines[0::2])
    return dict(zip(names, (shlex.split(line) for line in lines[1::2])))


def test_without_cuda_it_says_so_in_one_line_and_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 0)
    with pytest.raises(SystemExit) as e:
        benchmark.main(['--gpu_check'])
    assert e.value.code == 2
    out = capsys.readouterr()
    assert out.out == '' and len(out.err.strip().splitlines()) == 1
    assert out.err.startswith('error: --gpu_check needs a CUDA GPU and none is visible')


def test_dry_run_commands_are_accepted_by_the_drivers(monkeypatch, capsys):
    from demo import demo
    from main import test as test_main
    from main import train as train_main
    steps = dry_run(monkeypatch, capsys, 1)
    assert list(steps) == STEP_NAMES
    assert steps['GPU-marked tests'][-3:] == ['-m', 'gpu', 'tests']
    amp = {}
    for name, argv in steps.items():
        if 'main/train.py' in argv:
            args = train_main.parse_args(argv[argv.index('main/train.py') + 1:])
            assert args.gpu_ids == '0' and args.no_progress
            cfg = Config().with_overrides(args.cfg)
            assert cfg.resnet_type == 50 and cfg.input_shape == (256, 256)
            assert cfg.batch_size == 8 and cfg.end_epoch == 1 and not cfg.pretrained_backbone
            assert cfg.output_dir.endswith(f'/runs/{gpu_check.run_folder(name)}') or \
                name.startswith('torchrun')
            amp[name] = (args.amp, args.channels_last, cfg.data_backend)
        elif 'main/test.py' in argv:
            args = test_main.parse_args(argv[argv.index('main/test.py') + 1:])
            assert args.gpu_ids == '0' and args.test_epoch == 0
            assert Config().with_overrides(args.cfg).output_dir.endswith('/runs/train_fp32')
        elif 'demo/demo.py' in argv:
            args = demo.parse_args(argv[argv.index('demo/demo.py') + 1:])
            assert args.gpu_ids == '0' and args.backend == 'torch'
            assert args.snapshot.endswith('/runs/train_fp32/model_dump/snapshot_0.pth.tar')
            assert args.rootnet.endswith('/rootnet.pth.tar')
    assert amp == {'train fp32': (None, False, 'opencv'),
                   'train bf16 AMP': ('bf16', False, 'opencv'),
                   'train fp16 AMP': ('fp16', False, 'opencv'),
                   'train channels_last': (None, True, 'opencv'),
                   'train GPU data path': (None, False, 'gpu'),
                   'torchrun 1 process NCCL': (None, False, 'opencv')}
    torchrun = steps['torchrun 1 process NCCL']
    assert torchrun[1:5] == ['-m', 'torch.distributed.run', '--standalone',
                             '--nproc_per_node=1']
    # the data set is made for 20 iterations of 8
    prepare = steps['prepare']
    assert prepare[prepare.index('--iters') + 1] == '20'
    assert prepare[prepare.index('--batch') + 1] == '8'


def test_several_gpus_train_with_data_parallel(monkeypatch, capsys):
    steps = dry_run(monkeypatch, capsys, 4)
    assert steps['train fp32'][2:4] == ['--gpu', '0-3']
    # DataParallel's batch is 4 x 8; torchrun keeps one process on GPU 0
    prepare = steps['prepare']
    assert prepare[prepare.index('--batch') + 1] == '32'
    assert 'torchrun 1 process NCCL' in steps
    assert steps['torchrun 1 process NCCL'][6:8] == ['--gpu', '0']


def test_cpu_form_has_no_gpu_argument_no_gpu_tests_and_no_amp(monkeypatch, capsys):
    steps = dry_run(monkeypatch, capsys, 0, '--device', 'cpu', '--iters', '2', '--batch', '5')
    assert list(steps) == ['prepare', 'train fp32', 'train channels_last',
                           'train GPU data path', 'torchrun 1 process gloo', 'test driver',
                           'demo, detector', 'demo, boxes + RootNet', 'throughput']
    assert not any('--gpu' in argv for argv in steps.values())
    assert 'resnet_type=18' in steps['train fp32']
    assert "input_shape=(64, 64)" in steps['train fp32']


@pytest.mark.parametrize('name,tflops', [
    ('NVIDIA H100 80GB HBM3', 989.4), ('NVIDIA H100 PCIe', 756.5), ('NVIDIA H100 NVL', 835.5),
    ('NVIDIA H200', 989.4), ('NVIDIA H200 NVL', 835.5), ('NVIDIA GH200 480GB', 989.4),
    ('NVIDIA A100-SXM4-80GB', 312.0), ('NVIDIA A100-PCIE-40GB', 312.0), ('NVIDIA L4', 121.0),
    ('NVIDIA L40S', 362.1), ('NVIDIA L40', 181.0), ('NVIDIA A10', 125.0), ('NVIDIA A10G', None),
    ('Tesla T4', 65.0), ('NVIDIA GeForce RTX 3090', None)])
def test_bf16_peak_from_the_gpu_name(name, tflops):
    assert gpu_check.bf16_peak_tflops(name) == tflops


def test_epoch_length_follows_iterations_and_batch():
    # 5 training subjects x 16 kept frames, mixed 1:1 with MPII: 160 samples, 20 x 8
    assert gpu_check.kept_frames(20, 8) == 16
    frames = gpu_check.h36m_frames(16)
    assert [f for f in frames if f % 5 == 0] == list(range(0, 80, 5)) and 64 in frames
    assert gpu_check.epoch_iterations(16, 8) == 20
    assert gpu_check.epoch_iterations(gpu_check.kept_frames(2, 5), 5) == 2
    # 4 GPUs x 8 (DataParallel): 64 frames, 20 iterations; one torchrun process of 8: 80
    assert gpu_check.kept_frames(20, 32) == 64
    assert gpu_check.epoch_iterations(64, 32) == 20 and gpu_check.epoch_iterations(64, 8) == 80


def test_step_checks_read_the_outputs(tmp_path):
    assert gpu_check.check_pytest('....\n4 passed in 12.0s\n') == (True, '4 passed in 12.0s')
    assert not gpu_check.check_pytest('2 passed, 3 skipped in 1s')[0]
    assert not gpu_check.check_pytest('12 deselected in 1s')[0]
    check = gpu_check.train_check(str(tmp_path), 2, 1)
    assert check('') == (False, f"no iteration in {tmp_path / 'log' / 'train_logs.txt'}")
    (tmp_path / 'log').mkdir()
    lines = [f'12-06 07:36:04 Epoch 0/1 itr {i}/2: lr: 0.001 speed: 1s/itr loss_coord: {v}'
             for i, v in ((0, 1.5), (1, 0.25))]
    (tmp_path / 'log' / 'train_logs.txt').write_text('Training on cuda:0\n' + lines[0] + '\n')
    assert check('') == (False, '1 iterations, expected 2')
    (tmp_path / 'log' / 'train_logs.txt').write_text('Training on cuda:0\n' + '\n'.join(lines))
    assert check('') == (False, 'no snapshot written')
    (tmp_path / 'model_dump').mkdir()
    (tmp_path / 'model_dump' / 'snapshot_0.pth.tar').write_bytes(b'x')
    assert check('') == (True, '2 iterations on cuda:0, last loss 0.25')
    assert gpu_check.check_test('Protocol 2 error (MPJPE) >> tot: 455.03\n') == \
        (True, 'MPJPE 455.03 mm (random weights)')


def test_the_cpu_form_runs_its_steps(tmp_path, capsys):
    """The commands run for real on the CPU (2 iterations of 5): those of the GPU data path,
    channels_last and the detector differ from these only in flags the dry-run test parses."""
    code = gpu_check.run(type('Args', (), {'gpu_check': [
        '--device', 'cpu', '--iters', '2', '--batch', '5', '--work_dir', str(tmp_path),
        '--steps', 'train fp32', 'torchrun', 'test driver', 'demo, boxes', 'throughput']}))
    out = capsys.readouterr().out
    assert code == 0, out
    table = out[out.index('check '):]
    for name, detail in (('prepare', ''), ('train fp32', '2 iterations on cpu, last loss'),
                         ('torchrun 1 process gloo', 'DDP world size 1, 2 iterations on cpu'),
                         ('test driver', 'MPJPE'), ('demo, boxes + RootNet', '1 person(s)'),
                         ('throughput', '5 rows (below)')):
        line = next(line for line in table.splitlines() if line.startswith(name + ' '))
        assert ' ok ' in line and detail in line, line
    assert '6/6 steps passed' in out
    rows = json.loads((tmp_path / 'throughput.json').read_text())
    assert [r['what'] for r in rows] == [
        'PoseNet R18 64px train fp32', 'PoseNet R18 64px inference fp32',
        'data: OpenCV decode + crop, 1 CPU thread', 'data: GPU path, worker side, 1 CPU thread',
        'data: GPU path, decode + crop on cpu']
    assert all(r['samples_per_s'] > 0 for r in rows)
    # FLOPs of ResNet-18 PoseNet at 64 px: training about 3x inference
    assert rows[0]['tflops'] / rows[0]['samples_per_s'] == pytest.approx(
        3 * rows[1]['tflops'] / rows[1]['samples_per_s'], rel=0.1)
    assert rows[0]['mfu'] is None       # no peak on the CPU


# -- CUDA paths (run by the check's first step on a GPU) -----------------------------------------
SMALL = dict(resnet_type=18, pretrained_backbone=False, input_shape=(64, 64), depth_dim=16)


@pytest.fixture
def exact_fp32():
    """float32 convolutions and products without TF32, so that devices can be compared."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def posenet_batch(device, n=4, joints=18):
    torch.manual_seed(1)
    img = torch.randn(n, 3, 64, 64, device=device)
    target = {'coord': torch.rand(n, joints, 3, device=device) * 15,
              'vis': torch.ones(n, joints, 1, device=device),
              'have_depth': torch.ones(n, 1, device=device)}
    return img, target


@pytest.mark.gpu
def test_model_and_batches_are_placed_on_the_gpu(tmp_path, exact_fp32):
    from common.utils.crop import normalise_batch
    from main.engine import Trainer
    from main.predictor import PoseNetPredictor
    cfg = Config(output_dir=str(tmp_path), **SMALL).with_devices('0')
    trainer = Trainer(cfg)
    trainer.logger.close()
    torch.manual_seed(0)
    model = trainer._place_model(get_pose_net(cfg, True, 18))
    assert all(p.device == torch.device('cuda:0') for p in model.parameters())
    raw = {'img': torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8),
           'color_scale': torch.tensor([[1.1, 0.9, 1.0], [0.8, 1.2, 1.0]])}
    on_gpu = trainer._to_device(raw)
    assert on_gpu.device == torch.device('cuda:0') and on_gpu.dtype == torch.float32
    on_cpu = normalise_batch(raw['img'], raw['color_scale'], cfg.pixel_mean, cfg.pixel_std)
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=0, atol=1e-6)
    # the same weights give the same poses on both devices
    model.eval()
    gpu_pred = PoseNetPredictor(model, cfg, None, 'cuda:0').predict_crops(on_cpu)
    cpu_pred = PoseNetPredictor(model.cpu(), cfg, None, 'cpu').predict_crops(on_cpu)
    np.testing.assert_allclose(gpu_pred, cpu_pred, atol=2e-3)


@pytest.mark.gpu
@pytest.mark.parametrize('amp', ['bf16', 'fp16'])
def test_amp_forward_and_backward_are_finite_and_close(amp, exact_fp32):
    device = torch.device('cuda:0')
    cfg = Config(**SMALL)
    torch.manual_seed(0)
    posenet = get_pose_net(cfg, True, 18).to(device)
    img, target = posenet_batch(device)
    reference = posenet(img, target).float().mean().item()
    # a smaller first scale than the trainer's 2**16: no overflow step to skip in one step
    scaler = torch.amp.GradScaler('cuda', init_scale=2. ** 10, enabled=amp == 'fp16')
    with autocast_context(device, amp):
        loss = posenet(img, target).float().mean()
    scaler.scale(loss).backward()
    scaler.unscale_(torch.optim.SGD(posenet.parameters(), lr=0.))
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(reference, rel=0.05)
    assert all(torch.isfinite(p.grad).all() for p in posenet.parameters() if p.grad is not None)
    rootnet = get_root_net(cfg, True).to(device)
    k = torch.full((4, 1), 3000., device=device)
    root_target = {'coord': torch.rand(4, 3, device=device) * 15, 'vis': target['vis'][:, 0],
                   'have_depth': target['have_depth']}
    with autocast_context(device, amp):
        root_loss = rootnet(img, k, root_target).float().mean()
        coord = rootnet.eval()(img, k)
    root_loss.backward()
    assert coord.dtype == torch.float32 and torch.isfinite(coord).all()
    assert torch.isfinite(root_loss) and all(torch.isfinite(p.grad).all()
                                             for p in rootnet.parameters() if p.grad is not None)


@pytest.mark.gpu
def test_channels_last_equals_contiguous(exact_fp32):
    device = torch.device('cuda:0')
    cfg = Config(**SMALL)
    torch.manual_seed(0)
    model = get_pose_net(cfg, True, 18).to(device).eval()
    fast_model = copy.deepcopy(model).to(memory_format=torch.channels_last)
    img, target = posenet_batch(device)
    fast_img = img.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        plain, fast = model(img), fast_model(fast_img)
        # training mode: batch statistics (each copy updates its own running ones)
        plain_loss = model.train()(img, target).mean()
        fast_loss = fast_model.train()(fast_img, target).mean()
    torch.testing.assert_close(fast, plain, rtol=0, atol=1e-3)     # heatmap units
    torch.testing.assert_close(fast_loss, plain_loss, rtol=1e-4, atol=1e-5)
