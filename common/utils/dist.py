"""torch.distributed helpers for runs launched with `torchrun` (one process per GPU or CPU)."""
import os

import torch
import torch.distributed as dist

from common.utils.errors import PoseNetError


def launched_by_torchrun():
    """True when started by `torchrun` (its `TORCHELASTIC_RUN_ID`; also with one process, so
    that `--nproc_per_node 1` runs DDP over NCCL as a larger launch would) or by another
    multi-process launcher (WORLD_SIZE > 1)."""
    return ('TORCHELASTIC_RUN_ID' in os.environ and 'RANK' in os.environ) or \
        int(os.environ.get('WORLD_SIZE', '1')) > 1


def init_distributed(gpu_ids):
    """Join the process group of a `torchrun` launch; returns `(rank, world_size, device)`.

    Each process takes one device: GPU `gpu_ids[LOCAL_RANK]` (or `LOCAL_RANK` when `gpu_ids` is
    empty and GPUs are visible) with NCCL, else the CPU with gloo.
    """
    rank = int(os.environ['RANK'])
    world_size = int(os.environ['WORLD_SIZE'])
    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    if torch.cuda.is_available():
        ids = gpu_ids or list(range(torch.cuda.device_count()))
        if local_rank >= len(ids):
            raise PoseNetError(f"torchrun started local rank {local_rank} but only {len(ids)} "
                               "GPU(s) are available to this node; lower --nproc_per_node")
        device = torch.device(f'cuda:{ids[local_rank]}')
        torch.cuda.set_device(device)
        backend = 'nccl'
    else:
        device = torch.device('cpu')
        backend = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return rank, world_size, device


def all_reduce_mean(value):
    """Mean of a scalar tensor over all processes (identity when not distributed)."""
    if dist.is_initialized():
        value = value.detach().clone()
        dist.all_reduce(value)
        value /= dist.get_world_size()
    return value


def barrier():
    if dist.is_initialized():
        dist.barrier()


def cleanup():
    if dist.is_initialized():
        dist.destroy_process_group()
