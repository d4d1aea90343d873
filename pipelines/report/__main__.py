"""python -m pipelines.report OUTPUT [--out FILE] [--s3_endpoint_url=... and Beam's other storage options]"""

from __future__ import annotations

import argparse
import os
import sys

from apache_beam.io.filesystems import FileSystems

from pipelines.maintenance import object_store_options
from pipelines.report import write_report
from transforms.sink.view import is_local
from transforms.write.commit import current_version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.report", description="One self-contained HTML report of a dataset."
    )
    parser.add_argument("output", help="the dataset folder (a run's --output)")
    parser.add_argument("--out", help="the HTML file to write (default: OUTPUT/report.html)")
    args, rest = parser.parse_known_args(argv)
    FileSystems.set_options(object_store_options(parser, rest))
    if (
        is_local(args.output)
        and not os.path.isdir(os.path.join(args.output, "articles"))
        or not (is_local(args.output) or current_version(args.output))
    ):
        print(f"error: {args.output} holds no dataset (no articles table)", file=sys.stderr)
        return 2
    try:
        print(write_report(args.output, args.out))
    except OSError as e:  # a read-only output: say where to write instead
        where = args.out or os.path.join(args.output, "report.html")
        print(f"error: cannot write {where}: {e.strerror or e} (choose another file with --out)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
