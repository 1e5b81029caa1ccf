"""The visibility and search benchmark of clientbase (see bench/README.md).

`python -m bench --help`, or `scripts/bench`, which makes the virtualenv first.
"""
