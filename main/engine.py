"""Trainer and Tester: what main/train.py and main/test.py run (the engine above `data/`).

Devices: CPU when no GPU is chosen; one or several GPUs of one process with `DataParallel`
(the original's `--gpu 0-1` semantics: `batch_size` per GPU); or one device per process under
`torchrun`, with `DistributedDataParallel`, a distributed sampler, and logging and snapshots on
rank 0 only.
"""
import json
import math
import os
import os.path as osp

import numpy as np
import torch
from torch.nn.parallel import DataParallel, DistributedDataParallel
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from common.logger import ColorLogger
from common.nets.posenet import get_pose_net
from common.nets.rootnet import get_root_net
from common.timer import Timer
from common.utils import dist
from common.utils.crop import network_input
from common.utils.errors import PoseNetError
from common.utils.file_io import remove_stale_temp_files, write_json
from common.utils.run_lock import RunLock
from data.dataset import RAW_UINT8, DatasetLoader, RootNetLoader
from data.gpu_batch import JpegDatasetLoader, JpegRootNetLoader, collate, crop_batch
from data.multiple_datasets import MultipleDatasets
from data.registry import build_dataset
from main.checkpoint import (ModelSettings, check_joint_count, find_snapshot_epochs,
                             load_network, read_checkpoint, save_snapshot, snapshot_path)
from main.config import RUN_FIELDS, check_resume
from main.predictor import PoseNetPredictor, RootNetPredictor, autocast_context


def format_duration(seconds):
    """`1d 02:03:04` / `02:03:04` for a number of seconds (an ETA)."""
    seconds = int(round(max(0., seconds)))
    days, rest = divmod(seconds, 86400)
    text = f'{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}'
    return f'{days}d {text}' if days else text


def lr_at_epoch(epoch, lr, lr_dec_epoch, lr_dec_factor):
    """Step schedule: `lr` divided by `lr_dec_factor` once per milestone already reached."""
    passed = sum(1 for e in lr_dec_epoch if epoch >= e)
    return lr / (lr_dec_factor ** passed)


