"""``python -m skfreeal``: the same as the ``skfreeal`` command."""

from skfreeal.cli import main

if __name__ == "__main__":
    main(prog_name="skfreeal")
