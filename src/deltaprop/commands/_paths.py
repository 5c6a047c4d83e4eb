"""The files a command reads and writes, checked before any work, and the lock of a checkpoint folder.

``check_outputs`` resolves every input and output path at the start of a command and refuses
(ValueError, one line, nothing written) an output that is empty, that is the same file as an
input (same resolved path or same inode, so hard links and symlinks count), that names one file
twice, that exists and is not a regular file (a FIFO, a device, a folder), whose folder is missing
or not writable. ``folder_lock`` holds a
``filelock.FileLock`` on a checkpoint folder for a whole training run, and ``save_or_rescue``
says where the weights went when the final save fails.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
# A typed output's name says its format (compared case-insensitively): kind -> (what is written, suffixes).
# io.save writes safetensors only; export writes ONNX or a torch.save file; write_json writes JSON.
FORMATS = {"model": ("the model is written as safetensors", (".safetensors",)),
           "json": ("this file is written as JSON", (".json",)),
           "onnx": ("the export is an ONNX graph", (".onnx",)),
           "torch": ("the export is a torch.save file", (".pt", ".pth"))}
LOCK_NAME = ".deltaprop.lock"  # inside a checkpoint folder: the lock file
OWNER_NAME = ".deltaprop.lock.pid"  # beside it: the PID of the run that holds it (for the message)


def _resolve(path: str | os.PathLike[str], flag: str) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ValueError(f"{flag} {path}: cannot resolve the path ({exc})") from None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def not_special(path: str | os.PathLike[str], flag: str) -> None:
    """ValueError when ``path`` exists (after following symlinks) and is not a regular file."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise ValueError(f"{flag} {path} is {kind}, not a regular file; refusing to replace it "
                         "(give the name of a file to write)")


def check_outputs(inputs: Iterable[tuple[str, str | os.PathLike[str] | None]],
                  outputs: Mapping[str, str | os.PathLike[str] | None],
                  formats: Mapping[str, str] | None = None) -> None:
    """Refuse, before any work, outputs that could destroy an input or fail at the end.

    Parameters
    ----------
    inputs : iterable of (flag, path or None)
        What the command reads (or keeps, such as a checkpoint); a missing file still reserves its name.
    outputs : mapping of flag to path or None
        What the command writes; None means not asked for. "" is refused.
    formats : mapping of flag to a kind of ``FORMATS``, optional
        The typed outputs: their names must end in one of the kind's suffixes (``--out m.txt`` for a
        model is refused: the file would be safetensors under a name that says text).

    Raises
    ------
    ValueError
        Naming the flag and the path, and what is wrong.
    """
    taken = [(flag, str(path), _resolve(path, flag), _identity(Path(path)))
             for flag, path in inputs if path is not None and str(path) != ""]
    for flag, path in outputs.items():
        if path is None:
            continue
        if not str(path).strip():
            raise ValueError(f"{flag} is empty; give the name of the file to write")
        target = _resolve(path, flag)
        not_special(target, flag)
        ident = _identity(target)
        for other, shown, resolved, other_ident in taken:
            if resolved == target or (ident is not None and ident == other_ident):
                raise ValueError(f"{flag} {path} is the same file as {other} {shown}; choose another name "
                                 "(nothing was written)")
        folder = target.parent
        if not folder.is_dir():
            raise ValueError(f"{flag}: cannot write {path}: the folder {Path(path).parent} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(f"{flag} {path}: the folder {Path(path).parent} is not writable")
        taken.append((flag, str(path), target, ident))
    for flag, kind in (formats or {}).items():  # after the checks above, whose faults matter more
        path = outputs.get(flag)
        if path is not None:
            _check_suffix(flag, path, kind)


def _check_suffix(flag: str, path: str | os.PathLike[str], kind: str) -> None:
    what, suffixes = FORMATS[kind]
    suffix = Path(path).suffix
    if suffix.lower() not in suffixes:
        came = repr(suffix) if suffix else "none"
        raise ValueError(f"{flag} {path}: {what}; expected a name ending in {' or '.join(suffixes)}, got {came} "
                         "(nothing was written)")


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the lock of a checkpoint folder (created if needed) while the block runs.

    The lock is ``fcntl.flock`` through ``filelock``: the operating system drops it when the
    process ends, however it ends, so a run killed with SIGKILL leaves no lock behind.

    Raises
    ------
    ValueError
        At once, when another run holds it (naming that run's PID).
    """
    from filelock import FileLock, Timeout

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--checkpoint-dir {folder} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_NAME), timeout=0, thread_local=False, is_singleton=False)
    owner = folder / OWNER_NAME
    try:
        lock.acquire()
    except Timeout:
        try:
            pid = owner.read_text().strip() or "unknown"
        except OSError:
            pid = "unknown"
        raise ValueError(f"--checkpoint-dir {folder} is in use by another training run (PID {pid}); wait for it "
                         "to end, or choose another folder") from None
    try:
        owner.write_text(f"{os.getpid()}\n")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def save_or_rescue(net: Any, out: str, keeper: Any) -> None:
    """Save to --out; if that fails (a full disk), say in the error where the trained weights are kept."""
    try:
        net.save(out)
        return
    except OSError as exc:
        reason = exc.strerror or str(exc)
    if keeper is not None and keeper.writes:
        kept = (f"the trained weights are in the checkpoint {keeper.path.parent} (deltaprop train --resume "
                f"{keeper.path.parent} --out FILE writes them to FILE)")
    else:
        kept = "the trained weights could not be saved anywhere"
        for folder in (Path.cwd(), Path(tempfile.gettempdir())):
            fallback = folder / f"deltaprop-rescued-{os.getpid()}.safetensors"
            try:
                net.save(fallback)
            except OSError:
                continue
            kept = f"the trained weights were saved to {fallback} instead"
            break
    raise OSError(f"could not save the model to {out} ({reason}); {kept}")


def check_train_files(args: Any, cfg: Any, ck: Any) -> None:
    """``check_outputs`` for ``deltaprop train``: its data, checkpoint and every output, and the plot's suffix."""
    from ..checkpoint import checkpoint_path

    inputs: list[tuple[str, Any]] = []
    if Path(cfg.dataset).suffix.lower() in (".csv", ".npz", ".parquet") or Path(cfg.dataset).is_file():
        inputs.append(("--dataset", cfg.dataset))
    elif Path(cfg.dataset).is_dir():  # a streamed data set's files
        inputs += [("--dataset", p) for p in Path(cfg.dataset).iterdir()]
    if cfg.data_dir is not None and Path(cfg.data_dir).is_dir():
        inputs += [("--data-dir", p) for p in Path(cfg.data_dir).iterdir()]
    if ck is not None:
        inputs.append(("--resume", ck.path))
    if cfg.checkpoint_dir is not None:
        kept = checkpoint_path(cfg.checkpoint_dir)
        inputs += [("--checkpoint-dir", p) for p in (kept, kept.parent / "last-good.safetensors",
                                                      kept.parent / LOCK_NAME, kept.parent / OWNER_NAME)]
    check_outputs(inputs, {"--out": args.out, "--metrics-json": args.metrics_json, "--plot": cfg.plot},
                  {"--out": "model", "--metrics-json": "json"})
    if cfg.plot:
        from ..plots import check_path

        check_path(cfg.plot)  # .png or .svg