class Base:
    """What training and testing share: config, devices, logger, model placement."""

    def __init__(self, cfg, log_name, folders, lock):
        self.cfg = cfg
        self.log_name = log_name
        self.distributed = dist.launched_by_torchrun()
        if self.distributed:
            self.rank, self.world_size, self.device = dist.init_distributed(cfg.gpu_ids)
        else:
            self.rank, self.world_size, self.device = 0, 1, cfg.device
        self.is_main = self.rank == 0
        # `folders` (cfg fields) are made and checked for writability before any work; those
        # made by this run are removed again when it fails while they are still empty
        self.new_dirs = cfg.make_dirs(folders) if self.is_main else []
        self.lock = None
        try:        # before the logger: a refused run writes nothing into the holder's log
            note = self.hold_lock(*lock)
        except PoseNetError:
            self.remove_new_empty_dirs(keep=())
            raise
        self.logger = ColorLogger(cfg.log_dir, log_name, enabled=self.is_main)
        if note:
            self.logger.info(note)
        self.num_loader_gpus = 1 if self.distributed else max(1, cfg.num_gpus)
        self.config_logged = False

    def hold_lock(self, folder, what, hint):
        """One run per folder: hold `<folder>/<train|test>.lock` (main process only) or raise
        the PoseNetError naming the run that holds it. Returns the note on a stale lock's
        take-over (for the log), or None."""
        if not self.is_main:
            return None
        name = self.log_name.replace('_logs.txt', '.lock')
        self.lock = RunLock(osp.join(folder, name), what, hint)
        return self.lock.acquire()

    def remove_new_empty_dirs(self, keep):
        """Remove the folders this run made that are still empty, except those in `keep`."""
        for folder in self.new_dirs:
            if folder not in keep and osp.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)

    def close(self, error=None):
        """End of the run: `error` (the exception that stopped it, if any) goes into the log
        file, the lock is released, and after an error the folders this run made and left
        empty are removed (the log folder stays: it holds the error)."""
        if error is not None and self.is_main:
            if not self.config_logged:
                self.log_config()
            from common.utils.cli import error_message
            if isinstance(error, KeyboardInterrupt):
                text = 'interrupted (SIGTERM)' if type(error).__name__ == 'Terminated' else \
                    'interrupted (SIGINT)'
            elif isinstance(error, PoseNetError):
                text = f'error: {error_message(error)}'
            else:
                text = f'error: {type(error).__name__}: {error}'
            self.logger.to_file(text)
        if self.lock is not None:
            self.lock.release()
        if error is not None:
            self.remove_new_empty_dirs(keep=(self.cfg.log_dir,))
        self.logger.close()

    def log_config(self):
        """Print the effective configuration into the log (every run, also one that fails)."""
        if self.is_main:
            self.logger.info(f'Configuration:\n{self.cfg!r}')
            self.config_logged = True

    def write_config(self):
        """Write the configuration as JSON next to the log (`<log_dir>/<train|test>_config.json`)
        once the run has passed its checks and built data and model, so that a run failing
        before that leaves the previous run's file as it was."""
        if not self.is_main:
            return
        name = self.log_name.replace('_logs.txt', '_config.json')
        write_json(osp.join(self.cfg.log_dir, name),
                   json.loads(json.dumps(self.cfg.fields(), default=str)), indent=1)

    @property
    def rootnet(self):
        """True when this run trains / tests RootNet (`cfg.network`), else PoseNet."""
        return self.cfg.network == 'RootNet'

    def _loader(self, dataset, is_train, ref_joints_name=None):
        """Crops and targets of `dataset` with the model's geometry (`cfg`): PoseNet's (training
        targets mapped to `ref_joints_name` when given) or RootNet's. Crops come as uint8 and
        are normalised on the device (`_to_device`), bit-identical to the original's transform."""
        cfg = self.cfg
        gpu_data = is_train and cfg.data_backend == 'gpu'   # JPEG bytes; crops in _to_device
        if self.rootnet:
            loader = JpegRootNetLoader if gpu_data else RootNetLoader
            return loader(dataset, is_train, RAW_UINT8, input_shape=cfg.input_shape,
                          output_shape=cfg.output_shape)
        loader = JpegDatasetLoader if gpu_data else DatasetLoader
        return loader(dataset, ref_joints_name, is_train, RAW_UINT8,
                      input_shape=cfg.input_shape, output_shape=cfg.output_shape,
                      depth_dim=cfg.depth_dim, bbox_3d_shape=cfg.bbox_3d_shape)

    def _build_model(self, is_train, joint_num=None):
        """PoseNet (`joint_num` joints) or RootNet, as `cfg.network` says."""
        if self.rootnet:
            return get_root_net(self.cfg, is_train)
        return get_pose_net(self.cfg, is_train, joint_num)

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
        """A loader tensor on the device; crops (the `dict`s of the raw uint8 or JPEG loaders)
        become the network input there (`network_input`), targets move as they are."""
        cfg = self.cfg
        if isinstance(tensor, dict) and 'jpeg' in tensor:   # data_backend 'gpu'
            tensor = dict(tensor, img=crop_batch(tensor, self.device, cfg.input_shape))
        if isinstance(tensor, dict):
            return network_input(tensor, self.device, cfg.pixel_mean, cfg.pixel_std,
                                 cfg.channels_last)
        return tensor.to(self.device, non_blocking=True)

    def _loader_kwargs(self):
        return dict(num_workers=self.cfg.num_thread, pin_memory=self.device.type == 'cuda',
                    persistent_workers=False)


