"""A version's files, as every reader of the dataset sees them: the one place that knows where a version's
files physically are.

On a local filesystem a version folder holds all its files (an append links the previous version's in),
so a path is read as it is. On an object store nothing is copied: a version folder holds only the files
its run wrote, and names the version it starts from in ``_base.json``; once sealed, ``_files.json`` lists
every file of the version (its own and those it keeps of the earlier ones), each by its path in the
version and the version folder that holds it:

    OUTPUT/_versions/<run>/_base.json     {"base": "<folder of the version it appends to>" | null}
    OUTPUT/_versions/<run>/_files.json    {"files": {"<run>": ["articles/...", ...]}}  (sealed, object stores)

``match``, ``exists`` and ``open_file`` take paths inside a version (``.../_versions/<run>/...``) and answer
for the whole version: its own files first, then its base's, so a run reads the state and index of the
version it appends to through the same paths it writes its own under.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Optional

from apache_beam.io.filesystem import FileSystem
from apache_beam.io.filesystems import FileSystems

BASE, FILES = "_base.json", "_files.json"
_IN_VERSION = re.compile(r"^(?P<versions>.+/_versions)/(?P<run>[^/]+)(?:/(?P<rest>.*))?$")
# Not the version's files: its own bookkeeping, staged bundles, temporaries (dot-files).
_NOT_CONTENT = re.compile(r"^(_base\.json|_files\.json|_manifest\.json|_SUCCESS|_RETIRED|_staging/.*)$|(^|/)\.[^/]*$")


def is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def _place(path: str) -> Optional[tuple[str, str, str]]:
    """(versions folder, run, path in the version) of a path inside a version on an object store."""
    if is_local(path):
        return None
    found = _IN_VERSION.match(path)
    return (found["versions"], found["run"], found["rest"] or "") if found else None


def _read_json(path: str) -> Optional[dict]:
    try:
        with FileSystems.open(path) as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except Exception:  # absent (each store has its own error), or damaged
        return None
    return data if isinstance(data, dict) else None


_sealed: dict[str, dict[str, str]] = {}  # sealed versions never change: each process reads a list once
_bases: dict[str, Optional[str]] = {}
_unsealed: set[str] = set()  # folders seen without a list: being written (sealed later only by ``seal_files``)
_physical: set[str] = set()  # paths ``match`` answered with: where a file is, never looked up again


def sealed_files(folder: str) -> Optional[dict[str, str]]:
    """A sealed version's files (path in the version -> physical path), or None when it is not sealed."""
    if folder not in _sealed:
        data = _read_json(FileSystems.join(folder, FILES))
        if data is None:
            return None
        versions = folder.rstrip("/").rsplit("/", 1)[0]
        _sealed[folder] = {rel: f"{versions}/{holder}/{rel}" for holder, rels in data.get("files", {}).items() for rel in rels}
    return _sealed[folder]


def holders(versions: str, run: str) -> set[str]:
    """The version folders (run ids) that hold a file of the sealed version ``run``, itself included: none of
    them is a dead run's (one read of its list, instead of a request per folder)."""
    files = sealed_files(FileSystems.join(versions, run)) or {}
    prefix = versions.rstrip("/") + "/"
    return {run} | {path[len(prefix) :].split("/", 1)[0] for path in files.values() if path.startswith(prefix)}


def base_of(versions: str, run: str) -> Optional[str]:
    """The folder of the version an unsealed version starts from (None: empty, or not written as a view)."""
    folder = FileSystems.join(versions, run)
    if folder not in _bases:
        data = _read_json(FileSystems.join(folder, BASE))
        if data is None:
            return None
        _bases[folder] = data.get("base")
    return _bases[folder]


def base_record(versions: str, run: str) -> dict:
    """An unsealed version's ``_base.json``, read strictly (never cached): a ``ValueError`` when it cannot be
    read or is not a base record, since sealing on a guess would drop the base's files."""
    with FileSystems.open(FileSystems.join(versions, run, BASE)) as handle:
        data = json.loads(handle.read().decode("utf-8"))
    if not isinstance(data, dict) or "base" not in data:
        raise ValueError(f"{BASE} is not a base record")
    return data


def base_files(versions: str, run: str) -> dict[str, str]:
    base = base_of(versions, run)
    return (sealed_files(base) or {}) if base else {}


def own_files(versions: str, run: str) -> dict[str, str]:
    """The files a version folder itself holds (path in the version -> physical path), bookkeeping left out."""
    root = FileSystems.join(versions, run)
    found = FileSystems.match([FileSystems.join(root, "**")])[0].metadata_list
    prefix = root.rstrip("/") + "/"
    pairs = ((m.path[len(prefix) :], m.path) for m in found)
    return {rel: path for rel, path in pairs if not _NOT_CONTENT.search(rel)}


