"""The results table: one Parquet file per finished run, and a reader that joins them.

Layout of a results folder::

    OUT/rows/<run key>.parquet    one row per finished run (the source of truth)
    OUT/results.parquet           all rows of the last sweep, written when it ends
    OUT/<parameter>.png           summary plots

Why one file per run: a Parquet file cannot be appended to (its footer comes last), and
a table appended in place (HDF5) can be left corrupt by a SIGKILL in the middle of a
write. Here each row is written to a temporary file, flushed to disk, then renamed over
its final name; a rename is atomic on POSIX, so a kill at any moment leaves every row
file whole or absent, plus at worst a stray temporary file that readers ignore and the
next sweep removes. Only the sweep's client writes (workers return rows to it), and it
holds a lock on ``OUT/.lock`` (released by the kernel even on SIGKILL), so there is one
writer per folder.
"""

import fcntl
import glob
import os

import pandas

from tlmsim.errors import ParameterError

try:
    import pyarrow
    import pyarrow.parquet as pq
except ImportError:  # the 'dist' extra is not installed
    pyarrow = pq = None

ROWS = "rows"
TABLE = "results.parquet"
_TMP = ".tmp"


class RowStore:
    """The row files of one results folder `directory`.

    With ``writer=True`` it takes the folder's lock (`close` releases it) and removes
    temporary files a killed sweep left behind.
    """

    def __init__(self, directory, writer=False):
        if pyarrow is None:
            raise ParameterError("sweep results are Parquet files and need pyarrow: "
                                 "pip install 'tlmsim[dist]'")
        self.directory = os.path.abspath(directory)
        self.rows_dir = os.path.join(self.directory, ROWS)
        self._lock = None
        if not writer:
            return
        try:
            os.makedirs(self.rows_dir, exist_ok=True)
            self._lock = open(os.path.join(self.directory, ".lock"), "a")
        except OSError as e:
            raise ParameterError(f"cannot create results folder {self.rows_dir!r}: "
                                 f"{e.strerror or e}") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.close()
            raise ParameterError(f"another sweep is writing to {self.directory!r}; wait for it "
                                 "to end or choose another output folder") from None
        for stray in glob.glob(os.path.join(self.rows_dir, "*" + _TMP)):
            _remove(stray)

    def close(self):
        """Release the folder's lock."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def path(self, key):
        return os.path.join(self.rows_dir, f"{key}.parquet")

    def keys(self):
        """Keys of every run that has a row."""
        return {os.path.basename(p)[:-len(".parquet")]
                for p in glob.glob(os.path.join(self.rows_dir, "*.parquet"))}

    def status(self, key):
        """The stored row's status ("ok" or "error"), or None if it has no row."""
        try:
            table = pq.read_table(self.path(key), columns=["status"])
        except (OSError, pyarrow.ArrowException):
            return None
        return table.column("status")[0].as_py() if table.num_rows else None

    def write(self, row):
        """Store one row (a flat dict with a "key"), atomically."""
        table = pyarrow.Table.from_pylist([row])
        final = self.path(row["key"])
        tmp = f"{final}.{os.getpid()}{_TMP}"
        with open(tmp, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        _fsync_dir(self.rows_dir)

    def _read_row(self, key):
        path = self.path(key)
        try:
            return pq.read_table(path).to_pandas()
        except (OSError, pyarrow.ArrowException) as e:
            raise ParameterError(f"row file {path} is damaged ({e}); delete it and run the "
                                 "sweep again to redo that run") from None

    def read(self, keys=None):
        """The rows as a DataFrame, one per key (all keys, or those in `keys`, in order)."""
        have = self.keys()
        wanted = sorted(have) if keys is None else [k for k in keys if k in have]
        frames = [self._read_row(k) for k in wanted]
        if not frames:
            return pandas.DataFrame()
        return pandas.concat(frames, ignore_index=True, sort=False)


def read_results(directory):
    """Every row in the results folder `directory` as a DataFrame (sorted by key)."""
    if not os.path.isdir(os.path.join(directory, ROWS)):
        raise ParameterError(f"{directory!r} is not a sweep results folder (it has no {ROWS}/)")
    return RowStore(directory).read()


def write_table(frame, path):
    """Write `frame` as one Parquet file at `path`, atomically (temporary file, rename)."""
    frame = frame.copy()
    for col in frame.columns:  # a column of mixed types (one name, two platforms) as text
        if frame[col].dtype == object:
            kinds = {type(v) for v in frame[col] if not _missing(v)}
            if len(kinds) > 1:
                frame[col] = frame[col].map(lambda v: None if _missing(v) else str(v))
    tmp = f"{path}.{os.getpid()}{_TMP}"
    with open(tmp, "wb") as f:
        pq.write_table(pyarrow.Table.from_pandas(frame, preserve_index=False), f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _missing(v):
    return v is None or (isinstance(v, float) and v != v)


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
