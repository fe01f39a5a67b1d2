"""Trainer and Tester: what main/train.py and main/test.py run.

Devices: CPU when no GPU is chosen; one or several GPUs of one process with `DataParallel`
(the original's `--gpu 0-1` semantics: `batch_size` per GPU); or one device per process under
`torchrun`, with `DistributedDataParallel`, a distributed sampler, and logging and snapshots on
rank 0 only.
"""
import importlib
import math
import os.path as osp
from contextlib import nullcontext

import numpy as np
import torch
from torch.nn.parallel import DataParallel, DistributedDataParallel
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from common.logger import ColorLogger
from common.nets.posenet import get_pose_net, predict
from common.timer import Timer
from common.utils import dist
from common.utils.errors import PoseNetError
from common.utils.snapshot import (find_snapshot_epochs, load_network, load_snapshot,
                                   save_snapshot, snapshot_path)

DATASETS_3D = ('Human36M', 'MuCo')
DATASETS_2D = ('MSCOCO', 'MPII')
TEST_DATASETS = ('Human36M', 'MuPoTS', 'MSCOCO')
AMP_DTYPES = {'none': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def load_dataset(name, data_split, choices):
    """Instantiate `data/<name>/<name>.py`'s class `<name>` for `data_split` ('train'/'test')."""
    if name not in choices:
        raise PoseNetError(f"dataset '{name}' cannot be used for {data_split}ing here; "
                           f"choose from {', '.join(choices)}")
    module = importlib.import_module(f'data.{name}.{name}')
    return getattr(module, name)(data_split)


def lr_at_epoch(epoch, lr, lr_dec_epoch, lr_dec_factor):
    """Step schedule: `lr` divided by `lr_dec_factor` once per milestone already reached."""
    passed = sum(1 for e in lr_dec_epoch if epoch >= e)
    return lr / (lr_dec_factor ** passed)


def autocast_context(device, amp):
    """Mixed-precision context for `cfg.amp` ('none', 'bf16', 'fp16')."""
    if amp not in AMP_DTYPES:
        raise PoseNetError(f"amp={amp!r} is not an option; choose 'none', 'bf16' or 'fp16'")
    if AMP_DTYPES[amp] is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


class Base:
    """What training and testing share: config, devices, logger, model placement."""

    def __init__(self, cfg, log_name):
        self.cfg = cfg
        self.distributed = dist.launched_by_torchrun()
        if self.distributed:
            self.rank, self.world_size, self.device = dist.init_distributed(cfg.gpu_ids)
        else:
            self.rank, self.world_size, self.device = 0, 1, cfg.device
        self.is_main = self.rank == 0
        if self.is_main:
            cfg.make_dirs()
        self.logger = ColorLogger(cfg.log_dir, log_name, enabled=self.is_main)
        self.num_loader_gpus = 1 if self.distributed else max(1, cfg.num_gpus)

    def _place_model(self, model):
        model = model.to(self.device)
        if self.cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if self.distributed:
            ids = [self.device.index] if self.device.type == 'cuda' else None
            return DistributedDataParallel(model, device_ids=ids)
        if self.cfg.num_gpus > 1:
            return DataParallel(model, device_ids=self.cfg.gpu_ids)
        return model

    def _to_device(self, tensor):
        tensor = tensor.to(self.device, non_blocking=True)
        if self.cfg.channels_last and tensor.dim() == 4:
            tensor = tensor.contiguous(memory_format=torch.channels_last)
        return tensor

    def _loader_kwargs(self):
        return dict(num_workers=self.cfg.num_thread, pin_memory=self.device.type == 'cuda',
                    persistent_workers=False)


class Trainer(Base):
    def __init__(self, cfg):
        super().__init__(cfg, 'train_logs.txt')
        self.tot_timer, self.gpu_timer, self.read_timer = Timer(), Timer(), Timer()

    def make_batch_generator(self):
        """Mix the 3D and 2D training sets as the original (SPEC §8)."""
        from data.dataset import DatasetLoader, get_transform
        from data.multiple_datasets import MultipleDatasets
        cfg = self.cfg
        if not cfg.trainset_3d:
            raise PoseNetError("trainset_3d is empty; at least one 3D training set is needed "
                               f"(one of {', '.join(DATASETS_3D)})")
        self.logger.info('Creating dataset...')
        transform = get_transform(cfg)
        dbs_3d = [load_dataset(name, 'train', DATASETS_3D) for name in cfg.trainset_3d]
        ref_joints_name = dbs_3d[0].joints_name
        sets_3d = [DatasetLoader(db, None if i == 0 else ref_joints_name, True, transform)
                   for i, db in enumerate(dbs_3d)]
        sets_2d = [DatasetLoader(load_dataset(name, 'train', DATASETS_2D), ref_joints_name, True,
                                 transform) for name in cfg.trainset_2d]
        self.joint_num = dbs_3d[0].joint_num
        groups = [MultipleDatasets(sets_3d, make_same_len=False)]
        if sets_2d:
            groups.append(MultipleDatasets(sets_2d, make_same_len=False))
        for g, kind in zip(groups, ('3D', '2D')):
            if len(g) == 0:
                raise PoseNetError(f"the {kind} training sets hold no samples; check the data "
                                   f"under {cfg.data_dir}")
        self.trainset = MultipleDatasets(groups, make_same_len=True)

        batch = cfg.batch_size * self.num_loader_gpus
        self.sampler = DistributedSampler(self.trainset, shuffle=True) if self.distributed else None
        self.itr_per_epoch = math.ceil(len(self.trainset) / self.world_size / batch)
        self.batch_generator = DataLoader(self.trainset, batch_size=batch,
                                          shuffle=self.sampler is None, sampler=self.sampler,
                                          **self._loader_kwargs())

    def make_model(self):
        cfg = self.cfg
        self.logger.info('Creating graph and optimizer...')
        model = get_pose_net(cfg, True, self.joint_num)
        self.model = self._place_model(model)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.amp == 'fp16')
        self.start_epoch = 0
        if cfg.continue_train:
            self.load_last_snapshot()

    def load_last_snapshot(self):
        epochs = find_snapshot_epochs(self.cfg.model_dir)
        if not epochs:
            raise PoseNetError(f"--continue: no snapshot_<epoch>.pth.tar in {self.cfg.model_dir}; "
                               "train without --continue first, or set --cfg output_dir=...")
        path = snapshot_path(self.cfg.model_dir, epochs[-1])
        ckpt = load_snapshot(path)
        load_network(self.model, ckpt['network'])
        if ckpt.get('optimizer'):
            self.optimizer.load_state_dict(ckpt['optimizer'])
        self.start_epoch = int(ckpt['epoch']) + 1
        self.logger.info(f'Load checkpoint from {path}; resuming at epoch {self.start_epoch}')

    def set_lr(self, epoch):
        lr = lr_at_epoch(epoch, self.cfg.lr, self.cfg.lr_dec_epoch, self.cfg.lr_dec_factor)
        for g in self.optimizer.param_groups:
            g['lr'] = lr
        return lr

    def get_lr(self):
        return self.optimizer.param_groups[0]['lr']

    def save_model(self, epoch):
        if self.is_main:
            path = save_snapshot(snapshot_path(self.cfg.model_dir, epoch), epoch, self.model,
                                 self.optimizer)
            self.logger.info(f'Write snapshot into {path}')

    def train_step(self, input_img, joint_img, joint_vis, have_depth):
        """One optimisation step; returns the batch's mean loss (all processes averaged)."""
        target = {'coord': self._to_device(joint_img), 'vis': self._to_device(joint_vis),
                  'have_depth': self._to_device(have_depth)}
        self.optimizer.zero_grad(set_to_none=True)
        with autocast_context(self.device, self.cfg.amp):
            loss = self.model(self._to_device(input_img), target).float().mean()
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return dist.all_reduce_mean(loss.detach())

    def train(self, progress=True):
        """The epoch loop of the original, plus a progress bar; returns the last epoch's mean loss."""
        from tqdm import tqdm
        cfg = self.cfg
        last_mean = None
        for epoch in range(self.start_epoch, cfg.end_epoch):
            lr = self.set_lr(epoch)
            if self.sampler is not None:
                self.sampler.set_epoch(epoch)
            self.model.train()
            self.tot_timer.tic()
            self.read_timer.tic()
            bar = tqdm(self.batch_generator, total=self.itr_per_epoch, desc=f'epoch {epoch}',
                       disable=None if (progress and self.is_main) else True, leave=False)
            losses = []
            for itr, (input_img, joint_img, joint_vis, have_depth) in enumerate(bar):
                self.read_timer.toc()
                self.gpu_timer.tic()
                loss = self.train_step(input_img, joint_img, joint_vis, have_depth)
                loss_value = loss.item()
                self.gpu_timer.toc()
                if not math.isfinite(loss_value):
                    epochs = find_snapshot_epochs(cfg.model_dir)
                    last = (f"the last good snapshot is {snapshot_path(cfg.model_dir, epochs[-1])}"
                            if epochs else "no snapshot was written yet")
                    raise PoseNetError(f"loss became {loss_value} at epoch {epoch} iteration {itr}; "
                                       f"training stopped ({last}). Lower lr or turn off amp and "
                                       "resume with --continue")
                losses.append(loss_value)
                self.logger.info(' '.join([
                    f'Epoch {epoch}/{cfg.end_epoch} itr {itr}/{self.itr_per_epoch}:',
                    f'lr: {lr:g}',
                    f'speed: {self.tot_timer.average_time:.2f}({self.gpu_timer.average_time:.2f}s '
                    f'r{self.read_timer.average_time:.2f})s/itr',
                    f'{self.tot_timer.average_time / 3600. * self.itr_per_epoch:.2f}h/epoch',
                    f'loss_coord: {loss_value:.4f}',
                ]))
                self.tot_timer.toc()
                self.tot_timer.tic()
                self.read_timer.tic()
            bar.close()
            if self.distributed:  # one line from every process, so a user sees that all ran
                print(f'rank {self.rank}/{self.world_size}: epoch {epoch} done, '
                      f'{len(losses)} iterations on {self.device}', flush=True)
            self.save_model(epoch)
            dist.barrier()
            last_mean = float(np.mean(losses)) if losses else float('nan')
        return last_mean