class Trainer(Base):
    """The original's training loop: `prepare_run` (resume or fresh start), `make_batch_generator`,
    `make_model`, then `train`; one optimisation step is `train_step`."""

    def __init__(self, cfg):
        super().__init__(cfg, 'train_logs.txt', ('log_dir', 'model_dir'),
                         (cfg.model_dir, 'training run',
                          '; or train into another folder with --cfg output_dir=...'))
        self.tot_timer, self.gpu_timer, self.read_timer = Timer(), Timer(), Timer()
        self.resume_path = None
        self.start_epoch = 0
        self.overwritten = []

    def prepare_run(self, overwrite=False):
        """Before anything is built (the model folder's lock is held since `__init__`): with
        `--continue` read the newest snapshot (its model settings and the run settings it
        records set `cfg`, a `--cfg` value wins over the latter); otherwise refuse to start over
        another run's snapshots unless `overwrite` (then they are deleted when training starts,
        so that a later `--continue` cannot mix two runs). Returns False when `--continue`
        finds the run complete (nothing to do)."""
        cfg = self.cfg
        if self.is_main:     # what a killed save left behind (the lock keeps other runs out)
            for path in remove_stale_temp_files(cfg.model_dir, 'snapshot_*.pth.tar'):
                self.logger.info(f'Removed the unfinished snapshot file {path}')
        epochs = find_snapshot_epochs(cfg.model_dir)
        if cfg.continue_train:
            if not epochs:
                raise PoseNetError(f"--continue: no snapshot_<epoch>.pth.tar in {cfg.model_dir}; "
                                   "train without --continue first, or set --cfg output_dir=...")
            self.resume_path = snapshot_path(cfg.model_dir, epochs[-1])
            # the run goes on with the snapshot's model and run settings: a new config
            self.resume_ckpt = read_checkpoint(self.resume_path, cfg.network)
            cfg = cfg.with_model_settings(self.resume_ckpt.settings, self.resume_path)
            self.cfg = cfg = self.restore_run_settings(cfg, self.resume_ckpt)
            self.start_epoch = int(self.resume_ckpt.epoch) + 1
            check_resume(self.start_epoch, cfg.end_epoch)
            if self.start_epoch == cfg.end_epoch:
                self.logger.info(f'--continue: nothing to do, {self.resume_path} is the last '
                                 f'epoch of the run (end_epoch={cfg.end_epoch}); raise end_epoch '
                                 f'(--cfg end_epoch={cfg.end_epoch + 1}) to train on')
                return False
        elif epochs:
            if not overwrite:
                raise PoseNetError(
                    f"{cfg.model_dir} already holds the snapshots of another run (epochs "
                    f"{', '.join(map(str, epochs))}); resume it with --continue, start over with "
                    "--overwrite (deletes them), or train into a new folder with --cfg "
                    "output_dir=...")
            self.overwritten = epochs   # deleted when training starts (`train`), not before:
            # a run that fails while building data or model leaves them as they were
        return True

    def delete_overwritten(self):
        """`--overwrite`: delete the earlier run's snapshots, once this run is ready to train."""
        if self.overwritten and self.is_main:
            for epoch in self.overwritten:
                os.remove(snapshot_path(self.cfg.model_dir, epoch))
            self.logger.info(f'--overwrite: deleted the snapshots of epochs '
                             f'{", ".join(map(str, self.overwritten))} in {self.cfg.model_dir}')
        self.overwritten = []

    def restore_run_settings(self, cfg, ckpt):
        """`--continue`: `cfg` with the snapshot's `run_settings` (RUN_FIELDS: data sets and
        schedule) in the fields not given with `--cfg` (a new Config); logged, so a user sees
        what came back."""
        saved = ckpt.run_settings
        if saved is None:
            return cfg      # a snapshot of the original code or of an earlier version
        restored = {k: saved[k] for k in RUN_FIELDS if k in saved and k not in cfg.given}
        try:
            cfg = cfg.replace(**restored)
        except PoseNetError as e:
            raise PoseNetError(f"{self.resume_path}: bad run setting: {e}") from None
        if restored:
            self.logger.info('--continue: the run\'s settings restored from the snapshot: ' +
                             ', '.join(f'{k}={v!r}' for k, v in restored.items()))
        return cfg

    def make_batch_generator(self):
        """Mix the 3D and 2D training sets as the original (docs/SPEC.md §8; RootNet likewise)."""
        cfg = self.cfg
        if not cfg.trainset_3d:
            raise PoseNetError("trainset_3d is empty; at least one 3D training set is needed "
                               "(Human36M or MuCo)")
        self.logger.info('Creating dataset...')
        dbs_3d = [build_dataset(name, 'train_3d', cfg) for name in cfg.trainset_3d]
        dbs_2d = [build_dataset(name, 'train_2d', cfg) for name in cfg.trainset_2d]
        # every set's targets in the joint set of the first 3D set: the model's joints
        self.joints = dbs_3d[0]
        self.joint_num = self.joints.joint_num
        ref = self.joints.joints_name
        sets_3d = [self._loader(db, True, None if i == 0 else ref) for i, db in enumerate(dbs_3d)]
        sets_2d = [self._loader(db, True, ref) for db in dbs_2d]
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
                                          collate_fn=collate if cfg.data_backend == 'gpu' else
                                          None, **self._loader_kwargs())

    def make_model(self):
        cfg = self.cfg
        self.logger.info('Creating graph and optimizer...')
        model = self._build_model(self.resume_path is None, self.joint_num)
        self.model = self._place_model(model)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.amp == 'fp16')
        if self.resume_path is not None:
            load_network(self.model, self.resume_ckpt.network_state, what=self.resume_path)
            if self.resume_ckpt.optimizer_state:
                self.optimizer.load_state_dict(self.resume_ckpt.optimizer_state)
            self.logger.info(f'Load checkpoint from {self.resume_path}; resuming at epoch '
                             f'{self.start_epoch}')
            del self.resume_ckpt

    def set_lr(self, epoch):
        lr = lr_at_epoch(epoch, self.cfg.lr, self.cfg.lr_dec_epoch, self.cfg.lr_dec_factor)
        for g in self.optimizer.param_groups:
            g['lr'] = lr
        return lr

    def get_lr(self):
        return self.optimizer.param_groups[0]['lr']

    def weights_are_finite(self):
        """True when every parameter and buffer of the model is finite (checked before a
        snapshot is written: a step can turn weights NaN after the last finite loss)."""
        state = self.model.state_dict()
        return all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())

    def outputs_are_finite(self, batch):
        """True when the network in eval mode (the mode a snapshot is used in) gives finite
        coordinates for the crops of loader `batch`: weights can be finite yet so large that
        every input gives NaN/inf (e.g. lr=1e9), which the loss before the step cannot show."""
        inputs = [self._to_device(batch[0])] + ([self._to_device(batch[1])] if self.rootnet
                                                else [])
        self.model.eval()
        try:
            with torch.no_grad(), autocast_context(self.device, self.cfg.amp):
                finite = torch.isfinite(self.model(*inputs).float()).all().float()
        finally:
            self.model.train()
        return bool(dist.all_reduce_mean(finite) == 1)     # every process agrees

    def diverged(self, what):
        """The error for a run whose loss or weights stopped being finite. The snapshot it names
        passed `save_model`'s checks when it was written."""
        epochs = find_snapshot_epochs(self.cfg.model_dir)
        if epochs:
            advice = (f"the newest snapshot {snapshot_path(self.cfg.model_dir, epochs[-1])} is "
                      "finite: resume from it with --continue and a lower lr (--cfg lr=...) or "
                      "without amp")
        else:
            advice = ("no snapshot was written yet: start again with a lower lr (--cfg lr=...) "
                      "or without amp")
        return PoseNetError(f"{what}; training stopped, nothing was saved for this epoch "
                            f"({advice})")

    def worker_died(self, error, epoch):
        """The error for a data-loading worker process that died (killed, out of memory):
        the run stops; the newest snapshot is complete and the run resumes from it."""
        epochs = find_snapshot_epochs(self.cfg.model_dir)
        advice = (f"resume from the newest snapshot {snapshot_path(self.cfg.model_dir, epochs[-1])}"
                  " with --continue" if epochs else "no snapshot was written yet: start again")
        return PoseNetError(f"a data-loading worker process died during epoch {epoch} "
                            f"({str(error).strip().splitlines()[0]}); training stopped, nothing "
                            f"was saved for this epoch ({advice}; fewer workers, --cfg "
                            f"num_thread=..., need less memory)")

    def save_model(self, epoch, last_batch=None):
        """Write the snapshot of `epoch` after checking the weights: finite, and (with
        `last_batch`, the epoch's last loader batch) finite outputs in eval mode."""
        if not self.weights_are_finite():
            raise self.diverged(f'the weights became NaN/inf during epoch {epoch}')
        if last_batch is not None and not self.outputs_are_finite(last_batch):
            raise self.diverged(f"the weights exploded during epoch {epoch} (finite, but the "
                                "network's output on the epoch's last batch is NaN/inf)")
        if self.is_main:
            settings = ModelSettings.from_config(self.cfg, self.cfg.network,
                                                 None if self.rootnet else self.joints)
            run = {k: getattr(self.cfg, k) for k in RUN_FIELDS}
            path = save_snapshot(snapshot_path(self.cfg.model_dir, epoch), epoch, self.model,
                                 self.optimizer, settings, run_settings=run)
            self.logger.info(f'Write snapshot into {path}')

    def train_step(self, *batch):
        """One optimisation step on a loader batch; returns the batch's mean loss (all
        processes averaged). PoseNet: `(img, joint_img, joint_vis, have_depth)`; RootNet:
        `(img, k, root_img, root_vis, have_depth)`."""
        inputs = [self._to_device(batch[0])] + ([self._to_device(batch[1])] if self.rootnet
                                                else [])
        coord, vis, have_depth = batch[-3:]
        target = {'coord': self._to_device(coord), 'vis': self._to_device(vis),
                  'have_depth': self._to_device(have_depth)}
        self.optimizer.zero_grad(set_to_none=True)
        with autocast_context(self.device, self.cfg.amp):
            loss = self.model(*inputs, target).float().mean()
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return dist.all_reduce_mean(loss.detach())

    def train(self, progress=True):
        """The epoch loop of the original, plus a progress bar; returns the last epoch's mean
        loss."""
        from tqdm import tqdm
        cfg = self.cfg
        last_mean = None
        self.delete_overwritten()
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
            try:
                self.train_epoch(epoch, lr, bar, losses)
            except RuntimeError as e:
                if 'DataLoader worker' not in str(e):
                    raise
                raise self.worker_died(e, epoch) from None
            batch = self.last_batch
            bar.close()
            if self.distributed:  # one line from every process, so a user sees that all ran
                print(f'rank {self.rank}/{self.world_size}: epoch {epoch} done, '
                      f'{len(losses)} iterations on {self.device}', flush=True)
            self.save_model(epoch, batch)
            dist.barrier()
            last_mean = float(np.mean(losses)) if losses else float('nan')
        return last_mean

    def train_epoch(self, epoch, lr, bar, losses):
        """The iterations of one epoch over the loader `bar`; each loss appended to `losses`,
        the last batch kept in `last_batch` (for `save_model`'s check)."""
        cfg = self.cfg
        self.last_batch = None
        for itr, batch in enumerate(bar):
            self.last_batch = batch
            self.read_timer.toc()
            self.gpu_timer.tic()
            loss = self.train_step(*batch)
            loss_value = loss.item()
            self.gpu_timer.toc()
            if not math.isfinite(loss_value):
                raise self.diverged(f"loss became {loss_value} at epoch {epoch} "
                                    f"iteration {itr}")
            losses.append(loss_value)
            # speed of the last 20 iterations (not since the start) and the ETA from it
            recent = self.tot_timer.recent_time
            left = (self.itr_per_epoch - itr - 1 +
                    (cfg.end_epoch - epoch - 1) * self.itr_per_epoch)
            self.logger.info(' '.join([
                f'Epoch {epoch}/{cfg.end_epoch} itr {itr}/{self.itr_per_epoch}:',
                f'lr: {lr:g}',
                f'speed: {recent:.2f}({self.gpu_timer.recent_time:.2f}s '
                f'r{self.read_timer.recent_time:.2f})s/itr',
                f'{recent / 3600. * self.itr_per_epoch:.2f}h/epoch',
                f'ETA {format_duration(recent * left)}',
                f'loss_coord: {loss_value:.4f}',
            ]))
            self.tot_timer.toc()
            self.tot_timer.tic()
            self.read_timer.tic()


