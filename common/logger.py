"""Colour console + plain log-file logger (one per run: train_logs.txt, test_logs.txt)."""
import logging
import os
import os.path as osp
import sys

OK = '\033[92m'
WARNING = '\033[93m'
FAIL = '\033[91m'
END = '\033[0m'
INFO = '\033[94m'
BOLD = '\033[1m'


class _ColourFormatter(logging.Formatter):
    COLOURS = {logging.WARNING: WARNING, logging.ERROR: FAIL, logging.CRITICAL: FAIL}

    def __init__(self, fmt, datefmt, use_colour):
        super().__init__(fmt, datefmt)
        self.use_colour = use_colour

    def format(self, record):
        text = super().format(record)
        if not self.use_colour:
            return text
        colour = self.COLOURS.get(record.levelno, OK)
        return f'{colour}{text}{END}'


class _TqdmHandler(logging.StreamHandler):
    """Console handler that prints above a running tqdm progress bar instead of through it."""

    def emit(self, record):
        try:
            from tqdm import tqdm
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # never let logging break a run
            self.handleError(record)


class ColorLogger:
    """Logs to the console (coloured when it is a terminal) and to `<log_dir>/<log_name>`.

    `enabled=False` gives a silent logger (used on non-zero ranks of a distributed run).
    """

    def __init__(self, log_dir, log_name='train_logs.txt', enabled=True, name=None):
        self.log_path = osp.join(log_dir, log_name)
        self._logger = logging.getLogger(name or f'posenet.{osp.abspath(self.log_path)}')
        self._logger.setLevel(logging.INFO if enabled else logging.CRITICAL + 1)
        self._logger.propagate = False
        for h in list(self._logger.handlers):
            self._logger.removeHandler(h)
            h.close()
        if not enabled:
            return
        os.makedirs(log_dir, exist_ok=True)
        fmt, datefmt = '%(asctime)s %(message)s', '%m-%d %H:%M:%S'
        file_handler = logging.FileHandler(self.log_path)
        file_handler.setFormatter(logging.Formatter(fmt, datefmt))
        console = _TqdmHandler(sys.stdout)
        console.setFormatter(_ColourFormatter(fmt, datefmt, use_colour=sys.stdout.isatty()))
        self._logger.addHandler(file_handler)
        self._logger.addHandler(console)

    def debug(self, msg):
        self._logger.debug(msg)

    def info(self, msg):
        self._logger.info(msg)

    def warning(self, msg):
        self._logger.warning(msg)

    def critical(self, msg):
        self._logger.critical(msg)

    def error(self, msg):
        self._logger.error(msg)

    def to_file(self, msg):
        """Write `msg` into the log file only (e.g. the error line the command line prints)."""
        record = self._logger.makeRecord(self._logger.name, logging.ERROR, __file__, 0, msg,
                                         None, None)
        for handler in self._logger.handlers:
            if isinstance(handler, logging.FileHandler):
                handler.handle(record)

    def close(self):
        for h in list(self._logger.handlers):
            self._logger.removeHandler(h)
            h.close()
