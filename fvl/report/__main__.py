"""``python -m fvl.report <sweep dir>``: (re)write a sweep's report.md, report.csv and report.png from its job dirs.

The same report a multirun writes when it ends; use it for a sweep that failed or is still running, or after
editing the report code.
"""

from __future__ import annotations

import argparse

from fvl.report.sweep import NoJobsError
from fvl.report.writer import write_report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fvl.report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", help="a multirun dir, e.g. outputs/<task>/multiruns/<time>")
    args = parser.parse_args(argv)
    try:
        files = write_report(args.sweep_dir)
    except NoJobsError as error:
        parser.error(str(error))
    for path in files:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