class Tester(Base):
    """Runs a snapshot over `cfg.testset` in data order and evaluates it.

    The snapshot is read first, once (`load_snapshot`): its `model_settings` (when it has them)
    give a new `cfg` with the model's fields (a contradicting `--cfg` is an error), so that the
    test set is cropped and mapped back with the geometry the model was trained with; the
    predictor is then built from what was read (`make_model`).
    """

    def __init__(self, cfg, test_epoch, backend='torch'):
        if dist.launched_by_torchrun():
            raise PoseNetError("test.py runs in one process (use --gpu 0-3 for several GPUs); "
                               "do not launch it with torchrun")
        super().__init__(cfg, 'test_logs.txt', ('log_dir', 'result_dir'),
                         (cfg.result_dir, 'test run',
                          '; or write the results elsewhere with --cfg result_dir=...'))
        self.test_epoch = int(test_epoch)
        self.backend = backend          # 'torch', 'onnx' or 'onnx-int8' (main.predictor)

    def snapshot_file(self):
        """`<model_dir>/snapshot_<test_epoch>.pth.tar`; an error listing the epochs present."""
        path = snapshot_path(self.cfg.model_dir, self.test_epoch)
        if not osp.isfile(path):
            epochs = find_snapshot_epochs(self.cfg.model_dir)
            have = f"available epochs: {', '.join(map(str, epochs))}" if epochs else \
                "that folder holds no snapshot"
            raise PoseNetError(f"snapshot for --test_epoch {self.test_epoch} not found: {path} "
                               f"({have}); train first or copy the snapshot there")
        return path

    def load_snapshot(self):
        """Read the snapshot (once: `make_model` builds from what is read here); its settings
        give the run's config, a new one, before the test set is built."""
        self.snapshot = self.snapshot_file()
        self.logger.info(f'Load checkpoint from {self.snapshot}')
        self.checkpoint = read_checkpoint(self.snapshot, self.cfg.network)
        self.cfg = self.cfg.with_model_settings(self.checkpoint.settings, self.snapshot)

    def make_batch_generator(self):
        self.logger.info('Creating dataset...')
        self.testset = build_dataset(self.cfg.testset, 'test', self.cfg)
        self.joint_num = self.testset.joint_num
        self.flip_pairs = self.testset.flip_pairs
        self.batch_generator = DataLoader(self._loader(self.testset, False),
                                          batch_size=self.cfg.test_batch_size *
                                          self.num_loader_gpus, shuffle=False,
                                          **self._loader_kwargs())

    def make_model(self):
        """The predictor of the checkpoint `load_snapshot` read, on the run's backend ('torch':
        on the run's devices; 'onnx', 'onnx-int8': ONNX Runtime on the CPU, the export cached
        next to the snapshot)."""
        cfg, ckpt = self.cfg, self.checkpoint
        if self.rootnet:
            self.predictor = RootNetPredictor.from_snapshot(ckpt, cfg, self.device, self.backend)
        else:
            check_joint_count(ckpt.settings, self.joint_num, self.snapshot,
                              f'testset {cfg.testset}')
            self.predictor = PoseNetPredictor.from_snapshot(ckpt, cfg, self.testset,
                                                            cfg.flip_test, self.device,
                                                            self.backend)
            if cfg.flip_test:       # the test set's pairs, as the original's tester
                self.predictor.flip_pairs = tuple(tuple(p) for p in self.flip_pairs)
        if self.predictor.backend == 'torch':   # DataParallel on several GPUs
            self.predictor.model = self._place_model(self.predictor.model)
        self.model = self.predictor.model

    def predict_all(self, progress=True):
        """Network outputs for the whole test set, in data order: PoseNet `(N, J, 3)` heatmap
        space, RootNet `(N, 3)` (x, y output space, depth mm)."""
        from tqdm import tqdm
        bar = tqdm(self.batch_generator, desc='test', disable=None if progress else True,
                   leave=False)
        if self.rootnet:
            preds = [self.predictor.predict_crops(img, k) for img, k in bar]
        else:
            preds = [self.predictor.predict_crops(img) for img in bar]
        bar.close()
        if preds:
            return np.concatenate(preds, axis=0)
        return np.zeros((0, 3) if self.rootnet else (0, self.joint_num, 3))

    def evaluate(self, preds):
        """The test set's own evaluation (its metrics dict; RootNet: `evaluate_root`); a NaN
        result is an error, never a reported number."""
        evaluate = self.testset.evaluate_root if self.rootnet else self.testset.evaluate
        metrics = evaluate(preds, self.cfg.result_dir)
        error = metrics.get('error')
        if error is not None and not math.isfinite(error):
            raise PoseNetError(f"the {metrics.get('metric', 'error')} on {self.cfg.testset} is "
                               f"{error} ({metrics.get('num_samples')} samples); nothing to "
                               "report — check that the test set holds samples and the snapshot "
                               "is finite")
        return metrics
