"""Training samples/s, inference images/s (with and without flip test) and peak memory of
PoseNet (the default section of `tool/benchmark.py`).
"""
import torch

from tool.bench.shared import peak_memory_mib, timed


def bench_model(args, device):
    from common.nets.posenet import get_pose_net
    from main.config import Config
    from main.predictor import PoseNetPredictor, autocast_context

    cfg = Config(resnet_type=args.resnet, pretrained_backbone=False,
                 input_shape=(args.input, args.input), depth_dim=args.depth_dim,
                 amp=args.amp, channels_last=args.channels_last)
    joint_num = 18
    model = get_pose_net(cfg, True, joint_num).to(device)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(device.type, enabled=args.amp == 'fp16')
    img = torch.randn(args.batch, 3, args.input, args.input, device=device).to(memory_format=fmt)
    h, w = cfg.output_shape
    target = {'coord': torch.rand(args.batch, joint_num, 3, device=device) *
              torch.tensor([w - 1, h - 1, cfg.depth_dim - 1], device=device),
              'vis': torch.ones(args.batch, joint_num, 1, device=device),
              'have_depth': torch.ones(args.batch, 1, device=device)}

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        with autocast_context(device, args.amp):
            loss = model(img, target).float().mean()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    flip_pairs = ((1, 4), (2, 5), (3, 6), (14, 11), (15, 12), (16, 13))

    plain = PoseNetPredictor(model, cfg, None, device, cfg.amp, cfg.channels_last)
    flipping = PoseNetPredictor(model, cfg, flip_pairs, device, cfg.amp, cfg.channels_last)

    def infer(flip):
        (flipping if flip else plain).predict_crops(img)

    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    model.train()
    t_train = timed(train_step, args.iters, args.warmup, device)
    train_mem = peak_memory_mib(device)
    model.eval()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    t_infer = timed(lambda: infer(False), args.iters, args.warmup, device)
    t_flip = timed(lambda: infer(True), args.iters, args.warmup, device)
    infer_mem = peak_memory_mib(device)
    return {
        'train samples/s': args.batch / t_train,
        'inference images/s': args.batch / t_infer,
        'inference images/s (flip test)': args.batch / t_flip,
        'peak memory train (MiB)': train_mem,
        'peak memory inference (MiB)': infer_mem,
    }
