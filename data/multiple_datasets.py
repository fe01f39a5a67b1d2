"""Mixing several datasets into one (docs/SPEC.md §5).

    MultipleDatasets(dbs, make_same_len=False)   # plain concatenation, length = sum of lengths
    MultipleDatasets(dbs, make_same_len=True)    # every dataset contributes max_len items/epoch

With `make_same_len=True` the length is `max_len * n` (n datasets, `max_len` the longest).
Index `i` selects dataset `i // max_len` and position `k = i % max_len` in it: `k % len(db)`
while `k < len(db) * (max_len // len(db))` (whole repetitions of the shorter dataset), else a
random item of that dataset (`np.random`, so `np.random.seed` makes it repeatable).
"""
import numpy as np
from torch.utils.data import Dataset


class MultipleDatasets(Dataset):
    """Concatenation (`make_same_len=False`) or equal-share mix (`True`) of `dbs`.

    `dbs`: sequence of datasets (anything with `len` and integer indexing). Lengths are read once,
    here. Empty datasets are left out of the equal-share mix (the original divided by zero on
    them); in a plain concatenation they simply contribute nothing.
    """

    def __init__(self, dbs, make_same_len=True):
        self.dbs = list(dbs)
        self.db_num = len(self.dbs)
        self.make_same_len = bool(make_same_len)
        self.db_lens = [len(db) for db in self.dbs]
        self.db_len_cumsum = np.cumsum(self.db_lens, dtype=np.int64)
        self.max_db_data_num = max(self.db_lens, default=0)
        # datasets taking part in the equal-share mix
        self._mixed = [i for i, n in enumerate(self.db_lens) if n > 0]

    def __len__(self):
        if self.make_same_len:
            return self.max_db_data_num * len(self._mixed)
        return int(sum(self.db_lens))

    def locate(self, index):
        """Map a global index to `(db_idx, data_idx)` (random draw in the mixed tail)."""
        length = len(self)
        if index < 0:
            index += length
        if not 0 <= index < length:
            raise IndexError(f"index {index} out of range for MultipleDatasets of length {length}")
        if self.make_same_len:
            db_idx = self._mixed[index // self.max_db_data_num]
            k = index % self.max_db_data_num
            n = self.db_lens[db_idx]
            if k >= n * (self.max_db_data_num // n):
                data_idx = int(np.random.randint(n))     # the incomplete last repetition
            else:
                data_idx = k % n
        else:
            db_idx = int(np.searchsorted(self.db_len_cumsum, index, side='right'))
            data_idx = index - (int(self.db_len_cumsum[db_idx - 1]) if db_idx > 0 else 0)
        return db_idx, data_idx

    def __getitem__(self, index):
        db_idx, data_idx = self.locate(index)
        return self.dbs[db_idx][data_idx]
