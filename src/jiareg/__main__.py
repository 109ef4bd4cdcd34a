"""`python -m jiareg` is the same as the `jiareg` command."""

from jiareg.cli import main

main()
