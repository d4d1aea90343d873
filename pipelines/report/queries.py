"""The report's numbers: DuckDB queries over the Parquet tables (aggregated in DuckDB, so a dataset of any
size gives a page of the same size), and the run history from ``OUTPUT/_runs``."""

from __future__ import annotations

import glob
import json
import logging
import os
from typing import Optional

import duckdb
from apache_beam.io.filesystems import FileSystems

from pipelines.stats import RUNS, reason_of
from transforms.sink import view
from transforms.sink.read import read_table
from transforms.sink.view import is_local
from transforms.write.parquet import TABLES

log = logging.getLogger("pipelines.report")

TOP_SOURCES, TOP_LABELS, TOP_ENTITIES, TOP_STORIES, TOP_REASONS = 8, 6, 10, 15, 15


def table_files(output: str, table: str) -> list[str]:
    """A table's Parquet files, listed by us: the folder's name is a name, never a glob."""
    return sorted(glob.glob(os.path.join(glob.escape(os.path.join(output, table)), "**", "*.parquet"), recursive=True))


def connect(output: str) -> duckdb.DuckDBPyConnection:
    """A connection with one view per table (``articles``, ``entities``, ``duplicates``, ``errors``).

    The files are listed by us and handed to DuckDB as values, each escaped as a glob (``[*]``): no path is
    pasted into SQL or matched as a pattern, and Hive partitioning is off, so no ``key=value`` folder above
    the dataset becomes a column (an output under ``/data/source=x/`` would replace every article's
    source). A table without a file reads as empty, with its schema. On an object store the committed
    version's files are listed by the version, not by a folder: read through ``read_table``."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")  # instants print in UTC; a day is published_date, the publisher's
    for table in ("articles", "entities", "duplicates", "errors"):
        if not is_local(output):
            relation = con.from_arrow(read_table(output, table))
        elif files := table_files(output, table):
            relation = con.read_parquet([glob.escape(f) for f in files], hive_partitioning=False, union_by_name=True)
        else:
            relation = con.from_arrow(TABLES[table].empty_table())
        relation.create_view(table)
    con.execute(COPIES)
    con.create_function("reason_of", reason_of, ["VARCHAR"], "VARCHAR")
    return con


# Every copy of every story, across runs: the article kept and its duplicates share the canonical article's
# cluster_id. An earlier run's article is never rewritten, so its duplicate_count misses later runs' copies:
# stories are counted here, never from duplicate_count.
COPIES = """create view copies as
    select cluster_id, article_id, source, url, published_at, true as kept from articles
    union all
    select cluster_id, article_id, source, url, published_at, false from duplicates"""


def rows(con, sql: str, *params) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def totals(con) -> dict:
    (t,) = rows(
        con,
        """select (select count(*) from articles) articles, (select count(*) from duplicates) duplicates,
                  (select count(*) from errors) errors, (select count(*) from entities) entity_rows,
                  (select count(distinct source) from articles) sources,
                  (select min(published_date) from articles) first_day,
                  (select max(published_date) from articles) last_day""",
    )
    return t


def articles_per_period(con, period: str = "day") -> list[dict]:
    """(day, source, articles) for dated articles, per ``period`` (day or week, the day it starts);
    sources beyond the top ones become 'other'."""
    assert period in ("day", "week"), period
    return rows(
        con,
        f"""with top as (select source from articles group by source order by count(*) desc, source limit {TOP_SOURCES})
            select date_trunc('{period}', published_date)::date as day,
                   case when source in (select source from top) then coalesce(source, '(unknown)') else 'other' end as source,
                   count(*) as articles
            from articles where published_date is not null group by all order by day, source""",
    )


def top_entities(con) -> dict[str, list[dict]]:
    """Per label (the most frequent ones), the entities in the most articles."""
    found = rows(
        con,
        f"""with labels as (select label from entities group by label order by count(*) desc limit {TOP_LABELS}),
                 ranked as (select label, entity, count(distinct article_id) as articles, sum(mentions) as mentions,
                                   row_number() over (partition by label order by count(distinct article_id) desc, entity) as rank
                            from entities where label in (select label from labels) group by label, entity)
            select label, entity, articles, mentions from ranked where rank <= {TOP_ENTITIES} order by label, rank""",
    )
    per_label: dict[str, list[dict]] = {}
    for row in found:
        per_label.setdefault(row["label"], []).append(row)
    return per_label


def cluster_sizes(con) -> list[dict]:
    """How many stories ran how many times, across runs: copies (the article kept and its duplicates) -> stories."""
    return rows(
        con,
        """select size, count(*) as clusters from (select count(*) as size from copies group by cluster_id)
           group by size order by size""",
    )


UNKNOWN_OUTLET = "(unknown)"


def syndicated_stories(con) -> list[dict]:
    """The stories with the most copies, across runs: title (the article kept), copies, the earliest
    publication of any copy and the outlet of that copy (``UNKNOWN_OUTLET`` when it names none; both null
    when no copy is dated: who was first is unknown), how many copies are undated (one of them may have
    been first), and every outlet that ran it."""
    return rows(
        con,
        f"""with stories as (
                select cluster_id, count(*) as copies, min(published_at) as first_published,
                       (min(struct_pack(at := published_at, outlet := coalesce(source, '{UNKNOWN_OUTLET}')))
                            filter (where published_at is not null)).outlet as first_outlet,
                       count(*) - count(published_at) as undated_copies,
                       list_sort(list_distinct(list(coalesce(source, '{UNKNOWN_OUTLET}')))) as outlets
                from copies group by cluster_id having count(*) > 1
                order by copies desc, first_published nulls last, cluster_id limit {TOP_STORIES})
            select a.title, s.* from stories s left join articles a on a.article_id = s.cluster_id
            order by copies desc, first_published nulls last, cluster_id""",
    )


def languages(con) -> list[dict]:
    return rows(
        con, "select coalesce(language, '(none)') as language, count(*) as articles from articles group by 1 order by 2 desc"
    )


def error_reasons(con) -> list[dict]:
    """(stage, reason, rows), the most frequent first; reasons masked as in the run stats."""
    return rows(
        con,
        f"""select stage, reason_of(error) as reason, sum(n)::bigint as rows
            from (select stage, error, count(*) as n from errors group by all) group by all
            order by rows desc, stage, reason limit {TOP_REASONS}""",
    )


def run_history(output: str, limit: Optional[int] = 30) -> list[dict]:
    """The last runs' stats files, oldest first. A broken one (cut short, not UTF-8, not an object) is
    skipped with a warning: one run's record never hides the others."""
    folder = FileSystems.join(output, RUNS)
    if is_local(output):
        names = [os.path.join(folder, n) for n in os.listdir(folder)] if os.path.isdir(folder) else []
    else:
        names = view.match(FileSystems.join(folder, "*.json"))
    runs = []
    for path in sorted(names):
        if path.endswith(".json"):
            try:
                with FileSystems.open(path) as handle:
                    run = json.loads(handle.read().decode("utf-8"))
            except (OSError, ValueError) as e:
                log.warning("skipped the run stats file %s: %s", path, e)
                continue
            if not isinstance(run, dict):
                log.warning("skipped the run stats file %s: not a JSON object", path)
                continue
            runs.append(run)
    runs.sort(key=lambda r: str(r.get("started_at", "")))
    return runs[-limit:] if limit else runs