class Tester(Base):
    def __init__(self, cfg, test_epoch):
        if dist.launched_by_torchrun():
            raise PoseNetError("test.py runs in one process (use --gpu 0-3 for several GPUs); "
                               "do not launch it with torchrun")
        super().__init__(cfg, 'test_logs.txt')
        self.test_epoch = int(test_epoch)

    def make_batch_generator(self):
        from data.dataset import DatasetLoader, get_transform
        self.logger.info('Creating dataset...')
        self.testset = load_dataset(self.cfg.testset, 'test', TEST_DATASETS)
        self.joint_num = self.testset.joint_num
        self.flip_pairs = self.testset.flip_pairs
        loader = DatasetLoader(self.testset, None, False, get_transform(self.cfg))
        self.batch_generator = DataLoader(loader, batch_size=self.cfg.test_batch_size *
                                          self.num_loader_gpus, shuffle=False,
                                          **self._loader_kwargs())

    def make_model(self):
        path = snapshot_path(self.cfg.model_dir, self.test_epoch)
        if not osp.isfile(path):
            epochs = find_snapshot_epochs(self.cfg.model_dir)
            have = f"available epochs: {', '.join(map(str, epochs))}" if epochs else \
                "that folder holds no snapshot"
            raise PoseNetError(f"snapshot for --test_epoch {self.test_epoch} not found: {path} "
                               f"({have}); train first or copy the snapshot there")
        self.logger.info(f'Load checkpoint from {path}')
        model = get_pose_net(self.cfg, False, self.joint_num)
        load_network(model, load_snapshot(path)['network'])
        self.model = self._place_model(model).eval()

    def predict_all(self, progress=True):
        """Network outputs `(N, J, 3)` (heatmap space) for the whole test set, in data order."""
        from tqdm import tqdm
        flip_pairs = self.flip_pairs if self.cfg.flip_test else None
        preds = []
        bar = tqdm(self.batch_generator, desc='test', disable=None if progress else True,
                   leave=False)
        with torch.no_grad():
            for input_img in bar:
                with autocast_context(self.device, self.cfg.amp):
                    coord = predict(self.model, self._to_device(input_img), flip_pairs,
                                    self.cfg.output_shape[1])
                preds.append(coord.float().cpu().numpy())
        bar.close()
        return np.concatenate(preds, axis=0) if preds else np.zeros((0, self.joint_num, 3))

    def evaluate(self, preds):
        """The test set's own evaluation; for MuPoTS also the 3DPCK of the official kit (in
        Python) when its ground truth lies under the dataset folder (under `'3dpck'`)."""
        metrics = self.testset.evaluate(preds, self.cfg.result_dir)
        if self.cfg.testset == 'MuPoTS':
            from data.MuPoTS.mupots_eval import evaluate_if_present
            pck = evaluate_if_present(self.cfg.result_dir, self.cfg.data_dir)
            if pck is not None:
                metrics['3dpck'] = pck
        return metrics
