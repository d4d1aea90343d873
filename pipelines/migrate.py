"""``python -m pipelines.migrate OUTPUT``: a dataset written before ``published_date`` was a column
(``articles`` and ``entities`` in ``published_date=<day>`` folders) rewritten in today's layout (the day a
DATE column of the files, folders by ``published_month``), committed as a new version like a run: rows,
the other tables and the state unchanged (linked), the old version visible until the commit. An append
onto the old layout is refused naming this command (``checks.refuse_legacy_layout``)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys

import pyarrow.parquet as pq

from transforms.write.commit import (
    VERSIONS,
    DatasetError,
    abandon,
    begin,
    check_pointer,
    commit,
    exclusive,
    is_local,
    state_dir_of,
    state_folder,
)
from transforms.write.parquet import (
    LEGACY_PARTITION_KEY,
    TABLES,
    from_legacy,
    legacy_tables,
    new_run_id,
    table_folder,
    write_table,
)


def link(path: str, into: str) -> None:
    """``path`` hard-linked into the folder ``into`` (copied where links are impossible)."""
    os.makedirs(into, exist_ok=True)
    target = os.path.join(into, os.path.basename(path))
    try:
        os.link(path, target)
    except OSError:
        shutil.copy2(path, target)


def migrate_tables(previous: str, root: str) -> dict[str, int]:
    """The tables of the version at ``previous`` into the version at ``root``: each file of a
    ``published_date=`` folder rewritten (named after the file it was, and its day: a month holds many
    days), every other file linked. Returns the files rewritten per table."""
    rewritten: dict[str, int] = {}
    for table in TABLES:
        for folder, _, names in os.walk(os.path.join(previous, table)):
            key = os.path.basename(folder)
            legacy = key.startswith(f"{LEGACY_PARTITION_KEY}=")
            for name in sorted(names):
                if not legacy:
                    link(os.path.join(folder, name), os.path.join(root, os.path.relpath(folder, previous)))
                elif name.endswith(".parquet"):
                    partition, data = from_legacy(table, key, pq.read_table(os.path.join(folder, name)))
                    renamed = f"{name.removesuffix('.parquet')}-{key.split('=', 1)[1]}.parquet"
                    write_table(os.path.join(table_folder(root, table, partition), renamed), data)
                    rewritten[table] = rewritten.get(table, 0) + 1
    return rewritten


def link_state(output: str, previous: str, state: str) -> None:
    """The previous version's state linked into ``state``: inside its version, in its ``--state-dir``
    version, or (a state folder of the time before state was versioned) that folder's files."""
    state_dir = state_dir_of(output, previous)
    source = state_folder(os.path.join(output, VERSIONS, previous), state_dir)
    if state_dir and not os.path.isdir(source):
        source = state_dir
    for folder, subfolders, names in os.walk(source):
        if folder == source:
            subfolders[:] = [s for s in subfolders if s != VERSIONS]
        for name in names:
            link(os.path.join(folder, name), os.path.join(state, os.path.relpath(folder, source)))


def migrate(output: str) -> dict[str, int] | None:
    """Migrate ``output`` under its lock and commit the result; None when it is already in today's layout."""
    if not is_local(output):
        raise DatasetError("migration works on local datasets only for now")
    started = dt.datetime.now(dt.UTC)
    with exclusive(output):
        current = check_pointer(output)
        version = begin(output, new_run_id(), append=False, state_dir=state_dir_of(output, current))
        try:
            if version.previous is None:
                raise DatasetError(f"{output} holds no committed dataset")
            previous = os.path.join(output, VERSIONS, version.previous)
            if not legacy_tables(previous):
                abandon(version)
                return None
            rewritten = migrate_tables(previous, version.root)
            link_state(output, version.previous, version.state)
            commit(version, {"run_id": version.run_id, "previous_version": version.previous, "migration": rewritten,
                             "started_at": started.isoformat(), "finished_at": dt.datetime.now(dt.UTC).isoformat()})  # fmt: skip
        except BaseException:
            abandon(version)
            raise
    return rewritten


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.migrate", description=__doc__)
    parser.add_argument("output", help="the dataset folder (a run's --output)")
    args = parser.parse_args(argv)
    try:
        rewritten = migrate(args.output)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk midway: the version is abandoned, the dataset as it was
        print(f"error: migration of {args.output} failed, nothing committed: {e}", file=sys.stderr)
        return 1
    if rewritten is None:
        print(f"{args.output} is in today's layout already: nothing to migrate")
    else:
        print(f"Migrated {args.output}: {', '.join(f'{n} {table} files' for table, n in sorted(rewritten.items()))} rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
