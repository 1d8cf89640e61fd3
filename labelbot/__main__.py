"""`python -m labelbot`: the same as the `labelbot` command."""

from labelbot.cli import main

raise SystemExit(main())
