"""PoseNet configuration: one object, `cfg`, with the original release's field names.

Everything here is plain data. Nothing happens at import beyond reading two environment
variables: folders are created by `cfg.make_dirs()` when a run starts, GPUs are chosen by
`cfg.set_args()`, and command-line overrides go through `cfg.apply_overrides()`.

    python main/train.py --gpu 0-1 --cfg resnet_type=18 "input_shape=(128, 128)" "trainset_2d=[]"
"""
import ast
import os
import os.path as osp

from common.utils.errors import PoseNetError

ROOT_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


class ConfigError(PoseNetError, ValueError):
    """A bad configuration value or command-line argument (message is user-facing)."""


def parse_gpu_ids(arg, num_visible):
    """Parse the `--gpu` argument into a list of CUDA device ids.

    `arg`: None (all visible GPUs, or [] = CPU when there are none), '0', '0,1' or '0-1'
    (inclusive range). `num_visible`: how many CUDA devices torch sees.
    """
    if arg is None or str(arg).strip() == '':
        return list(range(num_visible))
    text = str(arg).strip()
    try:
        if '-' in text:
            first, last = (int(p) for p in text.split('-'))
            ids = list(range(first, last + 1)) if last >= first else None
        else:
            ids = [int(p) for p in text.split(',') if p.strip() != '']
    except ValueError:
        raise ConfigError(f"--gpu {text}: expected GPU ids like '0', '0,1' or '0-3'") from None
    if ids is None:
        raise ConfigError(f"--gpu {text}: range end is before its start")
    if not ids:
        raise ConfigError(f"--gpu {text}: no GPU id given")
    if len(set(ids)) != len(ids):
        raise ConfigError(f"--gpu {text}: a GPU id is repeated")
    bad = [i for i in ids if i < 0 or i >= num_visible]
    if bad:
        if num_visible == 0:
            raise ConfigError(f"--gpu {text}: no CUDA GPU is visible on this machine; "
                              "omit --gpu to run on the CPU")
        raise ConfigError(f"--gpu {text}: GPU id {bad[0]} does not exist (visible ids: "
                          f"0..{num_visible - 1}); pick visible ids or omit --gpu")
    return ids