def version_files(versions: str, run: str, removed: frozenset = frozenset()) -> dict[str, str]:
    """Every file of a version: the sealed list, or (a version being written, a stream's) its base's files
    overlaid with its own, less ``removed`` (paths in the version, full: ``.../_versions/<run>/<rel>``)."""
    sealed = sealed_files(FileSystems.join(versions, run))
    if sealed is not None:
        return sealed
    prefix = FileSystems.join(versions, run).rstrip("/") + "/"
    gone = {path[len(prefix) :] for path in removed if path.startswith(prefix)}
    files = {**base_files(versions, run), **own_files(versions, run)}
    return {rel: path for rel, path in files.items() if rel not in gone}


def write_base(root: str, base: Optional[str], state_dir: Optional[str] = None) -> None:
    """Mark a new version folder on an object store as starting from the version folder ``base`` (None:
    empty), and where its state is kept (``--state-dir``; None: inside it): what a late seal needs to know
    of a version its stream never sealed."""
    from transforms.files import write_atomically

    _bases[root.rstrip("/")] = base
    data = json.dumps({"base": base, "state_dir": state_dir}).encode("utf-8")
    write_atomically(FileSystems.join(root, BASE), lambda sink: sink.write(data))


def seal_files(root: str, removed: frozenset = frozenset()) -> int:
    """Write a version folder's ``_files.json``: its base's files and its own, less ``removed`` (what
    compaction merged away: full paths in the version). Returns how many files the version has. Object
    stores only."""
    from transforms.files import write_atomically

    versions, run, _ = _place(root.rstrip("/") + "/")
    files = version_files(versions, run, removed)
    grouped: dict[str, list[str]] = {}
    prefix = versions + "/"
    for rel, path in sorted(files.items()):
        grouped.setdefault(path[len(prefix) :].split("/", 1)[0], []).append(rel)
    data = json.dumps({"files": grouped}, separators=(",", ":")).encode("utf-8")
    write_atomically(FileSystems.join(root, FILES), lambda sink: sink.write(data))
    _sealed[FileSystems.join(versions, run)] = files
    _unsealed.discard(FileSystems.join(versions, run))
    return len(files)


def _known_files(versions: str, run: str) -> Optional[dict[str, str]]:
    """A sealed version's list, or None for a version being written (one this process began: its base is
    known; else one read of ``_files.json`` tells)."""
    folder = FileSystems.join(versions, run)
    if folder in _sealed:
        return _sealed[folder]
    if folder in _bases or folder in _unsealed:
        return None
    found = sealed_files(folder)
    if found is None:
        _unsealed.add(folder)
    return found


def match(pattern: str) -> list[str]:
    """Paths of the files matching a glob (Beam's: ``*`` within a folder, ``**`` across); inside a version on
    an object store, the files of the version: a sealed one's list, else its own files and then its base's,
    each path once."""
    place = _place(pattern)
    if place is None:
        return [m.path for m in FileSystems.match([pattern])[0].metadata_list]
    versions, run, rest = place
    regex = re.compile(FileSystem.translate_pattern(rest))
    sealed = _known_files(versions, run)
    if sealed is not None:
        found = [path for rel, path in sorted(sealed.items()) if regex.match(rel)]
    else:
        own = [m.path for m in FileSystems.match([pattern])[0].metadata_list]
        base = base_files(versions, run)
        prefix = FileSystems.join(versions, run).rstrip("/") + "/"
        mine = {path[len(prefix) :] for path in own}
        found = own + [path for rel, path in sorted(base.items()) if rel not in mine and regex.match(rel)]
    _physical.update(found)
    return found


def in_version(path: str, folder: str) -> str:
    """A file's path in the version folder ``folder`` (or a folder in it, such as its state), from where
    ``match`` found it: its own copy, or its base's (``.../_versions/<base run>/<rest>``)."""
    if path.startswith(folder.rstrip("/") + "/"):
        return path
    found, here = _place(path), _place(folder.rstrip("/") + "/")
    return f"{here[0]}/{here[1]}/{found[2]}" if found and here else path


def resolve(path: str) -> str:
    """Where a file of a version physically is: its own copy, else its base's (else the path itself)."""
    place = _place(path)
    if place is None or path in _physical:
        return path
    versions, run, rest = place
    sealed = _known_files(versions, run)
    if sealed is not None:
        return sealed.get(rest, path)
    if FileSystems.exists(path):
        return path
    return base_files(versions, run).get(rest, path)


def exists(path: str) -> bool:
    return FileSystems.exists(resolve(path))


def open_file(path: str):
    return FileSystems.open(resolve(path))


def files_under(root: str, folder: str) -> dict[str, str]:
    """The files of the version at ``root`` under ``folder`` (a table): path in the version -> physical path."""
    prefix = root.rstrip("/") + "/"
    place = _place(prefix)
    if place is None:
        found = FileSystems.match([FileSystems.join(root, folder, "**")])[0].metadata_list
        return {m.path[len(prefix) :]: m.path for m in found if not posixpath.basename(m.path).startswith(".")}
    versions, run, _ = place
    files = _known_files(versions, run)
    if files is None:
        files = {**base_files(versions, run), **own_files(versions, run)}
    return {rel: path for rel, path in files.items() if rel.startswith(folder.rstrip("/") + "/")}
