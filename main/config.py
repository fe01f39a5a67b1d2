"""PoseNet configuration: `Config`, a value with the original release's field names.

There is no module-level configuration: each driver builds its own (`Config.from_args`), and
every change gives a new Config (`replace`, `with_overrides`, `with_model_settings`,
`with_devices`), so the order of the steps of a run shows in its code:

    cfg = Config.from_args(args)                         # defaults, --cfg, --amp, --gpu
    cfg = cfg.with_model_settings(checkpoint.settings, path)   # the model file's geometry

Nothing happens at import beyond reading two environment variables: folders are created by
`cfg.make_dirs()` when a run starts.

    python main/train.py --gpu 0-1 --cfg resnet_type=18 "input_shape=(128, 128)" "trainset_2d=[]"
"""
import ast
import copy
import math
import os
import os.path as osp

from common.utils.errors import PoseNetError

ROOT_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
RESNET_TYPES = (18, 34, 50, 101, 152)


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


def check_resume(start_epoch, end_epoch):
    """Refuse to resume a training run that is already past `end_epoch`.

    `start_epoch`: the epoch training would resume at (newest snapshot's epoch + 1), known only
    after the snapshot is loaded. `start_epoch == end_epoch` (the run is complete) is allowed.
    """
    if start_epoch > end_epoch:
        raise ConfigError(f"end_epoch={end_epoch} is before the resume epoch {start_epoch} (the "
                          f"newest snapshot is epoch {start_epoch - 1}); raise end_epoch, e.g. "
                          f"--cfg end_epoch={start_epoch + 1}, or start a new run without "
                          "--continue")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _seq(v, n, ok):
    return isinstance(v, (list, tuple)) and (n is None or len(v) == n) and all(ok(x) for x in v)


def _name(v):
    return isinstance(v, str) and v.strip() != ''


# field -> (test of a value, what is allowed); checked whenever a field is set
RULES = {
    'resnet_type': (lambda v: _is_int(v) and v in RESNET_TYPES, 'one of 18, 34, 50, 101, 152'),
    'input_shape': (lambda v: _seq(v, 2, lambda x: _is_int(x) and x > 0),
                    'two positive integers (height, width)'),
    'output_shape': (lambda v: _seq(v, 2, lambda x: _is_int(x) and x > 0),
                     'two positive integers (height, width), or None to follow input_shape'),
    'depth_dim': (lambda v: _is_int(v) and v >= 1, 'an integer >= 1'),
    'bbox_3d_shape': (lambda v: _seq(v, 3, lambda x: _is_num(x) and x > 0),
                      'three positive numbers (depth, height, width in mm)'),
    'pixel_mean': (lambda v: _seq(v, 3, _is_num), 'three numbers (R, G, B)'),
    'pixel_std': (lambda v: _seq(v, 3, lambda x: _is_num(x) and x > 0),
                  'three positive numbers (R, G, B)'),
    'lr': (lambda v: _is_num(v) and v > 0, 'a number > 0'),
    'lr_dec_epoch': (lambda v: _seq(v, None, lambda x: _is_int(x) and x >= 0),
                     'a list of integers >= 0, e.g. [17, 21]'),
    'lr_dec_factor': (lambda v: _is_num(v) and v > 0, 'a number > 0'),
    'end_epoch': (lambda v: _is_int(v) and v >= 1, 'an integer >= 1'),
    'batch_size': (lambda v: _is_int(v) and v >= 1, 'an integer >= 1'),
    'test_batch_size': (lambda v: _is_int(v) and v >= 1, 'an integer >= 1'),
    'num_thread': (lambda v: _is_int(v) and v >= 0,
                   'an integer >= 0 (0 = load in the main process)'),
    'amp': (lambda v: v in ('none', 'bf16', 'fp16'), "one of 'none', 'bf16', 'fp16'"),
    'data_backend': (lambda v: v in ('opencv', 'gpu'), "'opencv' or 'gpu'"),
    'testset': (_name, 'a dataset name, e.g. Human36M, MuPoTS or MSCOCO'),
    'network': (lambda v: v in NETWORKS, "'PoseNet' or 'RootNet'"),
    'trainset_3d': (lambda v: _seq(v, None, _name), "a list of dataset names, e.g. ['Human36M']"),
    'trainset_2d': (lambda v: _seq(v, None, _name), "a list of dataset names, e.g. ['MPII'] or []"),
}

