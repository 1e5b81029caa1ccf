"""`python -m clientbase.cli`: the same as the `clientbase` command."""

from clientbase.cli import main

main()