def parse_value(text):
    """A command-line value: a Python literal when it is one, else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


class Config:
    """All settings of a run. Field names are the original release's (users know them)."""

    def __init__(self):
        # datasets
        self.trainset_3d = ['Human36M']   # Human36M, MuCo
        self.trainset_2d = ['MPII']       # MSCOCO, MPII
        self.testset = 'Human36M'         # Human36M, MuPoTS, MSCOCO

        # model
        self.resnet_type = 50             # 18, 34, 50, 101, 152
        self.pretrained_backbone = True   # False: random initialisation, no ImageNet download
        self.input_shape = (256, 256)     # crop (height, width)
        self.output_shape = None          # heatmap (height, width); None = input_shape // 4
        self.depth_dim = 64
        self.bbox_3d_shape = (2000, 2000, 2000)  # mm (depth, height, width)
        self.pixel_mean = (0.485, 0.456, 0.406)
        self.pixel_std = (0.229, 0.224, 0.225)

        # training
        self.lr = 1e-3
        self.lr_dec_epoch = [17, 21]
        self.lr_dec_factor = 10
        self.end_epoch = 25
        self.batch_size = 32              # per GPU

        # testing
        self.test_batch_size = 32         # per GPU
        self.flip_test = True
        self.use_gt_info = True

        # speed options (beyond the original; off by default so numbers equal the original's)
        self.amp = 'none'                 # 'none', 'bf16' or 'fp16' autocast on GPU
        self.channels_last = False

        # run
        self.num_thread = 20
        self.gpu_ids = []                 # [] = CPU
        self.num_gpus = 0
        self.continue_train = False

        # folders
        self.data_dir = os.environ.get('POSENET_DATA_DIR') or osp.join(ROOT_DIR, 'data')
        self.output_dir = os.environ.get('POSENET_OUTPUT_DIR') or osp.join(ROOT_DIR, 'output')
        self.model_dir = None             # None = <output_dir>/model_dump
        self.log_dir = None               # None = <output_dir>/log
        self.result_dir = None            # None = <output_dir>/result
        self.vis_dir = None               # None = <output_dir>/vis

        self._resolve()

    # -- derived fields ---------------------------------------------------------------------
    def _resolve(self):
        """Fill the fields that follow others unless they were given."""
        if getattr(self, '_output_shape_given', False) is False:
            self.output_shape = (self.input_shape[0] // 4, self.input_shape[1] // 4)
        for name, sub in (('model_dir', 'model_dump'), ('log_dir', 'log'),
                          ('result_dir', 'result'), ('vis_dir', 'vis')):
            if name not in getattr(self, '_dirs_given', set()):
                setattr(self, name, osp.join(self.output_dir, sub))

    def fields(self):
        """Public fields and their values (a plain dict)."""
        return {k: v for k, v in vars(self).items() if not k.startswith('_')}

    def update(self, **overrides):
        """Set fields by name, checking names and types. Returns self."""
        known = self.fields()
        for key, value in overrides.items():
            if key not in known:
                raise ConfigError(f"unknown config key '{key}'; known keys: "
                                  f"{', '.join(sorted(known))}")
            setattr(self, key, self._check_type(key, known[key], value))
            if key == 'output_shape':
                self._output_shape_given = value is not None
            if key in ('model_dir', 'log_dir', 'result_dir', 'vis_dir'):
                self._dirs_given = getattr(self, '_dirs_given', set()) | {key}
        self._resolve()
        return self

    def _check_type(self, key, current, value):
        if key in ('output_shape', 'model_dir', 'log_dir', 'result_dir', 'vis_dir') and value is None:
            return None
        if current is None:
            return value
        if isinstance(current, bool):
            ok = isinstance(value, bool)
        elif isinstance(current, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(current, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
        elif isinstance(current, (tuple, list)):
            ok = isinstance(value, (tuple, list))
            if ok:
                value = type(current)(value)
        else:
            ok = isinstance(value, type(current))
        if not ok:
            raise ConfigError(f"config key '{key}' expects a {type(current).__name__} "
                              f"(like {current!r}), got {value!r}")
        return value

    def apply_overrides(self, items):
        """Apply `KEY=VALUE` strings from the command line (`--cfg`)."""
        overrides = {}
        for item in items or []:
            if '=' not in item:
                raise ConfigError(f"--cfg {item!r}: expected KEY=VALUE, e.g. resnet_type=18")
            key, text = item.split('=', 1)
            overrides[key.strip()] = parse_value(text.strip())
        return self.update(**overrides)

    # -- run set-up -------------------------------------------------------------------------
    def set_args(self, gpu_ids=None, continue_train=False, num_visible=None):
        """Choose devices from the `--gpu` argument (see `parse_gpu_ids`)."""
        if num_visible is None:
            import torch
            num_visible = torch.cuda.device_count()
        self.gpu_ids = parse_gpu_ids(gpu_ids, num_visible)
        self.num_gpus = len(self.gpu_ids)
        self.continue_train = continue_train
        return self

    @property
    def device(self):
        """The torch device the model lives on: first chosen GPU, else CPU."""
        import torch
        return torch.device(f'cuda:{self.gpu_ids[0]}') if self.gpu_ids else torch.device('cpu')

    def make_dirs(self):
        """Create the output folders (called when a run starts, never at import)."""
        for d in (self.model_dir, self.log_dir, self.result_dir, self.vis_dir):
            os.makedirs(d, exist_ok=True)

    def __repr__(self):
        lines = [f'  {k} = {v!r}' for k, v in sorted(self.fields().items())]
        return 'Config(\n' + '\n'.join(lines) + '\n)'


cfg = Config()