# network -> its training schedule (docs/SPEC.md §8, §13), used where lr_dec_epoch / end_epoch
# are not given, and the sub-folder of output_dir its runs use (PoseNet: output_dir itself)
NETWORKS = {'PoseNet': {'lr_dec_epoch': [17, 21], 'end_epoch': 25, 'folder': ''},
            'RootNet': {'lr_dec_epoch': [17], 'end_epoch': 20, 'folder': 'rootnet'}}

# the fields a trained model depends on (stored with a snapshot, see `Config.model_settings`)
MODEL_FIELDS = ('resnet_type', 'input_shape', 'output_shape', 'depth_dim', 'bbox_3d_shape',
                'pixel_mean', 'pixel_std')


# the fields of a training run a snapshot records (`run_settings`) for `--continue`: the data
# sets and the schedule (a `--cfg` value given with `--continue` wins)
RUN_FIELDS = ('trainset_3d', 'trainset_2d', 'lr', 'lr_dec_epoch', 'lr_dec_factor', 'end_epoch',
              'batch_size')


DERIVED = ('output_shape', 'model_dir', 'log_dir', 'result_dir', 'vis_dir')


class Config:
    """All settings of a run, as a value. Field names are the original release's (users know
    them).

    A Config is not changed once built: `Config(**fields)`, `replace(**fields)`,
    `with_overrides(items)` (`--cfg`), `with_model_settings(settings, source)` (a snapshot's)
    and `with_devices(...)` (`--gpu`) each return a NEW Config; `Config.from_args(args)` is a
    driver's. Setting a field on one is an error.

    `given` (a frozenset of field names) holds the fields set explicitly (`Config(**fields)`,
    `replace()`, `--cfg`), as opposed to defaults and derived fields; setting `output_shape` or
    an output folder to None (= follow the default again) removes it.
    """

    def __init__(self, **fields):
        self.given = frozenset()
        # datasets
        self.trainset_3d = ['Human36M']   # Human36M, MuCo
        self.trainset_2d = ['MPII']       # MSCOCO, MPII
        self.testset = 'Human36M'         # Human36M, MuPoTS, MSCOCO

        # model
        self.network = 'PoseNet'          # 'PoseNet' or 'RootNet' (trained / tested by the drivers)
        self.resnet_type = 50             # 18, 34, 50, 101, 152
        self.pretrained_backbone = True   # False: random initialisation, no ImageNet download
        self.input_shape = (256, 256)     # crop (height, width), multiples of 32
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
        # use_gt_info=False: boxes and roots from this RootNet output file (None: the dataset's
        # bbox_root/bbox_root_<dataset>_output.json), e.g. output/rootnet/result/...
        self.bbox_root_file = None

        # speed options (beyond the original; off by default so numbers equal the original's)
        self.amp = 'none'                 # 'none', 'bf16' or 'fp16' autocast on GPU
        self.channels_last = False
        # training crops: 'opencv' (decode + warp in the loader workers, the original's) or
        # 'gpu' (JPEG bytes from the workers, decode + crop on the training device;
        # data/gpu_batch.py)
        self.data_backend = 'opencv'

        # run
        self.num_thread = 20
        self.gpu_ids = []                 # [] = CPU
        self.num_gpus = 0
        self.continue_train = False

        # folders
        self.data_dir = os.environ.get('POSENET_DATA_DIR') or osp.join(ROOT_DIR, 'data')
        self.output_dir = os.environ.get('POSENET_OUTPUT_DIR') or osp.join(ROOT_DIR, 'output')
        # None = <output_dir>/model_dump (RootNet: <output_dir>/rootnet/model_dump), likewise
        self.model_dir = None
        self.log_dir = None               # None = <output_dir>/log
        self.result_dir = None            # None = <output_dir>/result
        self.vis_dir = None               # None = <output_dir>/vis

        vars(self).update(self._resolved())
        if fields:
            changed = self.replace(**fields)
            vars(self).update(vars(changed))
        vars(self)['_frozen'] = True

    def __setattr__(self, name, value):
        if vars(self).get('_frozen'):
            raise AttributeError(f"a Config is not changed in place (cfg.{name} = ...); use "
                                 f"cfg.replace({name}=...), which returns a new Config")
        super().__setattr__(name, value)

    def __delattr__(self, name):
        raise AttributeError(f"a Config is not changed in place (del cfg.{name}); use "
                             "cfg.replace(...), which returns a new Config")

    # -- derived fields ---------------------------------------------------------------------
    def _resolved(self):
        """The fields that follow others unless they were given: the heatmap size, the
        network's schedule and the output folders (a dict of their values)."""
        derived = {}
        if 'output_shape' not in self.given:
            derived['output_shape'] = (self.input_shape[0] // 4, self.input_shape[1] // 4)
        network = NETWORKS[self.network]
        for name in ('lr_dec_epoch', 'end_epoch'):
            if name not in self.given:
                derived[name] = copy.copy(network[name])
        base = osp.join(self.output_dir, network['folder']) if network['folder'] else \
            self.output_dir
        for name, sub in (('model_dir', 'model_dump'), ('log_dir', 'log'),
                          ('result_dir', 'result'), ('vis_dir', 'vis')):
            if name not in self.given:
                derived[name] = osp.join(base, sub)
        return derived

    def _new(self, changes, given=None):
        """A new Config: this one with the (checked) field values `changes`, `given` (None:
        unchanged) and the derived fields resolved again. This one is not touched."""
        new = copy.copy(self)       # fields are replaced, never mutated: a shallow copy will do
        state = vars(new)
        state.update(changes)
        if given is not None:
            state['given'] = frozenset(given)
        state.update(new._resolved())
        return new

    def fields(self):
        """Public fields and their values (a plain dict)."""
        return {k: v for k, v in vars(self).items() if not k.startswith('_') and k != 'given'}

    def replace(self, **fields):
        """A new Config with fields set by name, checking names, types and ranges (all or
        nothing). The keys join `given`. Shapes are checked against each other by
        `check_shapes()` (done by `with_overrides`), not here."""
        known = self.fields()
        checked = {}
        for key, value in fields.items():
            if key not in known:
                raise ConfigError(f"unknown config key '{key}'; known keys: "
                                  f"{', '.join(sorted(known))}")
            checked[key] = self._check_value(key, known[key], value)
        unset = {k for k, v in checked.items() if v is None and k in DERIVED}
        return self._new(checked, (self.given | set(checked)) - unset)

    def _check_value(self, key, current, value):
        """`value` checked for field `key` (currently `current`) and converted to its type."""
        if key in ('trainset_3d', 'trainset_2d') and isinstance(value, str):
            value = [value]  # trainset_2d=MPII means ['MPII']
        if key in ('output_shape', 'model_dir', 'log_dir', 'result_dir', 'vis_dir',
                   'bbox_root_file') and value is None:
            return None
        if key in RULES:
            ok, allowed = RULES[key]
            if not ok(value):
                raise ConfigError(f"config key '{key}' must be {allowed}, got {value!r}")
            if isinstance(current, float):
                return float(value)
            return type(current)(value) if isinstance(current, (tuple, list)) else value
        if current is None:
            return value
        if isinstance(current, bool):
            ok = isinstance(value, bool)
        elif isinstance(current, (tuple, list)):
            ok = isinstance(value, (tuple, list))
            value = type(current)(value) if ok else value
        else:
            ok = isinstance(value, type(current))
        if not ok:
            raise ConfigError(f"config key '{key}' expects a {type(current).__name__} "
                              f"(like {current!r}), got {value!r}")
        return value

    def check_shapes(self):
        """Refuse shapes the network cannot produce.

        ResNet halves each side five times, rounding up (`ceil(side / 32)`), and the three
        stride-2 deconvolutions double it three times, so the heatmap side is
        `8 * ceil(side / 32)`: equal to `side / 4` exactly when `side` is a multiple of 32.
        """
        for side in self.input_shape:
            if side % 32:
                lower, upper = side // 32 * 32, side // 32 * 32 + 32
                nearest = f'{lower} or {upper}' if lower else f'{upper}'
                raise ConfigError(
                    f"input_shape {tuple(self.input_shape)}: {side} is not a multiple of 32; the "
                    f"network's heatmap side would be 8 * ceil({side} / 32) = "
                    f"{8 * -(-side // 32)}, not {side} / 4, so it would not match output_shape. "
                    f"Nearest valid sizes: {nearest}")
        expected = (self.input_shape[0] // 4, self.input_shape[1] // 4)
        if tuple(self.output_shape) != expected:
            raise ConfigError(
                f"output_shape {tuple(self.output_shape)} does not fit input_shape "
                f"{tuple(self.input_shape)}: the network's heatmap is input_shape / 4 = "
                f"{expected}; leave output_shape out (it follows input_shape)")
        return self

    def with_overrides(self, items):
        """A new Config with the `KEY=VALUE` strings from the command line (`--cfg`) applied,
        later ones winning, then `check_shapes()`; on any error nothing is made."""
        overrides = {}
        for item in items or []:
            if '=' not in item:
                raise ConfigError(f"--cfg {item!r}: expected KEY=VALUE, e.g. resnet_type=18")
            key, text = item.split('=', 1)
            overrides[key.strip()] = parse_value(text.strip())
        return self.replace(**overrides).check_shapes()

    # -- settings a trained model depends on --------------------------------------------------
    def model_settings(self):
        """`MODEL_FIELDS` as a plain dict (lists for tuples), e.g. to store with a snapshot."""
        return {k: (list(getattr(self, k)) if isinstance(getattr(self, k), tuple)
                    else getattr(self, k))
                for k in MODEL_FIELDS}

    def with_model_settings(self, settings, source):
        """A new Config with the model fields of `settings` (a `main.checkpoint.ModelSettings`
        or its `to_dict()`, e.g. read from the model file `source`); None (an official
        snapshot: no settings) gives this Config back. Fields missing from `settings` stay as
        they are. A field the user set explicitly (`given`) to a different value is a
        ConfigError naming the field, both values and `source`. `given` does not grow."""
        if settings is None:
            return self
        if hasattr(settings, 'to_dict'):
            settings = settings.to_dict()
        checked = {}
        for key in MODEL_FIELDS:
            if key not in settings:
                continue
            try:
                checked[key] = self._check_value(key, getattr(self, key), settings[key])
            except ConfigError as e:
                raise ConfigError(f"{source}: bad model setting: {e}") from None
            if key in self.given and getattr(self, key) != checked[key]:
                raise ConfigError(
                    f"config key '{key}' was given as {getattr(self, key)!r} but the model in "
                    f"{source} has {key}={checked[key]!r}; leave '{key}' out (the model's value is "
                    f"used) or use a model trained with that value")
        new = self._new(checked)
        try:
            if 'output_shape' in checked and new.output_shape != checked['output_shape']:
                raise ConfigError(f"output_shape {checked['output_shape']} does not fit "
                                  f"input_shape {new.input_shape}")
            new.check_shapes()
        except ConfigError as e:
            raise ConfigError(f"{source}: bad model setting: {e}") from None
        return new

    # -- run set-up -------------------------------------------------------------------------
    def with_devices(self, gpu_ids=None, continue_train=False, num_visible=None):
        """A new Config with the devices of the `--gpu` argument (see `parse_gpu_ids`) and
        `continue_train`. `num_visible`: CUDA devices (None: as torch counts them)."""
        if num_visible is None:
            import torch
            num_visible = torch.cuda.device_count()
        ids = parse_gpu_ids(gpu_ids, num_visible)
        return self._new({'gpu_ids': ids, 'num_gpus': len(ids),
                          'continue_train': bool(continue_train)})

    @classmethod
    def from_args(cls, args, continue_train=False):
        """A driver's Config from its parsed command line (`common.utils.cli.add_common_args`,
        `add_run_args`): the defaults and environment folders, the `--cfg` overrides (dataset
        names checked against `data.registry`), `--amp`, `--channels_last`, then `--gpu`."""
        from data.registry import check_names
        cfg = cls().with_overrides(args.cfg)
        check_names(cfg)
        speed = {}
        if getattr(args, 'amp', None) is not None:
            speed['amp'] = args.amp
        if getattr(args, 'channels_last', False):
            speed['channels_last'] = True
        return cfg.replace(**speed).with_devices(args.gpu_ids, continue_train)

    @property
    def device(self):
        """The torch device the model lives on: first chosen GPU, else CPU."""
        import torch
        return torch.device(f'cuda:{self.gpu_ids[0]}') if self.gpu_ids else torch.device('cpu')

    def make_dirs(self, names=('model_dir', 'log_dir', 'result_dir', 'vis_dir')):
        """Create the output folders `names` (fields) and check that each is writable (called
        when a run starts, never at import); a folder that cannot be written is one
        PoseNetError `cannot write ...`. Returns the folders that did not exist before."""
        from common.utils.file_io import make_writable_dir
        return [getattr(self, n) for n in names if make_writable_dir(getattr(self, n))]

    def __repr__(self):
        lines = [f'  {k} = {v!r}' for k, v in sorted(self.fields().items())]
        return 'Config(\n' + '\n'.join(lines) + '\n)'

