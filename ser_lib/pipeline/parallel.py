"""One parallel map over clips: joblib workers, chunked, in order, with a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator


def parallel_map(fn: Callable, items: Iterable, *, n_jobs: int = -1, desc: str = "", unit: str = "clip",
                 progress: bool = True, chunk: int = 64, serial_below: int = 32, star: bool = False,
                 mapper: Callable | None = None, mininterval: float = 2.0) -> Iterator:
    """Yield ``fn(item)`` for every item, in order, computed ``chunk`` items at a time.

    Parameters
    ----------
    fn : callable
        A module-level function (it travels to joblib's worker processes).
    items : iterable
    n_jobs : int
        joblib workers (-1 = all cores); fewer than ``serial_below`` items run in this process.
    desc, unit, progress, mininterval
        The tqdm progress bar.
    chunk : int
        Items per batch sent to the workers; the caller receives each batch's results before
        the next batch starts (so it can save them: an interrupted run keeps what was done).
    star : bool
        Call ``fn(*item)`` instead of ``fn(item)``.
    mapper : callable, optional
        ``mapper(fn, batch) -> results`` replacing joblib (e.g. a Dask client's map).

    >>> list(parallel_map(abs, [-1, 2, -3], progress=False))
    [1, 2, 3]
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    items = list(items)
    call = (lambda item: fn(*item)) if star else fn  # noqa: E731  (only used in this process)
    bar = tqdm(total=len(items), desc=desc, unit=unit, disable=not progress, mininterval=mininterval)
    try:
        with Parallel(n_jobs=n_jobs if len(items) >= serial_below else 1) as parallel:
            for start in range(0, len(items), chunk):
                batch = items[start:start + chunk]
                if mapper is not None:
                    results = mapper(call if not star else fn, batch)
                elif star:
                    results = parallel(delayed(fn)(*item) for item in batch)
                else:
                    results = parallel(delayed(fn)(item) for item in batch)
                for res in results:
                    bar.update(1)
                    yield res
    finally:
        bar.close()
